"""Reading the provisioning feed: the file, then each item checked into a typed row.

Nothing here touches the database: a file refused whole (unreadable, not
UTF-8, not JSON, the wrong shape) is refused before anything is written, and
an item with bad fields is rejected with every reason at once, so that one
pass fixes the feed. What needs the database (an offer or a user that must
exist, a number active elsewhere) is checked by selfcare.services.provisioning,
which writes the rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from selfcare.models import LineKind, LineStatus, Payment, Role, SimKind
from selfcare.validators import (
    normalize_vat_number,
    validate_e164_number,
    validate_iccid,
    validate_recipient_code,
    validate_tax_code,
    validate_vat_number,
)

# Control characters have no place in a name or a code, and PostgreSQL refuses
# NUL in text; lone surrogates (valid in JSON escapes) cannot even be encoded.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_FEE_LIMIT = Decimal("100000000")  # Offer.monthly_fee has ten digits, two of them decimals
_DATA_GB_LIMIT = 2_147_483_647  # PositiveIntegerField


class FeedRefusedError(Exception):
    """The whole file is refused (unreadable, not UTF-8, not JSON, wrong shape): nothing of it is written."""


@dataclass(frozen=True)
class Rejection:
    """One item left out, with its JSON path (`companies[1].lines[0]`) and why."""

    path: str
    error: str
    code: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error, "code": self.code}


@dataclass
class ImportSummary:
    """What an import did: new records, changed records, records seen before unchanged, items left out."""

    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def merge(self, other: ImportSummary) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)

    def reject(self, path: str, code: str, error: str) -> None:
        self.rejected.append(Rejection(path=path, error=error, code=code))

    def as_dict(self) -> dict[str, Any]:
        """The `--json` summary of CONTRACTS.md."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": [rejection.as_dict() for rejection in self.rejected],
        }


# ---------------------------------------------------------------------------
# Reading the file: refused whole, before anything is written
# ---------------------------------------------------------------------------


def customers_feed_read(*, path: Path) -> dict[str, Any]:
    """The provisioning document in `path`, or FeedRefusedError with a clear reason."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise FeedRefusedError(
            _("Cannot read %(file)s: %(reason)s. Nothing was imported.")
            % {"file": path, "reason": error.strerror or error}
        ) from error
    return customers_feed_parse(content=content, name=str(path))


def customers_feed_parse(*, content: bytes, name: str = "the file") -> dict[str, Any]:
    """Decode and parse a provisioning document, checking its top-level shape."""
    try:
        # A byte-order mark is valid UTF-8 that some Windows tools write: accept it.
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedRefusedError(
            _("%(file)s is not UTF-8 text (byte 0x%(byte)02x at offset %(offset)d). Nothing was imported.")
            % {"file": name, "byte": content[error.start], "offset": error.start}
        ) from error
    try:
        # Decimals, not floats: a fee written as a JSON number keeps its exact cents.
        document = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise FeedRefusedError(
            _(
                "%(file)s is not valid JSON (line %(line)d, column %(column)d: %(reason)s). Nothing was imported."
            )
            % {"file": name, "line": error.lineno, "column": error.colno, "reason": error.msg}
        ) from error
    except (ValueError, RecursionError) as error:
        # NaN or Infinity, integers of thousands of digits, nesting deep enough to exhaust the stack.
        raise FeedRefusedError(
            _("%(file)s is not valid JSON (%(reason)s). Nothing was imported.")
            % {"file": name, "reason": error}
        ) from error
    document_sections(document)
    return dict(document)


def _refuse_constant(constant: str) -> None:
    raise ValueError(_("%(constant)s is not a JSON value") % {"constant": constant})


def document_sections(document: object) -> tuple[list[object], list[object]]:
    """The `offers` and `companies` arrays of the document; a document of another shape is refused."""
    shape = _(
        'The file must hold one JSON object with an "offers" array, a "companies" array, or both. '
        "Nothing was imported."
    )
    if not isinstance(document, Mapping) or not ({"offers", "companies"} & document.keys()):
        raise FeedRefusedError(shape)
    offers = document.get("offers", [])
    companies = document.get("companies", [])
    if not isinstance(offers, list) or not isinstance(companies, list):
        raise FeedRefusedError(shape)
    return offers, companies


# ---------------------------------------------------------------------------
# Reading one item: every reason it is rejected, not only the first
# ---------------------------------------------------------------------------


class Problems:
    """The reasons one item is rejected: all of them, so that one pass fixes the feed."""

    def __init__(self) -> None:
        self.reasons: list[tuple[str, str]] = []

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def add(self, code: str, message: str) -> None:
        self.reasons.append((code, message))

    def validate(self, validator: Callable[[str], None], value: str) -> bool:
        try:
            validator(value)
        except ValidationError as error:
            for item in error.error_list:
                message = item.message % item.params if item.params else item.message
                self.add(item.code or "invalid", str(message))
            return False
        return True

    def reject_into(self, summary: ImportSummary, path: str) -> None:
        summary.reject(path, self.reasons[0][0], " ".join(message for _code, message in self.reasons))


def _text(
    item: Mapping[str, object], key: str, problems: Problems, *, max_length: int, required: bool = True
) -> str | None:
    """A string field, stripped, or "" when it is wrong (the reason added to `problems`).

    None when an optional field is absent: left as it is. null or "" clears it.
    """
    if key not in item:
        if required:
            problems.add("missing", _("%(field)s is missing.") % {"field": key})
            return ""
        return None
    value = item[key]
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.add("not_text", _("%(field)s must be a string.") % {"field": key})
        return ""
    value = value.strip()
    if required and not value:
        problems.add("missing", _("%(field)s is empty.") % {"field": key})
        return ""
    if len(value) > max_length:
        problems.add(
            "too_long",
            _("%(field)s is longer than %(max)d characters.") % {"field": key, "max": max_length},
        )
        return ""
    if _UNPRINTABLE.search(value):
        problems.add("unprintable", _("%(field)s contains control characters.") % {"field": key})
        return ""
    return value


def _choice(
    item: Mapping[str, object],
    key: str,
    problems: Problems,
    choices: Sequence[str],
    *,
    required: bool = True,
) -> str | None:
    value = item.get(key)
    if value is None and not required:
        return None
    if value not in choices:
        problems.add(
            "bad_choice",
            _("%(field)s must be one of %(choices)s.")
            % {"field": key, "choices": ", ".join(f'"{choice}"' for choice in choices)},
        )
        return None
    return str(value)


def _flag(item: Mapping[str, object], key: str, problems: Problems) -> bool:
    value = item.get(key)
    if not isinstance(value, bool):
        problems.add("not_boolean", _("%(field)s must be true or false.") % {"field": key})
        return False
    return value


def _day(item: Mapping[str, object], key: str, problems: Problems) -> date | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.add("bad_date", _("%(field)s must be a date written YYYY-MM-DD.") % {"field": key})
    return None


def _email(item: Mapping[str, object], key: str, problems: Problems, *, required: bool) -> str | None:
    value = _text(item, key, problems, max_length=254, required=required)
    if not value:
        return None
    try:
        validate_email(value)
    except ValidationError:
        problems.add(
            "invalid_email",
            _("%(field)s: %(value)s is not a valid e-mail address.") % {"field": key, "value": value},
        )
        return None
    # Stored as the user manager stores it: logins are case-insensitive.
    return value.lower()


def _unexpected(item: Mapping[str, object], key: str, problems: Problems, message: str) -> None:
    """A field that must be absent, null or empty."""
    if item.get(key) not in (None, ""):
        problems.add("not_for_this_kind", message)


# ---------------------------------------------------------------------------
# Offers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferRow:
    code: str
    name: str
    payment: str
    monthly_fee: Decimal
    unlimited_voice_sms: bool
    unlimited_data: bool
    data_gb: int | None

    def values(self) -> dict[str, object]:
        return {
            "name": self.name,
            "payment": self.payment,
            "monthly_fee": self.monthly_fee,
            "unlimited_voice_sms": self.unlimited_voice_sms,
            "unlimited_data": self.unlimited_data,
            "data_gb": self.data_gb,
        }


def read_offer(item: Mapping[str, object], problems: Problems) -> OfferRow:
    return OfferRow(
        code=_text(item, "code", problems, max_length=40) or "",
        name=_text(item, "name", problems, max_length=200) or "",
        payment=_choice(item, "payment", problems, Payment.values) or "",
        monthly_fee=_monthly_fee(item, problems),
        unlimited_voice_sms=_flag(item, "unlimited_voice_sms", problems),
        unlimited_data=_flag(item, "unlimited_data", problems),
        data_gb=_data_gb(item, problems),
    )


def _monthly_fee(item: Mapping[str, object], problems: Problems) -> Decimal:
    value = item.get("monthly_fee")
    fee: Decimal | None = None
    if isinstance(value, (str, Decimal, int)) and not isinstance(value, bool):
        try:
            fee = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            fee = None
    cents = Decimal("0.01")
    if fee is None or not fee.is_finite() or fee < 0 or fee >= _FEE_LIMIT or fee != fee.quantize(cents):
        problems.add(
            "bad_amount",
            _('monthly_fee must be an amount in euros with at most two decimals, such as "29.00".'),
        )
        return Decimal("0.00")
    return fee.quantize(cents)


def _data_gb(item: Mapping[str, object], problems: Problems) -> int | None:
    value = item.get("data_gb")
    if value is None:
        return None
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _DATA_GB_LIMIT:
        problems.add("bad_number", _("data_gb must be a whole number of gigabytes, or null."))
        return None
    return value


# ---------------------------------------------------------------------------
# Companies, their users and their lines
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompanyRow:
    vat_number: str
    name: str
    tax_code: str
    pec: str
    # None: not in the feed, left as it is.
    recipient_code: str | None
    registered_office: str | None

    def values(self) -> dict[str, object]:
        values: dict[str, object] = {"name": self.name, "tax_code": self.tax_code, "pec": self.pec}
        if self.recipient_code is not None:
            values["recipient_code"] = self.recipient_code
        if self.registered_office is not None:
            values["registered_office"] = self.registered_office
        return values


def read_company(item: Mapping[str, object], problems: Problems) -> CompanyRow:
    vat_number = _text(item, "vat_number", problems, max_length=20) or ""
    if vat_number and problems.validate(validate_vat_number, vat_number):
        vat_number = normalize_vat_number(vat_number)
    tax_code = (_text(item, "tax_code", problems, max_length=16) or "").upper()
    if tax_code:
        problems.validate(validate_tax_code, tax_code)
    pec = _email(item, "pec", problems, required=True) or ""
    recipient_code = _text(item, "recipient_code", problems, max_length=7, required=False)
    if recipient_code:
        recipient_code = recipient_code.upper()
        problems.validate(validate_recipient_code, recipient_code)
    return CompanyRow(
        vat_number=vat_number,
        name=_text(item, "name", problems, max_length=200) or "",
        tax_code=tax_code,
        pec=pec,
        recipient_code=recipient_code,
        registered_office=_text(item, "registered_office", problems, max_length=300, required=False),
    )


@dataclass(frozen=True)
class UserRow:
    index: int
    email: str
    name: str
    role: str


def read_user(index: int, item: Mapping[str, object], problems: Problems) -> UserRow:
    return UserRow(
        index=index,
        email=_email(item, "email", problems, required=True) or "",
        name=_text(item, "name", problems, max_length=150) or "",
        role=_choice(item, "role", problems, Role.values) or "",
    )


@dataclass(frozen=True)
class LineRow:
    index: int
    number: str
    kind: str
    sim: str
    iccid: str
    offer: str
    # None: not in the feed, left as it is.
    cost_centre: str | None
    status: str | None
    activated_on: date | None
    ceased_on: date | None
    ceased_on_given: bool
    assigned_to: str | None
    # Whether the feed ends the line: status "ceased", or a cessation day already reached.
    ceases: bool


def read_line(index: int, item: Mapping[str, object], problems: Problems, today: date) -> LineRow:
    number = _text(item, "number", problems, max_length=16) or ""
    if number:
        problems.validate(validate_e164_number, number)
    kind = _choice(item, "kind", problems, LineKind.values) or ""
    sim = iccid = ""
    if kind == LineKind.MOBILE:
        sim = _choice(item, "sim", problems, SimKind.values) or ""
        iccid = _text(item, "iccid", problems, max_length=20) or ""
        if iccid:
            problems.validate(validate_iccid, iccid)
    elif kind == LineKind.FIXED:
        _unexpected(item, "sim", problems, _("A fixed line has no SIM: sim must be empty."))
        _unexpected(item, "iccid", problems, _("A fixed line has no SIM: iccid must be empty."))
    status = _choice(item, "status", problems, LineStatus.values, required=False)
    activated_on = _day(item, "activated_on", problems)
    ceased_on = _day(item, "ceased_on", problems)
    if activated_on and ceased_on and ceased_on < activated_on:
        problems.add("bad_dates", _("ceased_on is before activated_on."))
    return LineRow(
        index=index,
        number=number,
        kind=kind,
        sim=sim,
        iccid=iccid,
        offer=_text(item, "offer", problems, max_length=40) or "",
        cost_centre=_text(item, "cost_centre", problems, max_length=100, required=False),
        status=status,
        activated_on=activated_on,
        ceased_on=ceased_on,
        ceased_on_given="ceased_on" in item,
        assigned_to=_email(item, "assigned_to", problems, required=False),
        ceases=status == LineStatus.CEASED or (ceased_on is not None and ceased_on <= today),
    )
