"""Hypothesis strategies for the hostile-input tests: valid identifiers, near misses and plain junk.

The valid values are built the way their issuers build them (check digits
computed, not copied from a list), so that a property "every valid value is
accepted" covers the whole space, not a handful of examples.
"""

from __future__ import annotations

from random import Random

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schwifty import IBAN
from stdnum import luhn
from stdnum.it import codicefiscale

# Stable in CI: no example database, the same examples on every run, no timing limit
# (a shared 2-core machine makes any deadline flaky).
STABLE = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def stable(max_examples: int) -> settings:
    return settings(STABLE, max_examples=max_examples)


DIGIT = "0123456789"
# Other scripts' digits, full-width forms, superscripts: str.isdigit() and \d take them.
LOOKALIKE_DIGITS = "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९０１２３４５６７８９²³¹"
# What people paste around and inside identifiers.
NOISE = [" ", "\t", "\n", "\r", "\x00", "-", ".", "/", "\u00a0", "\u200b", "\ufeff", "'", '"', "<", "%"]


def digits(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGIT, min_size=length, max_size=length)


@st.composite
def vat_numbers(draw: st.DrawFn) -> str:
    """An Italian partita IVA: a company number, an office code 001-100 (or 120, 121, 888, 999), a Luhn digit."""
    company = draw(st.integers(min_value=1, max_value=9_999_999))
    office = draw(st.one_of(st.integers(min_value=1, max_value=100), st.sampled_from([120, 121, 888, 999])))
    body = f"{company:07d}{office:03d}"
    return body + luhn.calc_check_digit(body)


_MONTHS = "ABCDEHLMPRST"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@st.composite
def person_tax_codes(draw: st.DrawFn) -> str:
    """A codice fiscale of a person: name letters, birth year, month letter, day (+40 for women), place, check."""
    names = draw(st.text(alphabet=_LETTERS, min_size=6, max_size=6))
    year = draw(st.integers(min_value=0, max_value=99))
    month = draw(st.sampled_from(_MONTHS))
    day = draw(st.integers(min_value=1, max_value=28)) + draw(st.sampled_from([0, 40]))
    place = draw(st.sampled_from(_LETTERS)) + draw(digits(3))
    body = f"{names}{year:02d}{month}{day:02d}{place}"
    return body + codicefiscale.calc_check_digit(body)


def tax_codes() -> st.SearchStrategy[str]:
    """Either kind of codice fiscale: a person's sixteen characters or a company's eleven digits."""
    return st.one_of(person_tax_codes(), vat_numbers())


@st.composite
def iccids(draw: st.DrawFn) -> str:
    body = "89" + draw(st.sampled_from([16, 17]).flatmap(digits))
    return body + luhn.calc_check_digit(body)


@st.composite
def eids(draw: st.DrawFn) -> str:
    """An EID (GSMA SGP.29): 89, 28 digits, and two check digits making the whole number 1 mod 97."""
    body = "89" + draw(digits(28))
    check = 98 - int(body + "00") % 97
    return f"{body}{check:02d}"


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """An IBAN of a SEPA country, random but with right national and international check digits."""
    country = draw(st.sampled_from(["IT", "DE", "FR", "ES", "NL", "BE", "AT", "PT", "IE", "SM"]))
    seed = draw(st.integers(min_value=0, max_value=2**32))
    return str(IBAN.random(country_code=country, random=Random(seed)))


@st.composite
def italian_mobiles(draw: st.DrawFn) -> str:
    """An Italian mobile number in E.164: +39 3xx and seven digits (the operators' blocks 320-393)."""
    prefix = draw(st.sampled_from(["320", "324", "327", "328", "329", "330", "333", "335", "338", "340",
                                   "345", "347", "348", "349", "350", "351", "366", "380", "388", "389",
                                   "391", "392", "393"]))  # fmt: skip
    return f"+39{prefix}{draw(digits(7))}"


def spaced(value: str) -> st.SearchStrategy[str]:
    """`value` split into groups by single spaces, as people type long numbers."""
    return st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12).map(
        lambda sizes: _groups(value, sizes)
    )


def _groups(value: str, sizes: list[int]) -> str:
    groups, start = [], 0
    for size in sizes:
        if start >= len(value):
            break
        groups.append(value[start : start + size])
        start += size
    groups.append(value[start:])
    return " ".join(group for group in groups if group)


@st.composite
def near_misses(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    """A valid value with one change: a character replaced (a look-alike digit, noise), dropped, added or swapped."""
    value = draw(valid)
    position = draw(st.integers(min_value=0, max_value=len(value) - 1))
    change = draw(st.sampled_from(["lookalike", "noise", "drop", "insert", "swap", "case"]))
    if change == "lookalike":
        return value[:position] + draw(st.sampled_from(LOOKALIKE_DIGITS)) + value[position + 1 :]
    if change == "noise":
        return value[:position] + draw(st.sampled_from(NOISE)) + value[position:]
    if change == "drop":
        return value[:position] + value[position + 1 :]
    if change == "insert":
        return value[:position] + draw(st.sampled_from(DIGIT + _LETTERS)) + value[position:]
    if change == "swap" and position + 1 < len(value):
        return value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    return value.lower()


def junk() -> st.SearchStrategy[str]:
    """Any text at all, weighted towards what breaks parsers: control characters, other digits, huge values."""
    return st.one_of(
        st.text(),
        st.text(alphabet=st.characters(codec="utf-8")),
        st.text(alphabet=DIGIT + LOOKALIKE_DIGITS + "".join(NOISE) + "+IT", max_size=40),
        st.text(alphabet=DIGIT, min_size=1, max_size=5000),
        st.sampled_from(["", " ", "IT", "ITIT", "+", "+0", "89", "\x00", "\ud800", "NaN", "-1", "1e10"]),
    )
