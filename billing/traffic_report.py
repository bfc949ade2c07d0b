"""The 90-day traffic report: which records a user may see, with which filters, and the other party masked in SQL.

One query serves every format (the page, the API, the CSV streamed with
`COPY … TO STDOUT`, the XLSX): `traffic_report_queryset` returns it, its
columns in the order of the traffic feed (CONTRACTS.md).
The masking is an SQL expression, so a download streams straight from
PostgreSQL without a row passing through Python to be masked.

Who sees what (docs/traffic.md):
- the company's records as they were when they happened (`company_id`), a
  line user's of assigned lines only;
- the last 90 Rome days, today included;
- the other party's last three digits as `XXX`, unless an approved request
  for numbers in clear covers the record's line and day and the user may
  see numbers in clear (`billing.clear_numbers.clear_windows_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import BigIntegerField, CharField, F, Func, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.expressions import Case, When
from django.db.models.functions import Coalesce, Concat, Greatest, Left, Length
from django.utils import timezone

from billing.clear_numbers import ClearWindow
from billing.models import TrafficDailyTotal, TrafficDirection, TrafficRecord, TrafficService
from billing.traffic_feed import FEED_COLUMNS
from selfcare.models import Membership, User
from selfcare.services.audit import audit_record

ROME = ZoneInfo("Europe/Rome")

# The days a report may cover, today included (DOMAIN.md, "The 90-day report").
REPORT_DAYS = 90

__all__ = [
    "FEED_COLUMNS",
    "REPORT_DAYS",
    "TrafficFilters",
    "TrafficTotals",
    "clear_windows_in",
    "feed_value",
    "report_window",
    "traffic_download_audit",
    "traffic_report_queryset",
    "traffic_report_totals",
]


def report_window(*, today: date | None = None) -> tuple[date, date]:
    """The first and last Rome day a report may cover."""
    last = today or timezone.localdate()
    return last - timedelta(days=REPORT_DAYS - 1), last


@dataclass(frozen=True)
class TrafficFilters:
    """What the user asked for, already checked: dates inside the window, known services and directions."""

    first_day: date
    last_day: date
    # Line ids the user may see, resolved from the numbers asked for; empty means every visible line.
    line_ids: tuple[int, ...] = ()
    service: str = ""
    direction: str = ""

    def __post_init__(self) -> None:
        if self.service and self.service not in TrafficService.values:
            raise ValueError(f"unknown service {self.service!r}")
        if self.direction and self.direction not in TrafficDirection.values:
            raise ValueError(f"unknown direction {self.direction!r}")
        if self.first_day > self.last_day:
            raise ValueError("first_day after last_day")


class RomeIsoTimestamp(Func):
    """`started_at` as the feed writes it, ISO 8601 in Rome time with its offset, computed by PostgreSQL.

    On the embedded SQLite the column comes back as a datetime, and
    `feed_value` formats it in Python the same way.
    """

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        rome = f"({column} AT TIME ZONE 'Europe/Rome')"
        # Rome is UTC+1 or UTC+2: the offset is the difference of the two clocks.
        sql = (
            f"to_char({rome}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN {rome} - ({column} AT TIME ZONE 'UTC') = interval '2 hours' "
            "THEN '+02:00' ELSE '+01:00' END"
        )
        return sql, [*params, *params, *params]

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return sql, list(params)


def feed_value(value: object) -> object:
    """A report value as the feed writes it: datetimes (SQLite only) as ISO 8601 in Rome time."""
    if isinstance(value, datetime):
        # SQLite stores UTC and hands the column back naive.
        aware = value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
        return timezone.localtime(aware, ROME).isoformat()
    return value


def masked_other_party(clear_windows: list[ClearWindow]) -> Case:
    """The other party as the user may see it: in clear where a window covers the record, else ending in XXX."""
    masked = Case(
        When(other_party="", then=Value("")),
        default=Concat(
            Left("other_party", Greatest(Length("other_party") - 3, Value(0))),
            Value("XXX"),
            output_field=CharField(),
        ),
        output_field=CharField(),
    )
    if not clear_windows:
        return masked
    covered = Q()
    for window in clear_windows:
        covered |= Q(line_id=window.line_id, day__range=(window.first_day, window.last_day))
    return Case(When(covered, then=F("other_party")), default=masked, output_field=CharField())


def traffic_report_queryset(
    *,
    membership: Membership,
    filters: TrafficFilters,
    clear_windows: list[ClearWindow] | None = None,
) -> QuerySet[TrafficRecord, tuple[Any, ...]]:
    """The records `membership` may see under `filters`: tuples in the order of FEED_COLUMNS, the other party masked unless in clear.

    `clear_windows` are the approved windows that apply to this user and this
    download (None or empty: everything masked). The SQL of the queryset
    (`.query.sql_with_params()`) is what `COPY … TO STDOUT` streams on
    PostgreSQL. Ordered by time, then id, so pages and downloads agree.
    """
    records = TrafficRecord.objects.visible_to(membership).filter(
        day__range=(filters.first_day, filters.last_day)
    )
    if filters.line_ids:
        records = records.filter(line_id__in=filters.line_ids)
    if filters.service:
        records = records.filter(service=filters.service)
    if filters.direction:
        records = records.filter(direction=filters.direction)
    return (
        records.annotate(
            line_number=F("line__number"),
            started_at_feed=RomeIsoTimestamp("started_at"),
            other_party_shown=masked_other_party(clear_windows or []),
            topup_flag=Case(When(topup=True, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .order_by("started_at", "id")
        .values_list(
            "record_id",
            "line_number",
            "started_at_feed",
            "direction",
            "service",
            "other_party_shown",
            "other_operator",
            "other_network",
            "duration_s",
            "volume_bytes",
            "country",
            "topup_flag",
        )
    )


# ---------------------------------------------------------------------------
# Totals of the page, and the windows in clear a download touches
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrafficTotals:
    """The sums of the filtered records: what the report page shows above its rows."""

    records: int
    voice_seconds: int
    sms: int
    mms: int
    data_bytes: int


def traffic_report_totals(*, membership: Membership, filters: TrafficFilters) -> TrafficTotals:
    """The totals of what `traffic_report_queryset` lists, in one aggregate query.

    Read from the daily per-line totals, which hold every dimension the
    filters use (line, day, service, direction) and are written by the import
    in the same transaction as the records: a sum over a few thousand rows
    instead of millions, so the page stays fast on a large company. Within
    the 90 days no raw record has been purged yet, so both agree.
    """
    totals = TrafficDailyTotal.objects.visible_to(membership).filter(
        day__range=(filters.first_day, filters.last_day)
    )
    if filters.line_ids:
        totals = totals.filter(line_id__in=filters.line_ids)
    if filters.service:
        totals = totals.filter(service=filters.service)
    if filters.direction:
        totals = totals.filter(direction=filters.direction)
    zero = Value(0, output_field=BigIntegerField())
    # Aliases unlike the columns' names: Django refuses an aggregate named after a field it sums.
    sums = totals.aggregate(
        records_sum=Coalesce(Sum("records", output_field=BigIntegerField()), zero),
        voice_seconds_sum=Coalesce(Sum("duration_s", filter=Q(service=TrafficService.VOICE)), zero),
        sms_sum=Coalesce(
            Sum("records", output_field=BigIntegerField(), filter=Q(service=TrafficService.SMS)), zero
        ),
        mms_sum=Coalesce(
            Sum("records", output_field=BigIntegerField(), filter=Q(service=TrafficService.MMS)), zero
        ),
        data_bytes_sum=Coalesce(Sum("volume_bytes", filter=Q(service=TrafficService.DATA)), zero),
    )
    return TrafficTotals(**{name.removesuffix("_sum"): int(value) for name, value in sums.items()})


def clear_windows_in(*, clear_windows: list[ClearWindow], filters: TrafficFilters) -> list[ClearWindow]:
    """The windows in clear that overlap what `filters` select: a download holding them is audited.

    Decided from the windows and the filters, without reading the records:
    a download that may show a number in clear is audited even if, as it
    turns out, no record falls in the window. An audit too many is harmless;
    one missing is not (privacy code, art. 124).
    """
    return [
        window
        for window in clear_windows
        if (not filters.line_ids or window.line_id in filters.line_ids)
        and window.first_day <= filters.last_day
        and window.last_day >= filters.first_day
    ]


# The audit event of every download that shows the other party in clear.
IN_CLEAR_AUDIT_EVENT = "traffic_numbers_in_clear_downloaded"


def traffic_in_clear_audit(
    *,
    membership: Membership,
    actor: User | None,
    filters: TrafficFilters,
    windows: list[ClearWindow],
    file_format: str,
    export_id: int | None = None,
) -> None:
    """The audit record of a download showing numbers in clear (privacy code, art. 124): each one is a disclosure."""
    details: dict[str, Any] = {
        "format": file_format,
        "filters": {
            "from": filters.first_day.isoformat(),
            "to": filters.last_day.isoformat(),
            "line_ids": list(filters.line_ids),
            "service": filters.service,
            "direction": filters.direction,
        },
        "windows": [
            {"line_id": w.line_id, "from": w.first_day.isoformat(), "to": w.last_day.isoformat()}
            for w in windows
        ],
    }
    if export_id is not None:
        details["export_id"] = export_id
    audit_record(actor=actor, target=membership, event=IN_CLEAR_AUDIT_EVENT, details=details)


def traffic_download_audit(
    *,
    membership: Membership,
    actor: User | None,
    filters: TrafficFilters,
    clear_windows: list[ClearWindow],
    file_format: str,
) -> None:
    """Audit a download whose numbers may be in clear (its filters meet an approved window); nothing for a masked one."""
    windows = clear_windows_in(clear_windows=clear_windows, filters=filters)
    if windows:
        traffic_in_clear_audit(
            membership=membership, actor=actor, filters=filters, windows=windows, file_format=file_format
        )
