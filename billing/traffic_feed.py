"""The traffic feed (CONTRACTS.md): the file, its rules and what an import reports.

Nothing here writes. `billing.traffic_import` reads a file with
`traffic_feed_open` (refused whole before anything is written: unreadable,
not UTF-8, wrong header), checks the rows set-based in SQL on PostgreSQL, and
row by row with `traffic_row_check` on SQLite (the embedded mode); both apply
the rules below, with the same error codes, and the texts are made here.

The rules, strict where CONTRACTS.md is and lenient where it leaves room:
- 12 columns a row; a row cut short (a truncated last line) is rejected as that row;
- `record_id`: 1 to 64 characters, no control characters;
- `line`: E.164, and a company line with that number (a ceased one too: late records
  of a ceased line still belong to its company);
- `started_at`: `YYYY-MM-DDTHH:MM:SS[.ffffff]` with `Z` or a `±HH:MM` offset,
  from 2000-01-01 to one day in the future (the network clock may be ahead);
- `direction` `out`/`in`; `service` `voice`/`sms`/`mms`/`data`;
- data: `other_party`, `other_operator`, `other_network` empty (CONTRACTS.md: "empty for data");
- calls, SMS and MMS: `other_party` E.164 or a short code (1 to 15 digits), empty only
  for incoming traffic (a withheld number); `other_operator` any code of up to 20
  letters, digits, `-`, `_`, `.` or spaces (the list is open: `TIM`, `ILIAD`, `OTHER`…);
  `other_network` one of the four kinds;
- `duration_s`: whole seconds, 0 to 86,400 (a day: a longer call is a network error),
  0 unless voice; `volume_bytes`: 0 to 100 GB (10^11 bytes) in one session, 0 unless data;
- `country`: an ISO 3166-1 alpha-2 code in capitals (django-countries' list);
- `topup`: `0` or `1`.
Blank lines are not records: they are skipped, but still counted in row numbers.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django_countries.data import COUNTRIES

FEED_COLUMNS = (
    "record_id",
    "line",
    "started_at",
    "direction",
    "service",
    "other_party",
    "other_operator",
    "other_network",
    "duration_s",
    "volume_bytes",
    "country",
    "topup",
)
ROME = ZoneInfo("Europe/Rome")
MAX_DURATION_S = 86_400
MAX_VOLUME_BYTES = 100 * 10**9
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_MARGIN = timedelta(days=1)
COUNTRY_CODES = frozenset(COUNTRIES)
SERVICES = ("voice", "sms", "mms", "data")
PARTY_SERVICES = ("voice", "sms", "mms")
DIRECTIONS = ("out", "in")
OTHER_NETWORKS = ("mobile", "fixed", "international", "special")
DIGITS = "0123456789"
OPERATOR_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_. "
CHUNK_SIZE = 1 << 20
_HEADER_LIMIT = 64 * 1024
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]")
# Bytes PostgreSQL's COPY cannot take as data (NUL), or that are its delimiter here
# (0x01) or a line break inside a row (a lone CR): each becomes SUB (0x1a), a
# control character, so that its row is rejected instead of the file failing.
_COPY_UNSAFE = bytes.maketrans(b"\x00\x01\r", b"\x1a\x1a\x1a")


class TrafficFeedRefusedError(Exception):
    """The whole file is refused (unreadable, not UTF-8, wrong header): nothing of it is written."""


@dataclass(frozen=True)
class TrafficRejection:
    """One row left out: the file's name, its data row (from 1 after the header) and why."""

    file: str
    row: int
    error: str
    code: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "error": self.error, "code": self.code}


@dataclass
class TrafficImportResult:
    """What importing one or more files did (CONTRACTS.md summary), and the line-days it touched.

    `updated` is always 0: a record is never changed, a record id seen again
    with other content is rejected as a conflict. `touched` holds the
    (company id, line id, Rome day) of every new record, for whatever must
    follow new traffic (roaming spend, alerts).
    """

    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[TrafficRejection] = field(default_factory=list)
    touched: set[tuple[int, int, date]] = field(default_factory=set)

    def merge(self, other: TrafficImportResult) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.touched |= other.touched

    def as_dict(self) -> dict[str, Any]:
        """The `--json` summary of CONTRACTS.md."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": [rejection.as_dict() for rejection in self.rejected],
        }


# ---------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------


@dataclass
class FeedChunks:
    """The data rows of an open feed as byte chunks ready for COPY (text format, 0x01 as delimiter).

    Iterating checks that every byte is UTF-8 (TrafficFeedRefusedError
    otherwise, before the COPY ends, so the transaction rolls back) and
    notes whether any row has a double quote (to be split by the csv module)
    or a control character (to be rejected).
    """

    name: str
    stream: IO[bytes]
    offset: int
    has_quotes: bool = False
    has_control: bool = False

    def __iter__(self) -> Iterator[bytes]:
        decode = codecs.getincrementaldecoder("utf-8")()
        pending_cr = b""
        while True:
            chunk = self.stream.read(CHUNK_SIZE)
            try:
                decode.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                raise not_utf8_refusal(
                    self.name, self.offset - len(decode.getstate()[0]) + error.start
                ) from error
            if not chunk:
                break
            self.offset += len(chunk)
            data = pending_cr + chunk
            pending_cr = b""
            if data.endswith(b"\r"):
                # Perhaps the first half of a CRLF split across two chunks.
                pending_cr, data = b"\r", data[:-1]
            data = data.replace(b"\r\n", b"\n")
            if b'"' in data:
                self.has_quotes = True
            if not self.has_control and _CONTROL_BYTES.search(data):
                self.has_control = True
            # In COPY's text format a backslash starts an escape: keep it literal.
            yield data.translate(_COPY_UNSAFE).replace(b"\\", b"\\\\")
        if pending_cr:
            self.has_control = True
            yield b"\x1a"


def not_utf8_refusal(name: str, offset: int) -> TrafficFeedRefusedError:
    return TrafficFeedRefusedError(
        _("%(file)s is not UTF-8 text (bad byte at offset %(offset)d). Nothing was imported.")
        % {"file": name, "offset": offset}
    )


def traffic_feed_open(*, path: Path, stream: IO[bytes]) -> FeedChunks:
    """Check the header of an open feed and return its data rows, or TrafficFeedRefusedError."""
    name = path.name
    first = stream.readline(_HEADER_LIMIT)
    if not first:
        raise TrafficFeedRefusedError(
            _("%(file)s is empty: the header is missing. Nothing was imported.") % {"file": name}
        )
    try:
        header_text = first.decode("utf-8")
    except UnicodeDecodeError as error:
        raise not_utf8_refusal(name, error.start) from error
    header_text = header_text.removeprefix("\ufeff").rstrip("\r\n")
    try:
        header = next(csv.reader([header_text], strict=True), [])
    except csv.Error:
        # A CR inside the line or malformed quotes: no header at all, refused as a wrong one.
        header = []
    if tuple(header) != FEED_COLUMNS:
        raise TrafficFeedRefusedError(
            _("%(file)s has the wrong header: expected %(expected)s, found %(found)s. Nothing was imported.")
            % {"file": name, "expected": ",".join(FEED_COLUMNS), "found": header_text[:300]}
        )
    return FeedChunks(name=name, stream=stream, offset=len(first))


def traffic_feed_unreadable(*, path: Path, error: OSError) -> TrafficFeedRefusedError:
    return TrafficFeedRefusedError(
        _("Cannot read %(file)s: %(reason)s. Nothing was imported.")
        % {"file": path, "reason": error.strerror or error}
    )


def split_quoted_row(raw: str) -> list[str] | None:
    """The fields of a row with double quotes, read as CSV; None when its quoting is malformed."""
    try:
        rows = list(csv.reader([raw], strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


# ---------------------------------------------------------------------------
# Error texts
# ---------------------------------------------------------------------------


def _shown(value: str | None) -> str:
    value = value or ""
    return value if len(value) <= 40 else value[:37] + "…"


def rejection_text(code: str, fields: Sequence[str] | None, first_row: int | None = None) -> str:
    """The readable reason of an error code, quoting the row's value where that helps."""
    values: Mapping[str, str] = dict(zip(FEED_COLUMNS, fields, strict=False)) if fields else {}
    column_count = len(fields) if fields is not None else 0
    texts: dict[str, str] = {
        "quoting": _("the row's double quotes are malformed"),
        "columns": _("expected %(expected)d columns, found %(found)d (a truncated or malformed row)")
        % {"expected": len(FEED_COLUMNS), "found": column_count},
        "record_id": _("record_id must have 1 to 64 characters and no control characters"),
        "line_format": _("line %(value)s is not a number in E.164 form (+39…)")
        % {"value": _shown(values.get("line"))},
        "line_unknown": _("unknown line %(value)s: no company has a line with this number")
        % {"value": _shown(values.get("line"))},
        "started_at_format": _("started_at %(value)s is not an ISO 8601 date and time with an offset")
        % {"value": _shown(values.get("started_at"))},
        "started_at_range": _("started_at %(value)s is before 2000 or more than a day in the future")
        % {"value": _shown(values.get("started_at"))},
        "direction": _("direction must be out or in, not %(value)s")
        % {"value": _shown(values.get("direction"))},
        "service": _("service must be voice, sms, mms or data, not %(value)s")
        % {"value": _shown(values.get("service"))},
        "data_other_party": _("other_party, other_operator and other_network must be empty for data"),
        "other_party": _(
            "other_party %(value)s is not an E.164 number or a short code (empty only for incoming traffic)"
        )
        % {"value": _shown(values.get("other_party"))},
        "other_operator": _("other_operator must be an operator code of up to 20 letters or digits"),
        "other_network": _("other_network must be mobile, fixed, international or special"),
        "duration_format": _("duration_s must be a whole number of seconds"),
        "duration_negative": _("duration_s cannot be negative"),
        "duration_absurd": _("duration_s is over %(limit)d seconds (24 hours)") % {"limit": MAX_DURATION_S},
        "duration_not_voice": _("duration_s must be 0 except for voice"),
        "volume_format": _("volume_bytes must be a whole number of bytes"),
        "volume_negative": _("volume_bytes cannot be negative"),
        "volume_absurd": _("volume_bytes is over %(limit)d bytes (100 GB) in one session")
        % {"limit": MAX_VOLUME_BYTES},
        "volume_not_data": _("volume_bytes must be 0 except for data"),
        "country": _("country %(value)s is not an ISO 3166-1 alpha-2 code")
        % {"value": _shown(values.get("country"))},
        "topup": _("topup must be 0 or 1"),
        "conflict_in_file": _(
            "record_id %(record_id)s appears earlier in the file (row %(row)s) with different content"
        )
        % {"record_id": _shown(values.get("record_id")), "row": first_row},
        "conflict_earlier": _("record_id %(record_id)s was imported before with different content")
        % {"record_id": _shown(values.get("record_id"))},
    }
    return texts[code]


# ---------------------------------------------------------------------------
# The rules, row by row (the embedded SQLite mode; PostgreSQL runs them as SQL)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedRow:
    """A data row read against the rules: its values when good, its error codes when not."""

    row_no: int
    errors: tuple[str, ...]
    fields: tuple[str, ...]
    started_at: datetime | None = None
    day: date | None = None
    duration_s: int = 0
    volume_bytes: int = 0
    fingerprint: str = ""


def is_e164(value: str) -> bool:
    return _E164.fullmatch(value) is not None


def _is_digits(value: str, longest: int) -> bool:
    return 0 < len(value) <= longest and value.strip(DIGITS) == ""


def _whole_number(value: str, *, prefix: str) -> tuple[int | None, list[str]]:
    if _is_digits(value, 18):
        return int(value), []
    if value.startswith("-") and _is_digits(value[1:], 1000):
        return None, [f"{prefix}_negative"]
    return None, [f"{prefix}_format"]


def parse_started_at(value: str) -> datetime | None:
    """`started_at` as an aware datetime, or None when it is not the feed's ISO 8601 with an offset."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, offset = match.group(7), match.group(8)
    if offset == "Z":
        tz: timezone = UTC
    else:
        offset_hours, offset_minutes = int(offset[1:3]), int(offset[4:6])
        if offset_hours > 14 or offset_minutes > 59:
            return None
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=offset_hours, minutes=offset_minutes))
    microsecond = int((fraction or ".0")[1:].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=tz)
    except ValueError:
        return None


def postgres_timestamp_text(moment: datetime) -> str:
    """`moment` as PostgreSQL prints a timestamptz in UTC (the fingerprint's form on both databases)."""
    utc = moment.astimezone(UTC)
    text = f"{utc:%Y-%m-%d %H:%M:%S}"
    if utc.microsecond:
        text += "." + f"{utc.microsecond:06d}".rstrip("0")
    return text + "+00"


def fingerprint_of(*, fields: Sequence[str], started_at: datetime, duration_s: int, volume_bytes: int) -> str:
    """The md5 of a record's content (all but its id), normalised: the same call written otherwise is the same."""
    canonical = "|".join(
        [
            fields[1],
            postgres_timestamp_text(started_at),
            fields[3],
            fields[4],
            fields[5],
            fields[6],
            fields[7],
            str(duration_s),
            str(volume_bytes),
            fields[10],
            fields[11],
        ]
    )
    return hashlib.md5(canonical.encode(), usedforsecurity=False).hexdigest()


def traffic_row_check(*, row_no: int, fields: list[str] | None, now: datetime) -> CheckedRow:
    """The rules of the module docstring for one row; `fields` None when its quoting is malformed.

    Whether the line exists needs the database: the caller adds `line_unknown`.
    """
    if fields is None:
        return CheckedRow(row_no=row_no, errors=("quoting",), fields=())
    if len(fields) != len(FEED_COLUMNS):
        return CheckedRow(row_no=row_no, errors=("columns",), fields=tuple(fields))
    (
        record_id,
        line,
        started,
        direction,
        service,
        party,
        operator,
        network,
        duration,
        volume,
        country,
        topup,
    ) = fields
    errors: list[str] = []
    if not 0 < len(record_id) <= 64 or _CONTROL.search(record_id):
        errors.append("record_id")
    if not is_e164(line):
        errors.append("line_format")
    started_at = parse_started_at(started)
    if started_at is None:
        errors.append("started_at_format")
    elif not EARLIEST_START <= started_at <= now + FUTURE_MARGIN:
        errors.append("started_at_range")
    if direction not in DIRECTIONS:
        errors.append("direction")
    if service not in SERVICES:
        errors.append("service")
    elif service == "data":
        if party or operator or network:
            errors.append("data_other_party")
    else:
        if not ((party == "" and direction == "in") or is_e164(party) or _is_digits(party, 15)):
            errors.append("other_party")
        if not 0 < len(operator) <= 20 or operator.strip(OPERATOR_CHARACTERS) != "":
            errors.append("other_operator")
        if network not in OTHER_NETWORKS:
            errors.append("other_network")
    duration_s, duration_errors = _whole_number(duration, prefix="duration")
    errors += duration_errors
    if duration_s is not None:
        if duration_s > MAX_DURATION_S:
            errors.append("duration_absurd")
        if service in ("sms", "mms", "data") and duration_s != 0:
            errors.append("duration_not_voice")
    volume_bytes, volume_errors = _whole_number(volume, prefix="volume")
    errors += volume_errors
    if volume_bytes is not None:
        if volume_bytes > MAX_VOLUME_BYTES:
            errors.append("volume_absurd")
        if service in PARTY_SERVICES and volume_bytes != 0:
            errors.append("volume_not_data")
    if country not in COUNTRY_CODES:
        errors.append("country")
    if topup not in ("0", "1"):
        errors.append("topup")
    if errors or started_at is None or duration_s is None or volume_bytes is None:
        return CheckedRow(row_no=row_no, errors=tuple(errors), fields=tuple(fields))
    return CheckedRow(
        row_no=row_no,
        errors=(),
        fields=tuple(fields),
        started_at=started_at,
        day=started_at.astimezone(ROME).date(),
        duration_s=duration_s,
        volume_bytes=volume_bytes,
        fingerprint=fingerprint_of(
            fields=fields, started_at=started_at, duration_s=duration_s, volume_bytes=volume_bytes
        ),
    )


# The order error codes are reported in, on both databases.
ERROR_ORDER = (
    "quoting",
    "columns",
    "record_id",
    "line_format",
    "line_unknown",
    "started_at_format",
    "started_at_range",
    "direction",
    "service",
    "data_other_party",
    "other_party",
    "other_operator",
    "other_network",
    "duration_format",
    "duration_negative",
    "duration_absurd",
    "duration_not_voice",
    "volume_format",
    "volume_negative",
    "volume_absurd",
    "volume_not_data",
    "country",
    "topup",
)
