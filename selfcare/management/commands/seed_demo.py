"""`seed_demo`: realistic demo data for `make run`; running it twice adds nothing.

The companies, users and lines go in through the provisioning feed's own
service (selfcare/demo.py holds the document), so they obey every rule the
real feed does. The demo logins then get the published demo password and,
where two-factor login is required, the published demo TOTP secret. Every
run prints the logins and how to pass two-factor login.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing.demo import seed_billing
from billing.demo_fair_use import seed_fair_use
from billing.demo_traffic import seed_traffic
from procedures.demo_activation import seed_demo_activation
from procedures.demo_kinds import seed_demo_kinds
from procedures.demo_requests import seed_demo_requests
from selfcare.demo import DEMO_TOTP_SECRET, demo_document
from selfcare.demo_credit import seed_credit
from selfcare.demo_services import seed_services
from selfcare.demo_sim import seed_sim
from selfcare.models import Membership, Role, User
from selfcare.services.provisioning import ImportSummary, customers_import

DEMO_PASSWORD = "demo-Portale-2026"  # noqa: S105 - a published demo login, never in production data  # nosec B105

STAFF_EMAIL = "staff@operatore.example.it"

_ROLE_ORDER = {Role.LEGAL_REP: 0, Role.ADMIN: 1, Role.LINE_USER: 2}


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the demo logins."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            # The demo logins' password and two-factor secret are published.
            raise CommandError("seed_demo makes logins with a published password: not with PRODUCTION=true.")
        staff, created = User.objects.get_or_create(
            email=STAFF_EMAIL,
            defaults={"name": "Operatore Demo", "is_staff": True, "is_superuser": True},
        )
        if created:
            staff.set_password(DEMO_PASSWORD)
            staff.save(update_fields=["password"])

        document = demo_document()
        summary = customers_import(document=document)
        if summary.rejected:
            # The document is ours: a rejection is a bug in selfcare/demo.py.
            raise CommandError(
                "The demo document was rejected: "
                + "; ".join(f"{rejection.path}: {rejection.error}" for rejection in summary.rejected)
            )
        memberships = list(
            Membership.objects.filter(
                company__vat_number__in=[company["vat_number"] for company in document["companies"]],
                user__email__in=[
                    user["email"] for company in document["companies"] for user in company["users"]
                ],
            ).select_related("user", "company")
        )
        demo_users = {membership.user for membership in memberships}
        _give_demo_password(demo_users)
        # Two-factor login is required of staff, administrators and legal
        # representatives (selfcare.permissions.requires_two_factor).
        _give_demo_two_factor(
            [staff]
            + [
                membership.user
                for membership in memberships
                if membership.role in (Role.ADMIN, Role.LEGAL_REP)
            ]
        )
        call_command("load_help_pages", stdout=self.stdout)
        seed_services(stdout=self.stdout)
        seed_sim(stdout=self.stdout)
        seed_credit(stdout=self.stdout)
        # Traffic before billing: the months it covers are billed with their roaming charges.
        seed_traffic(stdout=self.stdout)
        seed_billing(stdout=self.stdout)
        seed_fair_use(stdout=self.stdout, staff=staff)
        requests_made = seed_demo_requests(staff=staff)
        self.stdout.write(
            f"Demo requests (data, exemptions, listing, dispute, roaming cap): {requests_made} made."
        )
        seed_demo_kinds(stdout=self.stdout)
        seed_demo_activation(stdout=self.stdout)
        self._print_logins(summary, memberships)

    def _print_logins(self, summary: ImportSummary, memberships: list[Membership]) -> None:
        self.stdout.write(
            f"Demo data: {summary.inserted} records added, {summary.updated} updated, "
            f"{summary.duplicates} already there."
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(f"  operator staff, at /admin/: {STAFF_EMAIL}")
        company = None
        for membership in sorted(
            memberships,
            key=lambda m: (m.company.name, _ROLE_ORDER.get(Role(m.role), 9), m.user.email),
        ):
            if membership.company != company:
                company = membership.company
                self.stdout.write(f"  {company.name} ({company.vat_number}):")
            self.stdout.write(
                f"    {membership.role:<9}  {membership.user.email:<38}  {membership.user.name}"
            )
        self.stdout.write("Two-factor login (operator staff, administrators and legal representatives):")
        self.stdout.write(
            f"  TOTP secret for an authenticator app (6 digits, 30 seconds): {DEMO_TOTP_SECRET}"
        )
        self.stdout.write("  or print the current code: python manage.py demo_totp")


def _give_demo_password(users: Iterable[User]) -> None:
    """The demo password for the demo users that have none yet (the feed makes users without one).

    A password changed since in the portal is left alone. One hash for all:
    hashing is deliberately slow, and these logins are public anyway.
    """
    without = [user for user in users if user.password.startswith(UNUSABLE_PASSWORD_PREFIX)]
    if not without:
        return
    password = make_password(DEMO_PASSWORD)
    for user in without:
        user.password = password
    User.objects.bulk_update(without, fields=["password"])


def _give_demo_two_factor(users: Iterable[User]) -> None:
    """The published TOTP secret and recovery codes for those who have no two-factor method yet."""
    users = list({user.pk: user for user in users}.values())
    enrolled = set(
        Authenticator.objects.filter(
            user__in=users, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
        ).values_list("user_id", "type")
    )
    for user in users:
        if (user.pk, Authenticator.Type.TOTP) not in enrolled:
            # allauth encrypts the secret through the project's MFA adapter.
            TOTP.activate(user, DEMO_TOTP_SECRET)
        if (user.pk, Authenticator.Type.RECOVERY_CODES) not in enrolled:
            RecoveryCodes.activate(user)
