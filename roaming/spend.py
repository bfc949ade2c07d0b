"""Each line's chargeable spend abroad, the spending cap's alerts and stop, and the month's charge (docs/roaming.md).

Rating reads `TrafficDailyTotal`, never the raw records: one statement per
month sums, for the lines asked, every line-day-zone of traffic in a rated
zone (not home, not roam like at home) at the zone's rate of that day, and
rounds each line-day-zone half-up to the cent. The arithmetic is on
integers (prices in ten-thousandths of a euro) so that PostgreSQL and
SQLite round alike, exactly:

- calls made and received: the day's seconds * price per minute / 60;
- SMS and MMS sent: each at the SMS price (received ones cost nothing);
- data: the day's bytes * price per MB / 10^6 (1 MB = 10^6 bytes).

Rating per call, each rounded up to the minute, would need the raw
records, which retention drops: the daily totals are what stays.

The spend of a (line, month) is recomputed, never incremented, so a rerun
or a replayed file gives the same figures. The cap counts the data part
(DOMAIN.md, "Roaming"); the invoice gets all of it.
"""

# ruff: noqa: S608 - the statements are built from this module's constants and table names; values go as parameters

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DecimalField, F, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import ExtraCharge, ExtraChargeKind, TrafficDailyTotal, TrafficDirection, TrafficService
from billing.taxes import to_cents
from roaming.models import (
    CAP_ALERT_SHARES,
    DEFAULT_SPENDING_CAP,
    LineRoaming,
    RoamingCountry,
    RoamingRate,
    RoamingSpendMonth,
    RoamingZone,
    ZoneKind,
)
from selfcare.models import Line, User
from selfcare.selectors.companies import company_managers
from selfcare.services.notifications import notify

logger = logging.getLogger(__name__)

WARNING_SHARE, REACHED_SHARE = CAP_ALERT_SHARES
EVENT_CAP_WARNING = "roaming_cap_warning"
EVENT_CAP_REACHED = "roaming_cap_reached"

# Amounts are summed in units of 1/(3·10^8) of a cent, the least common
# denominator of the three kinds: seconds * price/min (cents = s·P/6000),
# each message (cents = n·P/100) and bytes * price/MB (cents = b·P/10^8),
# P being the price in ten-thousandths of a euro.
_UNITS_PER_CENT = 300_000_000
_PER_SECOND = 50_000
_PER_MESSAGE = 3_000_000
_PER_BYTE = 3


def _price(column: str) -> str:
    # Exact on PostgreSQL (numeric); on SQLite the REAL price times 10^4 is rounded back to its integer.
    return f"CAST(ROUND(r.{column} * 10000) AS BIGINT)"


def _cents(units: str) -> str:
    """Half-up to the cent of a non-negative sum of units, as an integer division on both databases."""
    half = _UNITS_PER_CENT // 2
    if connection.vendor == "postgresql":
        # sum(bigint) is numeric there: div() keeps the division whole.
        return f"div({units} + {half}, {_UNITS_PER_CENT})"
    return f"(({units} + {half}) / {_UNITS_PER_CENT})"


def _data_units() -> str:
    return f"CASE WHEN t.service = '{TrafficService.DATA}' THEN t.volume_bytes * {_price('data_per_mb')} * {_PER_BYTE} ELSE 0 END"


def _all_units() -> str:
    out, into = TrafficDirection.OUT, TrafficDirection.IN
    return f"""CASE
        WHEN t.service = '{TrafficService.VOICE}' AND t.direction = '{out}'
            THEN t.duration_s * {_price("call_made_per_minute")} * {_PER_SECOND}
        WHEN t.service = '{TrafficService.VOICE}' AND t.direction = '{into}'
            THEN t.duration_s * {_price("call_received_per_minute")} * {_PER_SECOND}
        WHEN t.service IN ('{TrafficService.SMS}', '{TrafficService.MMS}') AND t.direction = '{out}'
            THEN t.records * {_price("sms")} * {_PER_MESSAGE}
        WHEN t.service = '{TrafficService.DATA}'
            THEN t.volume_bytes * {_price("data_per_mb")} * {_PER_BYTE}
        ELSE 0 END"""


def _tables() -> dict[str, str]:
    return {
        "totals": TrafficDailyTotal._meta.db_table,
        "countries": RoamingCountry._meta.db_table,
        "zones": RoamingZone._meta.db_table,
        "rates": RoamingRate._meta.db_table,
        "lines": Line._meta.db_table,
    }


def _rated_join() -> str:
    """The daily totals in a rated zone, each with the zone's rate of its day (latest valid_from on or before it)."""
    t = _tables()
    return f"""
        JOIN {t["countries"]} c ON c.country = t.country
        JOIN {t["zones"]} z ON z.id = c.zone_id AND z.kind = '{ZoneKind.RATED}'
        JOIN {t["rates"]} r ON r.zone_id = z.id AND r.valid_from = (
            SELECT MAX(r2.valid_from) FROM {t["rates"]} r2 WHERE r2.zone_id = z.id AND r2.valid_from <= t.day
        )"""


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class LineMonthSpend:
    line_id: int
    total: Decimal
    data: Decimal


def _line_months_sql(*, month: date, line_ids: list[int] | None) -> tuple[str, list[Any]]:
    """SELECT line_id, total_cents, data_cents: the month's rated spend of each line with some; and its params."""
    t = _tables()
    params: list[Any] = [month, next_month(month)]
    lines_filter = ""
    if line_ids is not None:
        lines_filter = f"AND t.line_id IN ({', '.join(['%s'] * len(line_ids))})"
        params.extend(line_ids)
    statement = f"""
        SELECT line_id, SUM(total_cents) AS total_cents, SUM(data_cents) AS data_cents FROM (
            SELECT t.line_id, t.day, z.id AS zone_id,
                {_cents(f"SUM({_all_units()})")} AS total_cents,
                {_cents(f"SUM({_data_units()})")} AS data_cents
            FROM {t["totals"]} t
            JOIN {t["lines"]} l ON l.id = t.line_id
            {_rated_join()}
            WHERE t.day >= %s AND t.day < %s {lines_filter}
            GROUP BY t.line_id, t.day, z.id
        ) line_day_zone
        GROUP BY line_id
    """
    return statement, params


def roaming_month_rate(*, month: date, line_ids: Iterable[int] | None = None) -> list[LineMonthSpend]:
    """The chargeable spend of `month` of each line (of `line_ids`, or every line) with rated traffic; one query."""
    ids = None if line_ids is None else sorted(set(line_ids))
    if ids == []:
        return []
    statement, params = _line_months_sql(month=month, line_ids=ids)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [
            LineMonthSpend(line_id=line_id, total=Decimal(int(total)) / 100, data=Decimal(int(data)) / 100)
            for line_id, total, data in cursor.fetchall()
        ]


def roaming_spend_by_country(
    *, company_id: int, first: date, last: date, lines: tuple[str, Sequence[Any]] | None = None
) -> list[tuple[str, Decimal]]:
    """The company's chargeable spend per country from `first` to `last` (Rome days), highest first; one query.

    Rated as a line's month is (each day at the zone's rate of that day), but
    rounded per line, day and country rather than line, day and zone: a
    country's figure is what its own traffic cost, so the countries of a zone
    may add up to a cent apart from the lines' monthly spend. `lines`, an SQL
    subquery of line ids with its parameters, narrows to those lines.
    Countries with nothing to charge are left out. For reports (insight).
    """
    t = _tables()
    params: list[Any] = [company_id, first, last]
    lines_filter = ""
    if lines is not None:
        lines_sql, lines_params = lines
        lines_filter = f"AND t.line_id IN ({lines_sql})"
        params.extend(lines_params)
    statement = f"""
        SELECT country, SUM(cents) FROM (
            SELECT t.country AS country, {_cents(f"SUM({_all_units()})")} AS cents
            FROM {t["totals"]} t
            {_rated_join()}
            WHERE t.company_id = %s AND t.day >= %s AND t.day <= %s {lines_filter}
            GROUP BY t.line_id, t.day, t.country
        ) line_day_country
        GROUP BY country
        ORDER BY 2 DESC, country
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [(country, Decimal(int(cents)) / 100) for country, cents in cursor.fetchall() if int(cents)]


def roaming_spend_update(*, month: date, line_ids: Iterable[int] | None = None) -> list[int]:
    """Recompute the month's spend of `line_ids` (every line with rated traffic when None), then check their caps.

    One INSERT … SELECT … ON CONFLICT DO UPDATE writes every line's row from
    the rating (PostgreSQL and SQLite alike); returns the lines written. A
    line whose traffic that month is all at home or roam like at home gets no
    row (nothing to charge).
    """
    ids = None if line_ids is None else sorted(set(line_ids))
    if ids == []:
        return []
    table = RoamingSpendMonth._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rated, rated_params = _line_months_sql(month=month, line_ids=ids)
    # Cents to euro: exact on PostgreSQL (numeric); on SQLite a REAL that the field reads back to the cent.
    upsert = f"""
        INSERT INTO {table} (line_id, month, chargeable_spend, data_spend, data_stopped, updated_at)
        SELECT line_id, %s, total_cents * 0.01, data_cents * 0.01, %s, %s FROM ({rated}) rated
        WHERE total_cents > 0
        ON CONFLICT (line_id, month) DO UPDATE SET
            chargeable_spend = excluded.chargeable_spend,
            data_spend = excluded.data_spend,
            updated_at = excluded.updated_at
        RETURNING line_id
    """
    # A row of these lines that no longer rates (never expected: rates never change the past) goes back to 0.
    lines_filter = f"AND line_id IN ({', '.join(['%s'] * len(ids))})" if ids is not None else ""
    stale = f"""
        UPDATE {table} SET chargeable_spend = 0, data_spend = 0, updated_at = %s
        WHERE month = %s AND updated_at <> %s AND (chargeable_spend <> 0 OR data_spend <> 0) {lines_filter}
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(upsert, [month, False, now, *rated_params])
        written = sorted(line_id for (line_id,) in cursor.fetchall())
        cursor.execute(stale, [now, month, now, *(ids or [])])
    roaming_caps_check(month=month, line_ids=written)
    return written


def roaming_spend_after_import(*, touched: Iterable[tuple[int, int, date]]) -> int:
    """After a traffic file's commit: recompute the spend of the (line, month) pairs it touched abroad.

    `touched` is TrafficImportResult.touched, (company, line, Rome day). One
    query finds which of those line-days have traffic in a rated zone; only
    their line-months are rated. Returns how many line-months were.
    """
    line_days = {(line_id, day) for _company_id, line_id, day in touched}
    if not line_days:
        return 0
    days = [day for _line_id, day in line_days]
    t = _tables()
    statement = f"""
        SELECT DISTINCT t.line_id, t.day FROM {t["totals"]} t
        JOIN {t["countries"]} c ON c.country = t.country
        JOIN {t["zones"]} z ON z.id = c.zone_id AND z.kind = '{ZoneKind.RATED}'
        WHERE t.day >= %s AND t.day <= %s
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, [min(days), max(days)])
        abroad = [(line_id, day) for line_id, day in cursor.fetchall()]
    by_month: dict[date, set[int]] = defaultdict(set)
    for line_id, day in abroad:
        day = date.fromisoformat(day) if isinstance(day, str) else day
        if (line_id, day) in line_days:
            by_month[month_of(day)].add(line_id)
    for month, line_ids in sorted(by_month.items()):
        roaming_spend_update(month=month, line_ids=line_ids)
    return sum(len(line_ids) for line_ids in by_month.values())


# ---------------------------------------------------------------------------
# The cap
# ---------------------------------------------------------------------------
def _cap_recipients(line: Line, managers: list[User]) -> list[User]:
    """The line's user, if it has one, and the company's managers, each once."""
    recipients = {user.pk: user for user in managers}
    if line.assigned_to_id is not None and line.assigned_to is not None:
        recipients.setdefault(line.assigned_to.user_id, line.assigned_to.user)
    return list(recipients.values())


def _cap_notify(*, row: RoamingSpendMonth, cap: Decimal, event: str, managers: list[User]) -> None:
    line = row.line
    recipients = _cap_recipients(line, managers)
    if not recipients:
        # Nobody to tell (a company without managers yet): the claimed stamp is the record.
        return
    notify(
        company=line.company,
        event=event,
        key=f"line-{line.pk}-{row.month:%Y-%m}",
        recipients=recipients,
        context={
            "line": line,
            "month": row.month,
            "spend": to_cents(row.data_spend),
            "cap": cap,
        },
        link=reverse("roaming:line", args=[line.pk]),
    )


def _claim_alerts(*, month: date, line_ids: list[int], share: Decimal, now: datetime) -> list[int]:
    """Stamp the alert of `share` on the rows that reached it and had not been told yet; their ids.

    One UPDATE … RETURNING for all the lines: the stamp going from NULL to
    now is the claim, so two imports at once, or a rerun, never tell twice.
    At 100% it also stops data abroad (and stamps the 80% alert if unsent).
    """
    table = RoamingSpendMonth._meta.db_table
    settings_table = LineRoaming._meta.db_table
    stamp = connection.ops.adapt_datetimefield_value(now)
    column = "alert_100_at" if share == REACHED_SHARE else "alert_80_at"
    sets = [f"{column} = %s", "updated_at = %s"]
    params: list[Any] = [stamp, stamp]
    if share == REACHED_SHARE:
        sets += ["alert_80_at = COALESCE(alert_80_at, %s)", "data_stopped = %s", "data_stopped_at = %s"]
        params += [stamp, True, stamp]
    # In whole percent: on SQLite the amounts are floats, and 80 is exact where 0.80 is not.
    params += [month, *line_ids, DEFAULT_SPENDING_CAP, int(share * 100)]
    statement = f"""
        UPDATE {table} SET {", ".join(sets)}
        WHERE month = %s AND line_id IN ({", ".join(["%s"] * len(line_ids))}) AND {column} IS NULL
        AND data_spend * 100 >= COALESCE(
            (SELECT spending_cap FROM {settings_table} WHERE {settings_table}.line_id = {table}.line_id), %s
        ) * %s
        RETURNING id
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [row_id for (row_id,) in cursor.fetchall()]


def roaming_caps_check(*, month: date, line_ids: Iterable[int]) -> None:
    """Tell at 80% and 100% of the cap, once each per line and month; at 100% stop data abroad.

    Set-based: two claiming statements for all the lines, then one
    notification per line that crossed a threshold, in the same transaction
    (the outbox). A spend that jumps past 100% in one go gets only the 100%
    notice (the 80% one is stamped with it).
    """
    ids = sorted(set(line_ids))
    if not ids:
        return
    now = timezone.now()
    with transaction.atomic():
        reached = _claim_alerts(month=month, line_ids=ids, share=REACHED_SHARE, now=now)
        warned = _claim_alerts(month=month, line_ids=ids, share=WARNING_SHARE, now=now)
        told = {**dict.fromkeys(warned, EVENT_CAP_WARNING), **dict.fromkeys(reached, EVENT_CAP_REACHED)}
        if not told:
            return
        rows = (
            RoamingSpendMonth.objects.filter(pk__in=told)
            .annotate(
                cap=Coalesce(
                    F("line__roaming__spending_cap"),
                    Value(DEFAULT_SPENDING_CAP),
                    output_field=DecimalField(max_digits=10, decimal_places=2),
                )
            )
            .select_related("line__company", "line__assigned_to__user")
            .order_by("pk")
        )
        managers: dict[int, list[User]] = {}
        for row in rows:
            company = row.line.company
            if company.pk not in managers:
                managers[company.pk] = company_managers(company=company)
            _cap_notify(row=row, cap=row.cap, event=told[row.pk], managers=managers[company.pk])  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# The month's charge, for the billing run
# ---------------------------------------------------------------------------
def roaming_month_charges_write(*, month: date) -> int:
    """Write the month's chargeable roaming of each line as an ExtraCharge, once; returns how many were written.

    Run once the month is over and before its billing run (beat: the 1st at
    02:30 Rome time; the billing run is at 03:00). The month's spend is
    recomputed first, for every line with rated traffic, so a hook that
    failed after an import costs nothing. A row gets its charge once (the
    link to it is claimed); run again before the billing run, an unbilled
    charge follows late traffic; a billed one is never changed. A month of
    home or roam-like-at-home traffic only has no row, so no charge.
    """
    month = month_of(month)
    roaming_spend_update(month=month)
    written = 0
    due = RoamingSpendMonth.objects.filter(month=month, chargeable_spend__gt=0, extra_charge__isnull=True)
    # The invoice is in the operator's language, as the billing run writes it.
    with translation.override(settings.LANGUAGE_CODE):
        description_format = _("Roaming %(month)s: chargeable traffic abroad, line %(number)s")
    for row in due.select_related("line"):
        with transaction.atomic():
            # Locked and checked again: two closes at once never both write a charge.
            locked = (
                RoamingSpendMonth.objects.select_for_update()
                .filter(pk=row.pk, extra_charge__isnull=True)
                .first()
            )
            if locked is None:
                continue
            charge = ExtraCharge.objects.create(
                company_id=row.line.company_id,
                line_id=row.line_id,
                period_start=month,
                kind=ExtraChargeKind.CHARGE,
                description=description_format % {"month": f"{month:%m/%Y}", "number": row.line.number},
                amount=to_cents(locked.chargeable_spend),
            )
            RoamingSpendMonth.objects.filter(pk=row.pk).update(extra_charge=charge)
            written += 1
    # Late traffic of the month, rated after its charge was written but before the billing run took it.
    for row in RoamingSpendMonth.objects.filter(
        month=month, extra_charge__billed_on_invoice__isnull=True, extra_charge__isnull=False
    ).select_related("extra_charge"):
        amount = to_cents(row.chargeable_spend)
        if row.extra_charge is not None and row.extra_charge.amount != amount:
            ExtraCharge.objects.filter(pk=row.extra_charge.pk, billed_on_invoice__isnull=True).update(
                amount=amount
            )
    logger.info("roaming charges of %s: %d written", f"{month:%Y-%m}", written)
    return written
