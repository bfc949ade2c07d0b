"""Validators for single values, used alike by models, forms, serializers and the feeds.

Each raises Django's ValidationError with a translatable message; DRF turns
them into field errors, the feeds into rejection reasons.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.it import codicefiscale, iva

RECIPIENT_CODE = re.compile(r"^[A-Z0-9]{7}$")


def normalize_vat_number(value: str) -> str:
    """An Italian VAT number as the portal stores it: `IT` and eleven digits."""
    compact = iva.compact(value.strip().upper().removeprefix("IT"))
    return f"IT{compact}"


def validate_vat_number(value: str) -> None:
    """Italian partita IVA: eleven digits with their check digit, `IT` prefix optional."""
    try:
        iva.validate(value.strip().upper().removeprefix("IT"))
    except StdnumError as error:
        raise ValidationError(
            _("%(value)s is not a valid Italian VAT number."),
            code="invalid_vat_number",
            params={"value": value},
        ) from error


def validate_tax_code(value: str) -> None:
    """Codice fiscale: eleven digits for a company, sixteen characters for a person."""
    candidate = value.strip().upper()
    # Letters and digits only: python-stdnum would accept spaces and dashes inside
    # (and str.isdigit() other scripts' digits), which the portal would then store as typed.
    if candidate and not (candidate.isascii() and candidate.isalnum()):
        raise ValidationError(
            _(
                "%(value)s is not a valid Italian tax code: write it with letters and digits only, without spaces."
            ),
            code="invalid_tax_code",
            params={"value": value},
        )
    try:
        if candidate.isdigit():
            iva.validate(candidate)
        else:
            codicefiscale.validate(candidate)
    except StdnumError as error:
        raise ValidationError(
            _("%(value)s is not a valid Italian tax code."), code="invalid_tax_code", params={"value": value}
        ) from error


def validate_recipient_code(value: str) -> None:
    """The SdI recipient code of electronic invoices: seven letters or digits."""
    if not RECIPIENT_CODE.fullmatch(value):
        raise ValidationError(
            _("The e-invoicing recipient code has seven letters or digits."), code="invalid_recipient_code"
        )


def validate_iccid(value: str) -> None:
    """A SIM's ICCID: 19 or 20 digits starting with 89 (telecom), with its Luhn check digit."""
    if not (value.isascii() and value.isdigit() and len(value) in (19, 20) and value.startswith("89")):
        raise ValidationError(_("An ICCID has 19 or 20 digits and starts with 89."), code="invalid_iccid")
    if not luhn.is_valid(value):
        raise ValidationError(_("The ICCID's check digit is wrong."), code="invalid_iccid_check_digit")


def validate_e164_number(value: str) -> None:
    """A phone number in E.164 form (`+39…`) that is a possible and valid number."""
    # [0-9], not \d: \d also matches other scripts' digits (Arabic-Indic…), which
    # phonenumbers reads as digits but no other system would match against the line.
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", value):
        raise ValidationError(
            _("%(value)s is not a phone number in international form (+39…)."),
            code="invalid_phone_number",
            params={"value": value},
        )
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("%(value)s is not a valid phone number."), code="invalid_phone_number", params={"value": value}
        ) from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("%(value)s is not a valid phone number."), code="invalid_phone_number", params={"value": value}
        )


def normalize_eid(value: str) -> str:
    """An EID as typed or pasted (often in groups of digits): the digits without spaces."""
    return "".join(value.split())


def validate_eid(value: str) -> None:
    """The EID of an eSIM-capable device (GSMA SGP.29): 32 digits, starting with 89, with a check number.

    SGP.29 makes the last two digits a check number in the manner of ISO/IEC
    7064 MOD 97-10 (as an IBAN): the whole 32-digit number mod 97 is 1. This
    catches a mistyped or swapped digit before a profile is bound to the wrong device.
    """
    if not (len(value) == 32 and value.isascii() and value.isdigit()):
        raise ValidationError(
            _("An EID has exactly 32 digits. Find it in the device's settings (About) or by dialling *#06#."),
            code="invalid_eid",
        )
    if not value.startswith("89") or int(value) % 97 != 1:
        raise ValidationError(
            _("This EID is not valid: check its digits against the device's settings or *#06#."),
            code="invalid_eid_check",
        )
