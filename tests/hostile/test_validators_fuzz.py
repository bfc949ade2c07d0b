"""Property-based tests of the single-value validators (selfcare.validators, billing.payment_methods).

For each identifier: every valid value (built with its real check digits) is
accepted, also as people type it (spaces, lower case) where the portal
normalises; normalising is idempotent and gives a value the validator accepts;
and any text at all, near misses and junk, ends in the validator's own
ValidationError or in acceptance of a value in canonical ASCII form, never in
another exception (which would be a 500 in a form or a crashed feed).
"""

# ruff: noqa: RUF001, PT017 - look-alike digits are the point; an except block is where a refusal is checked

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from billing.payment_methods import (
    holder_tax_id_normalize,
    iban_normalize,
    validate_holder_tax_id,
    validate_iban,
)
from procedures.activation import normalize_mobile_number
from selfcare.validators import (
    normalize_eid,
    normalize_vat_number,
    validate_e164_number,
    validate_eid,
    validate_iccid,
    validate_recipient_code,
    validate_tax_code,
    validate_vat_number,
)
from tests.hostile.strategies import (
    eids,
    ibans,
    iccids,
    italian_mobiles,
    junk,
    near_misses,
    spaced,
    stable,
    tax_codes,
    vat_numbers,
)

FEW = stable(100)
MANY = stable(250)


def accepted(validator: Callable[[str], None], value: str) -> bool:
    """Whether `validator` accepts `value`; any exception but ValidationError fails the test."""
    try:
        validator(value)
    except ValidationError as error:
        # The message is shown to people: it must render (its params fit its placeholders).
        assert all(str(message) for message in error.messages)
        return False
    return True


# ---------------------------------------------------------------------------
# VAT number (partita IVA)
# ---------------------------------------------------------------------------


@FEW
@given(
    vat=vat_numbers(), prefix=st.sampled_from(["", "IT", "it", " IT"]), pad=st.sampled_from(["", " ", "\t"])
)
def test_every_valid_vat_number_is_accepted_and_normalised_idempotently(
    vat: str, prefix: str, pad: str
) -> None:
    typed = f"{pad}{prefix}{vat}{pad}"

    assert accepted(validate_vat_number, typed)
    normal = normalize_vat_number(typed)
    assert normal == f"IT{vat}"
    assert normalize_vat_number(normal) == normal
    assert accepted(validate_vat_number, normal)


@MANY
@given(value=st.one_of(junk(), near_misses(vat_numbers()), near_misses(vat_numbers().map("IT{}".format))))
def test_any_text_as_vat_number_is_a_validation_error_or_a_canonical_number(value: str) -> None:
    if accepted(validate_vat_number, value):
        # What is accepted is stored normalised: IT and eleven ASCII digits, in the 13 of the column.
        assert re.fullmatch(r"IT[0-9]{11}", normalize_vat_number(value))


# ---------------------------------------------------------------------------
# Tax code (codice fiscale) and the SEPA mandate's holder tax id
# ---------------------------------------------------------------------------


@FEW
@given(code=tax_codes(), lower=st.booleans())
def test_every_valid_tax_code_is_accepted_in_either_case(code: str, lower: bool) -> None:
    assert accepted(validate_tax_code, code.lower() if lower else code)
    assert accepted(validate_holder_tax_id, code)
    assert holder_tax_id_normalize(holder_tax_id_normalize(code)) == holder_tax_id_normalize(code)


@MANY
@given(value=st.one_of(junk(), near_misses(tax_codes())))
def test_any_text_as_tax_code_is_a_validation_error_or_what_the_column_stores(value: str) -> None:
    if accepted(validate_tax_code, value):
        # The forms and the feed store value.strip().upper(): it must be the code itself,
        # not the code with separators inside or other scripts' digits.
        assert re.fullmatch(r"[A-Z0-9]{16}|[0-9]{11}", value.strip().upper())
    if accepted(validate_holder_tax_id, value):
        assert re.fullmatch(r"IT[0-9]{11}|[A-Z0-9]{16}|[0-9]{11}", holder_tax_id_normalize(value))


def test_a_tax_code_with_separators_inside_is_refused_not_stored_as_typed() -> None:
    """Found by the fuzzing: python-stdnum compacts "01234 560017", and the portal stored it with the space."""
    assert accepted(validate_tax_code, "01234560017")
    assert not accepted(validate_tax_code, "01234 560017")
    assert not accepted(validate_tax_code, "01234-560017")
    assert not accepted(validate_tax_code, "٠١٢٣٤٥٦٧٨٩٧")
    # The message says what to do, in the portal's languages.
    with translation.override("en"):
        with pytest.raises(ValidationError) as refused:
            validate_tax_code("RSSMRA 80A01 H501U")
        assert "letters and digits only, without spaces" in " ".join(refused.value.messages)


# ---------------------------------------------------------------------------
# Phone numbers (MSISDN)
# ---------------------------------------------------------------------------


@FEW
@given(number=italian_mobiles())
def test_every_italian_mobile_is_accepted_and_normalised_from_how_it_is_typed(number: str) -> None:
    national = number.removeprefix("+39")
    assert accepted(validate_e164_number, number)
    for typed in (number, national, f"{national[:3]} {national[3:6]} {national[6:]}", f"0039{national}"):
        assert normalize_mobile_number(typed) == number
    assert normalize_mobile_number(normalize_mobile_number(number)) == number


@FEW
@given(region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
def test_every_country_s_example_number_in_e164_is_accepted(region: str) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        return
    assert accepted(
        validate_e164_number, phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    )


@MANY
@given(value=st.one_of(junk(), near_misses(italian_mobiles())))
def test_any_text_as_phone_number_is_a_validation_error_or_ascii_e164(value: str) -> None:
    if accepted(validate_e164_number, value):
        # Stored as given and matched against the feeds byte for byte: ASCII digits only.
        assert re.fullmatch(r"\+[1-9][0-9]{6,14}", value, flags=re.ASCII)
    try:
        normal = normalize_mobile_number(value)
    except ValidationError:
        return
    assert re.fullmatch(r"\+[1-9][0-9]{6,14}", normal, flags=re.ASCII)
    assert normalize_mobile_number(normal) == normal


def test_a_number_in_other_scripts_digits_is_refused() -> None:
    """Found by the fuzzing: `\\d` took Arabic-Indic digits, which phonenumbers reads as a valid number."""
    assert not accepted(validate_e164_number, "+39٣٣٣١١١٢٢٢٢")
    assert normalize_mobile_number("+39٣٣٣١١١٢٢٢٢") == "+393331112222"  # typed: read, then stored in ASCII


# ---------------------------------------------------------------------------
# ICCID, EID (eSIM), IBAN, recipient code
# ---------------------------------------------------------------------------


@FEW
@given(value=iccids())
def test_every_valid_iccid_is_accepted(value: str) -> None:
    assert accepted(validate_iccid, value)


@MANY
@given(value=st.one_of(junk(), near_misses(iccids())))
def test_any_text_as_iccid_is_a_validation_error_or_ascii_digits(value: str) -> None:
    if accepted(validate_iccid, value):
        assert re.fullmatch(r"89[0-9]{17,18}", value, flags=re.ASCII)


@FEW
@given(data=st.data(), eid=eids())
def test_every_valid_eid_is_accepted_as_typed_in_groups(data: st.DataObject, eid: str) -> None:
    typed = data.draw(spaced(eid))

    assert normalize_eid(typed) == eid
    assert normalize_eid(normalize_eid(typed)) == eid
    assert accepted(validate_eid, normalize_eid(typed))


@MANY
@given(value=st.one_of(junk(), near_misses(eids())))
def test_any_text_as_eid_is_a_validation_error_or_32_ascii_digits(value: str) -> None:
    if accepted(validate_eid, normalize_eid(value)):
        assert re.fullmatch(r"89[0-9]{30}", normalize_eid(value), flags=re.ASCII)


@FEW
@given(data=st.data(), iban=ibans(), lower=st.booleans())
def test_every_sepa_iban_is_accepted_as_typed_and_normalised_idempotently(
    data: st.DataObject, iban: str, lower: bool
) -> None:
    typed = data.draw(spaced(iban.lower() if lower else iban))

    assert accepted(validate_iban, typed)
    assert iban_normalize(typed) == iban
    assert iban_normalize(iban_normalize(typed)) == iban


@MANY
@given(value=st.one_of(junk(), near_misses(ibans())))
def test_any_text_as_iban_is_a_validation_error_or_a_compact_iban(value: str) -> None:
    if accepted(validate_iban, value):
        assert re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban_normalize(value), flags=re.ASCII)


@FEW
@given(value=junk())
def test_any_text_as_recipient_code_is_a_validation_error_or_seven_characters(value: str) -> None:
    if accepted(validate_recipient_code, value):
        assert re.fullmatch(r"[A-Z0-9]{7}", value, flags=re.ASCII)


@pytest.mark.parametrize("value", ["٠١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩", "89" + "３" * 17])
def test_an_iccid_in_other_scripts_digits_is_refused_as_malformed(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_iccid(value)
    assert refused.value.code == "invalid_iccid"
