"""Payment methods: the company's current one, changing it, and what the billing run copies onto each invoice.

A company pays by SEPA direct debit, by card or by bank transfer
(DOMAIN.md, "Payment method"). A change is a new `PaymentMethod` row that
supersedes the current one; the billing run copies the current row onto each
invoice it issues, so a change takes effect from the next invoice and an
issued invoice never changes. Every change is audited and confirmed by e-mail
to the people who handle the company's billing.

A card is registered on the payment provider's page (billing.payments,
`CardTokenisingProvider`): the portal only ever receives, and keeps, the
provider's token, the brand, the last four digits and the expiry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from schwifty import IBAN, registry
from schwifty import exceptions as iban_errors

from billing.models import PaymentMethod, PaymentMethodKind
from billing.payments import CardRegistration
from selfcare import permissions
from selfcare.models import Company, Membership
from selfcare.selectors.companies import company_managers
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify
from selfcare.validators import normalize_vat_number, validate_tax_code, validate_vat_number

# EPC SEPA Direct Debit rulebook: the mandate reference (UMR) is at most 35
# characters of the SEPA Latin set, and neither starts nor ends with "/" nor
# holds "//".
MANDATE_REFERENCE = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")
ACCOUNT_HOLDER_MAX_LENGTH = 140


def payment_method_details(method: PaymentMethod) -> str:
    """The method as printed on an invoice: masked, never the IBAN or the card's token.

    In Italian whatever the language of the moment, like the rest of the
    invoice's text: the invoice is a tax document in Italian.
    """
    if method.kind == PaymentMethodKind.SEPA_DIRECT_DEBIT:
        signed = f" del {method.mandate_signed_on:%d/%m/%Y}" if method.mandate_signed_on else ""
        return f"IBAN {method.masked_iban}, mandato SEPA {method.mandate_reference}{signed}"
    if method.kind == PaymentMethodKind.CARD:
        return f"{method.card_brand} **** {method.card_last4}"
    return ""


def payment_methods_for_invoices(*, company_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Each company's current method as (kind, details) for the invoices about to be issued; one query.

    A company with no method on record pays by bank transfer.
    """
    current = PaymentMethod.objects.current().filter(company_id__in=list(company_ids))
    return {method.company_id: (method.kind, payment_method_details(method)) for method in current}


# ---------------------------------------------------------------------------
# Validators: one value each, used by the form, the serializer and the service alike
# ---------------------------------------------------------------------------
def iban_normalize(value: str) -> str:
    """An IBAN as stored: upper case, no spaces."""
    return re.sub(r"\s+", "", value).upper()


def validate_iban(value: str) -> None:
    """A well-formed IBAN of a country of the SEPA zone, its length that of its country, its check digits right."""
    compact = iban_normalize(value)
    if not compact:
        raise ValidationError(_("Enter the IBAN of the account to debit."), code="required")
    try:
        iban = IBAN(compact)
    except iban_errors.InvalidCountryCode as error:
        raise ValidationError(
            _(
                "%(country)s is not the code of a country with IBANs: an IBAN starts with it, e.g. IT for Italy."
            )
            % {"country": compact[:2]},
            code="invalid_iban_country",
        ) from error
    except iban_errors.InvalidLength as error:
        spec = registry.get_iban_spec(compact[:2])
        raise ValidationError(
            _("An IBAN of %(country)s has %(expected)d characters; this one has %(given)d.")
            % {"country": compact[:2], "expected": spec.iban_length, "given": len(compact)},
            code="invalid_iban_length",
        ) from error
    except iban_errors.SchwiftyException as error:
        # Wrong check digits, a structure the country does not use, or a
        # national check digit that does not match: a typing mistake.
        raise ValidationError(
            _("This IBAN is not valid: check it against your bank statement."), code="invalid_iban"
        ) from error
    if not iban.in_sepa_zone:
        raise ValidationError(
            _("A SEPA direct debit needs an account in the SEPA area; %(country)s is outside it.")
            % {"country": iban.country_code},
            code="iban_outside_sepa",
        )


def validate_holder_tax_id(value: str) -> None:
    """The account holder's Italian tax code (16 characters, or 11 digits) or VAT number (`IT` optional)."""
    candidate = value.strip().upper()
    if candidate.startswith("IT"):
        validate_vat_number(candidate)
    else:
        validate_tax_code(candidate)


def holder_tax_id_normalize(value: str) -> str:
    candidate = value.strip().upper()
    return normalize_vat_number(candidate) if candidate.startswith("IT") else candidate


def validate_mandate_reference(value: str) -> None:
    if (
        not MANDATE_REFERENCE.fullmatch(value)
        or value.startswith("/")
        or value.endswith("/")
        or "//" in value
    ):
        raise ValidationError(
            _(
                "The mandate reference has at most 35 letters, digits and the signs / - ? : ( ) . , ' + "
                "and does not start or end with /."
            ),
            code="invalid_mandate_reference",
        )


def validate_mandate_signed_on(value: date) -> None:
    """A mandate is signed before it is recorded: never a date in the future (Rome time)."""
    if value > timezone.localdate():
        raise ValidationError(_("The mandate's date cannot be in the future."), code="mandate_in_future")


def validate_card_expiry(*, month: int, year: int) -> None:
    """A card is valid until the end of its expiry month: a month already over is refused (Rome time)."""
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise ValidationError(_("The card's expiry is not a valid month."), code="invalid_card_expiry")
    today = timezone.localdate()
    if (year, month) < (today.year, today.month):
        raise ValidationError(_("This card has expired: register a valid one."), code="card_expired")


@dataclass(frozen=True)
class SepaMandate:
    """A SEPA direct debit mandate as the customer typed it."""

    iban: str
    account_holder: str
    holder_tax_id: str
    mandate_reference: str
    mandate_signed_on: date | None


def sepa_mandate_errors(mandate: SepaMandate) -> dict[str, list[str]]:
    """What is wrong with a mandate, keyed by field; empty when it is fine."""
    errors: dict[str, list[str]] = {}

    def check(field: str, value: object, validator: object) -> None:
        if value in ("", None):
            errors[field] = [_("This field is required for a SEPA direct debit.")]
            return
        try:
            validator(value)  # type: ignore[operator]  # each validator takes its field's value
        except ValidationError as error:
            errors[field] = list(error.messages)

    check("iban", mandate.iban.strip(), validate_iban)
    check("account_holder", mandate.account_holder.strip(), _validate_account_holder)
    check("holder_tax_id", mandate.holder_tax_id.strip(), validate_holder_tax_id)
    check("mandate_reference", mandate.mandate_reference.strip(), validate_mandate_reference)
    check("mandate_signed_on", mandate.mandate_signed_on, validate_mandate_signed_on)
    return errors


def _validate_account_holder(value: str) -> None:
    if len(value) > ACCOUNT_HOLDER_MAX_LENGTH:
        raise ValidationError(
            _("The account holder's name has at most %(count)d characters.")
            % {"count": ACCOUNT_HOLDER_MAX_LENGTH},
            code="account_holder_too_long",
        )


def card_registration_errors(card: CardRegistration) -> dict[str, list[str]]:
    """What makes a provider's card registration unusable, keyed by field; empty when it is fine."""
    errors: dict[str, list[str]] = {}
    try:
        validate_card_expiry(month=card.expiry_month, year=card.expiry_year)
    except ValidationError as error:
        errors["card"] = list(error.messages)
    if not card.token or not card.brand or len(card.brand) > 20:
        errors.setdefault("card", []).append(_("The payment provider's answer is incomplete: try again."))
    return errors


# ---------------------------------------------------------------------------
# Reading and changing the company's method
# ---------------------------------------------------------------------------
def payment_method_current(*, membership: Membership) -> PaymentMethod | None:
    """The company's current method, for those who handle billing; None means bank transfer."""
    return PaymentMethod.objects.visible_to(membership).current().first()


def payment_method_set(
    *,
    membership: Membership,
    kind: PaymentMethodKind | str,
    sepa: SepaMandate | None = None,
    card: CardRegistration | None = None,
) -> PaymentMethod:
    """Make `kind` the company's payment method from the next invoice on: audited, confirmed by e-mail.

    `sepa` carries the mandate of a SEPA direct debit, `card` the provider's
    registration of a card. Raises PermissionDenied for a role that does not
    handle billing, and ValidationError keyed by field for bad details;
    either way nothing changes.
    """
    if not permissions.can_manage_billing(membership):
        raise PermissionDenied
    kind = PaymentMethodKind(kind)
    method = PaymentMethod(company_id=membership.company_id, kind=kind, created_by=membership.user)
    if kind == PaymentMethodKind.SEPA_DIRECT_DEBIT:
        if sepa is None:
            raise ValidationError({"iban": _("Enter the IBAN of the account to debit.")})
        errors = sepa_mandate_errors(sepa)
        if errors:
            raise ValidationError(errors)
        method.iban = iban_normalize(sepa.iban)
        method.iban_last4 = method.iban[-4:]
        method.account_holder = sepa.account_holder.strip()
        method.holder_tax_id = holder_tax_id_normalize(sepa.holder_tax_id)
        method.mandate_reference = sepa.mandate_reference.strip()
        method.mandate_signed_on = sepa.mandate_signed_on
    elif kind == PaymentMethodKind.CARD:
        if card is None:
            raise ValidationError(
                {"kind": _("A card is registered on the payment provider's page, from the portal.")}
            )
        errors = card_registration_errors(card)
        if errors:
            raise ValidationError(errors)
        method.card_token = card.token
        method.card_brand = card.brand
        method.card_last4 = card.last4
        method.card_expiry_month = card.expiry_month
        method.card_expiry_year = card.expiry_year

    with transaction.atomic():
        # The company's row is the lock: two changes at once take turns, and
        # the second supersedes the first instead of failing on the
        # one-current-method constraint.
        company = Company.objects.select_for_update().get(pk=membership.company_id)
        if card is not None and PaymentMethod.objects.filter(card_token=card.token).exists():
            # A provider's token is made for one registration: seen before, the
            # result is being replayed.
            raise ValidationError(
                {"card": _("This card registration was already used. Register the card again.")}
            )
        previous = PaymentMethod.objects.current().filter(company=company).first()
        if previous is not None:
            previous.superseded_at = timezone.now()
            previous.save(update_fields=["superseded_at"])
        method.company = company
        method.save()
        audit_record(
            actor=membership.user,
            target=method,
            event="payment_method_changed",
            # Masked details only: the audit log is read by staff.
            details={
                "company": company.pk,
                "kind": str(kind),
                "details": payment_method_details(method),
                "previous_kind": str(previous.kind) if previous is not None else None,
                "previous_id": previous.pk if previous is not None else None,
            },
            action=LogEntry.Action.UPDATE,
        )
        notify(
            company=company,
            event="payment_method_changed",
            key=f"payment-method-{method.pk}",
            recipients=company_managers(company=company),
            context={"method": method, "changed_by": membership.user},
            link=reverse("billing:payment-method"),
        )
    return method
