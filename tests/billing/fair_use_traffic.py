"""Traffic for the fair-use tests: records written straight into the table (its day partition made first),
and added to the daily totals as the importer adds them (the checks read the totals)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from billing.models import TrafficDailyTotal, TrafficRecord
from billing.traffic_feed import ROME
from billing.traffic_import import traffic_partitions_add
from selfcare.models import Line

DAY = date(2026, 11, 20)
_ids = itertools.count(1)


def partitions_make(days: set[date]) -> None:
    """The day partitions missing among `days`, made as the importer makes them (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        traffic_partitions_add(cursor=cursor, days=days)


def record(
    line: Line,
    *,
    service: str = "voice",
    direction: str = "out",
    operator: str = "own",
    network: str = "mobile",
    seconds: int = 0,
    volume: int = 0,
    day: date = DAY,
    topup: bool = False,
    hour: int = 10,
) -> TrafficRecord:
    """One record of `line` on the Rome `day`; not saved."""
    data = service == "data"
    return TrafficRecord(
        record_id=f"fu-{next(_ids)}",
        company_id=line.company_id,
        line_id=line.pk,
        started_at=datetime.combine(day, time(hour), tzinfo=ROME),
        day=day,
        direction="out" if data else direction,
        service=service,
        other_party="" if data else "+393331112222",
        other_operator="" if data else operator,
        other_network="" if data else network,
        duration_s=seconds if service == "voice" else 0,
        volume_bytes=volume if data else 0,
        country="IT",
        topup=topup,
    )


def calls(line: Line, count: int, *, seconds: int = 60, **kwargs: Any) -> list[TrafficRecord]:
    return [record(line, seconds=seconds, **kwargs) for _ in range(count)]


def texts(line: Line, count: int, **kwargs: Any) -> list[TrafficRecord]:
    return [record(line, service="sms", **kwargs) for _ in range(count)]


def mixed(
    line: Line, count: int, *, service: str = "voice", seconds: int = 60, **kwargs: Any
) -> list[TrafficRecord]:
    """`count` calls (or SMS) to fixed numbers, 4 in 10 within the network, 3 to TIM, 3 to Vodafone: no share over."""
    operators = ["own"] * 4 + ["TIM"] * 3 + ["VODAFONE"] * 3
    return [
        record(line, service=service, seconds=seconds, operator=operators[n % 10], network="fixed", **kwargs)
        for n in range(count)
    ]


def write(*groups: list[TrafficRecord] | TrafficRecord) -> None:
    """Save the records, and add them to their line's daily totals as `billing.traffic_import` does."""
    rows: list[TrafficRecord] = []
    for item in groups:
        rows.extend(item if isinstance(item, list) else [item])
    partitions_make({row.day for row in rows})
    TrafficRecord.objects.bulk_create(rows, batch_size=2000)
    totals_add(rows)


def totals_add(rows: list[TrafficRecord]) -> None:
    """The records' sums added to the daily totals, one row per line, day and kind (the unique constraint)."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        key = (
            row.company_id,
            row.line_id,
            row.day,
            row.service,
            row.direction,
            row.other_operator,
            row.other_network,
            row.country,
            row.topup,
        )
        figures = sums.setdefault(key, [0, 0, 0])
        figures[0] += 1
        figures[1] += row.duration_s
        figures[2] += row.volume_bytes
    for key, (count, seconds, volume) in sums.items():
        fields = dict(
            zip(
                (
                    "company_id",
                    "line_id",
                    "day",
                    "service",
                    "direction",
                    "other_operator",
                    "other_network",
                    "country",
                    "topup",
                ),
                key,
                strict=True,
            )
        )
        added = TrafficDailyTotal.objects.filter(**fields).update(
            records=F("records") + count,
            duration_s=F("duration_s") + seconds,
            volume_bytes=F("volume_bytes") + volume,
        )
        if not added:
            TrafficDailyTotal.objects.create(**fields, records=count, duration_s=seconds, volume_bytes=volume)
