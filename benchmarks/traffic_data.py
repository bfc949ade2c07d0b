"""Traffic records for the benchmarks, made fast: `fill_traffic` writes them in SQL, not through the feed.

The feed import is benchmarked on its own (bench_traffic_import.py); the report
benchmarks (CSV, XLSX, pages) only need many records in place. These are
made on PostgreSQL with one `INSERT … SELECT generate_series(…)` straight
into the partitioned table, after making the day partitions it needs the way
the importer does (same names, CREATE TABLE … LIKE and ATTACH PARTITION,
under TRAFFIC_PARTITION_LOCK).

The records are plausible rather than realistic: calls, SMS, MMS and data in
and out, mostly to mobiles, a few abroad, spread evenly over the days and
the lines. Their record ids start with `bench-<company>-<run>-`, so two fills
never collide. `TrafficRecordId` and `TrafficDailyTotal` rows only with
`ids_and_totals=True` (a third more time): the reports read the records, fair
use and the charts read the totals. The ids' fingerprints are not the
importer's, so a bench record replayed through the feed would be a conflict.
"""

# ruff: noqa: S608 - the statements hold only this module's constants and integers; values go as parameters

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction

from billing.traffic_import import TRAFFIC_PARTITION_LOCK, traffic_partition_name
from billing.traffic_retention import traffic_partitions
from selfcare.models import Company, Line

_COLUMNS = (
    "record_id, company_id, line_id, started_at, day, direction, service, other_party, "
    "other_operator, other_network, duration_s, volume_bytes, country, topup"
)
_TOTAL_KEY = "company_id, line_id, day, service, direction, other_operator, other_network, country, topup"

# One row per g in 0 … records-1: the day goes up with g (records in time order),
# the line and everything else are spread by cheap arithmetic on g. Hours 6 to 22,
# never 2 or 3 (the night the clocks go forward has no 02:00-03:00).
_ROWS = """
SELECT %(prefix)s || g AS record_id, %(company)s::bigint AS company_id,
    (%(lines)s::bigint[])[1 + g %% %(line_count)s] AS line_id,
    ((d + make_time((6 + (g * 7) %% 17)::int, ((g * 13) %% 60)::int, ((g * 17) %% 60)::float8)) AT TIME ZONE 'Europe/Rome') AS started_at,
    d AS day, direction, service,
    CASE WHEN service = 'data' THEN '' WHEN network = 'fixed' THEN '+3902' || lpad((g %% 100000000)::text, 8, '0')
        WHEN network = 'international' THEN '+33' || lpad((g %% 1000000000)::text, 9, '0')
        ELSE '+393' || lpad(((g * 7919) %% 1000000000)::text, 9, '0') END AS other_party,
    CASE WHEN service = 'data' THEN ''
        ELSE (ARRAY['own', 'TIM', 'VODAFONE', 'WINDTRE', 'ILIAD', 'OTHER'])[1 + (g / 3) %% 6] END AS other_operator,
    CASE WHEN service = 'data' THEN '' ELSE network END AS other_network,
    CASE WHEN service = 'voice' THEN 5 + (g * 31) %% 900 ELSE 0 END AS duration_s,
    CASE WHEN service = 'data' THEN 1000 + (g * 104729) %% 300000000 ELSE 0 END AS volume_bytes,
    CASE WHEN g %% 41 = 0 THEN 'FR' WHEN g %% 97 = 0 THEN 'CH' ELSE 'IT' END AS country,
    g %% 53 = 0 AS topup
FROM (
    SELECT g, %(first_day)s::date + (g * %(days)s / %(records)s)::int AS d,
        CASE WHEN g %% 20 < 9 THEN 'voice' WHEN g %% 20 < 14 THEN 'sms' WHEN g %% 20 = 14 THEN 'mms'
            ELSE 'data' END AS service,
        CASE WHEN g %% 20 >= 15 OR (g / 7) %% 5 >= 2 THEN 'out' ELSE 'in' END AS direction,
        CASE WHEN g %% 11 = 0 THEN 'fixed' WHEN g %% 37 = 0 THEN 'international' ELSE 'mobile' END AS network
    FROM generate_series(0::bigint, %(records)s - 1) AS g
) numbered
"""


def _id(thing: Company | Line | int) -> int:
    return thing if isinstance(thing, int) else int(thing.pk)


def traffic_partitions_make(days: Sequence[date]) -> None:
    """The day partitions among `days` that are missing, made as the importer makes them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TRAFFIC_PARTITION_LOCK])
        have = {partition.name for partition in traffic_partitions(cursor)}
        for day in sorted(set(days)):
            name = traffic_partition_name(day)
            if name in have:
                continue
            cursor.execute(f"CREATE TABLE {name} (LIKE billing_trafficrecord)")
            cursor.execute(
                f"ALTER TABLE billing_trafficrecord ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')"
            )


def fill_traffic(
    *,
    company: Company | int,
    lines: Sequence[Line | int],
    records: int,
    days: int,
    today: date,
    ids_and_totals: bool = False,
) -> None:
    """`records` records of `company`'s `lines` over the `days` Rome days up to `today` (PostgreSQL only).

    The lines must be the company's: nothing here checks it, as nothing in
    the database does for the traffic table.
    """
    if connection.vendor != "postgresql":
        raise NotImplementedError("fill_traffic writes PostgreSQL partitions")
    if records <= 0 or days <= 0 or not lines:
        return
    first_day = today - timedelta(days=days - 1)
    params: dict[str, Any] = {
        "prefix": f"bench-{_id(company)}-{time.time_ns():x}-",
        "company": _id(company),
        "lines": [_id(line) for line in lines],
        "line_count": len(lines),
        "first_day": first_day,
        "days": days,
        "records": records,
    }
    with transaction.atomic():
        traffic_partitions_make([first_day + timedelta(days=n) for n in range(days)])
        with connection.cursor() as cursor:
            if not ids_and_totals:
                cursor.execute(f"INSERT INTO billing_trafficrecord ({_COLUMNS}) {_ROWS}", params)
            else:
                cursor.execute(f"CREATE TEMP TABLE bench_traffic ON COMMIT DROP AS {_ROWS}", params)
                cursor.execute(
                    f"INSERT INTO billing_trafficrecord ({_COLUMNS}) SELECT {_COLUMNS} FROM bench_traffic"
                )
                cursor.execute(
                    "INSERT INTO billing_trafficrecordid (record_id, fingerprint, day, imported_at) "
                    "SELECT record_id, md5(record_id), day, now() FROM bench_traffic"
                )
                cursor.execute(
                    f"""
                    INSERT INTO billing_trafficdailytotal ({_TOTAL_KEY}, records, duration_s, volume_bytes)
                    SELECT {_TOTAL_KEY}, count(*), sum(duration_s), sum(volume_bytes) FROM bench_traffic
                    GROUP BY {_TOTAL_KEY}
                    ON CONFLICT (line_id, day, company_id, service, direction, other_operator, other_network,
                        country, topup)
                    DO UPDATE SET records = billing_trafficdailytotal.records + excluded.records,
                        duration_s = billing_trafficdailytotal.duration_s + excluded.duration_s,
                        volume_bytes = billing_trafficdailytotal.volume_bytes + excluded.volume_bytes
                    """
                )
                cursor.execute("DROP TABLE bench_traffic")
    with connection.cursor() as cursor:
        # The report benchmarks measure plans on fresh statistics, not on an empty table's.
        cursor.execute("ANALYZE billing_trafficrecord")
