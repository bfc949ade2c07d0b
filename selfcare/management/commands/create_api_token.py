"""`create_api_token EMAIL --company VAT_NUMBER [--name NAME]` (CONTRACTS.md, "Commands").

What an operator runs to set up an integration: a token for the user's
membership in that company, its key printed as the last line of output, so
that a script can take it with `tail -n 1`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from selfcare.models import Company, Membership, User
from selfcare.services.tokens import api_token_create
from selfcare.validators import normalize_vat_number


class Command(BaseCommand):
    help = (
        "Create an API token for a user's membership in a company and print its key as the last line. "
        "The key is not stored and cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The user's e-mail address.")
        parser.add_argument(
            "--company", required=True, help="The company's VAT number, with or without the IT prefix."
        )
        parser.add_argument(
            "--name", default="Integration", help="What the token is for (default: %(default)s)."
        )

    def handle(self, *args: Any, email: str, company: str, name: str, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user has the e-mail address {email!r}.")
        if not user.is_active:
            raise CommandError(f"The user {user.email} is not active: a token of theirs would be refused.")
        vat_number = normalize_vat_number(company)
        company_row = Company.objects.filter(vat_number=vat_number).first()
        if company_row is None:
            raise CommandError(f"No company has the VAT number {company!r}.")
        membership = (
            Membership.objects.select_related("user", "company")
            .filter(user=user, company=company_row)
            .first()
        )
        if membership is None:
            raise CommandError(
                f"{user.email} is not a user of {company_row.name} ({company_row.vat_number})."
            )
        try:
            token, key = api_token_create(membership=membership, name=name, created_by=None)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            f"Created the API token {token.name!r} (key beginning {token.prefix}) for {user.email} "
            f"as {membership.get_role_display()} of {company_row.name} ({company_row.vat_number})."
        )
        self.stdout.write("Store the key now: it is not stored and cannot be shown again.")
        self.stdout.write(key)
