"""Traffic records for the benchmarks, made fast: `fill_traffic` writes them in SQL, not through the feed.

The feed import is benchmarked on its own (bench_traffic_import.py); the report
and fair-use benchmarks only need many records in place. These are made on
PostgreSQL with one `INSERT … SELECT generate_series(…)` straight into the
partitioned table, after making the day partitions it needs the way the
importer does (same names, CREATE TABLE … LIKE and ATTACH PARTITION, under
TRAFFIC_PARTITION_LOCK).

Two mixes (`mix`):

- "even" (the default): plausible rather than realistic, for the reports:
  calls, SMS, MMS and data in and out, mostly to mobiles, a few abroad, every
  other operator as likely as the own network, spread evenly over the days
  and the lines. Fair use would find nearly every line over rule 3 or 4.
- "fair_use": each line's traffic the same fair mix (its k-th record, k = 0,
  1, … in the order the records go, is always the same kind): most of it
  within the network, the rest shared among the five other operator codes, a
  third of the calls and SMS coming in, calls of one to three minutes, so a
  line with up to 100 records a day breaks no rule. One line in 97 is heavy:
  every call and SMS to or from TIM, calls of 10 to 15 minutes, 20 times the
  data: over rules 1, 3 and 4 (or 7) with 50 records in a day, and D1 on an
  offer with unlimited data.

The record ids start with `bench-<company>-<run>-`, so two fills never collide.
`TrafficDailyTotal` rows with `totals=True`, summed from the records just
written as the importer sums them (fair use and the charts read the totals),
and `TrafficRecordId` rows too with `ids_and_totals=True`. The ids'
fingerprints are not the importer's, so a bench record replayed through the
feed would be a conflict.
"""

# ruff: noqa: S608 - the statements hold only this module's constants and integers; values go as parameters

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction

from billing.traffic_import import traffic_partitions_add
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


# The "fair_use" mix. k is the record's rank among its line's (the line is g modulo
# the number of lines), so every line gets the same mix whatever the size, and a
# heavy line (one in 97, on every offer of bench_fair_use's four) its own. Out of
# every 11 calls or SMS, 6 within the network and one to each other operator code.
_FAIR_USE_ROWS = """
SELECT %(prefix)s || g AS record_id, %(company)s::bigint AS company_id,
    (%(lines)s::bigint[])[1 + i] AS line_id,
    ((d + make_time((6 + (g * 7) %% 17)::int, ((g * 13) %% 60)::int, ((g * 17) %% 60)::float8)) AT TIME ZONE 'Europe/Rome') AS started_at,
    d AS day, direction, service,
    CASE WHEN service = 'data' THEN '' WHEN network = 'fixed' THEN '+3902' || lpad((g %% 100000000)::text, 8, '0')
        ELSE '+393' || lpad(((g * 7919) %% 1000000000)::text, 9, '0') END AS other_party,
    CASE WHEN service = 'data' THEN '' WHEN heavy THEN 'TIM'
        ELSE (ARRAY['own', 'own', 'own', 'own', 'own', 'own', 'TIM', 'VODAFONE', 'WINDTRE', 'ILIAD',
            'OTHER'])[1 + (k * 3) %% 11] END AS other_operator,
    CASE WHEN service = 'data' THEN '' ELSE network END AS other_network,
    CASE WHEN service <> 'voice' THEN 0 WHEN heavy THEN 600 + (k * 37) %% 300 ELSE 45 + (k * 37) %% 120 END
        AS duration_s,
    CASE WHEN service <> 'data' THEN 0 WHEN heavy THEN 20 ELSE 1 END * (1000000 + (g * 104729) %% 200000000)
        AS volume_bytes,
    CASE WHEN k %% 23 = 5 THEN 'FR' ELSE 'IT' END AS country,
    k %% 53 = 7 AS topup
FROM (
    SELECT g, i, k, i %% 97 = 0 AS heavy, %(first_day)s::date + (g * %(days)s / %(records)s)::int AS d,
        CASE WHEN k %% 20 < 9 THEN 'voice' WHEN k %% 20 < 14 THEN 'sms' WHEN k %% 20 = 14 THEN 'mms'
            ELSE 'data' END AS service,
        CASE WHEN k %% 20 >= 15 OR k %% 5 NOT IN (1, 3) THEN 'out' ELSE 'in' END AS direction,
        CASE WHEN k %% 13 = 6 THEN 'fixed' ELSE 'mobile' END AS network
    FROM (
        SELECT g, g %% %(line_count)s AS i, g / %(line_count)s AS k
        FROM generate_series(0::bigint, %(records)s - 1) AS g
    ) ranked
) numbered
"""
_MIXES = {"even": _ROWS, "fair_use": _FAIR_USE_ROWS}

# The sums of the records a fill wrote, added to the daily totals as the importer adds
# them (billing.traffic_import.DAILY_TOTALS_ADD: in the order of the unique constraint).
_TOTALS_ORDER = "line_id, day, company_id, service, direction, other_operator, other_network, country, topup"
_TOTALS_ADD = f"""
INSERT INTO billing_trafficdailytotal ({_TOTAL_KEY}, records, duration_s, volume_bytes)
SELECT {_TOTAL_KEY}, count(*), sum(duration_s), sum(volume_bytes) FROM billing_trafficrecord
WHERE day >= %(first_day)s AND day <= %(last_day)s AND company_id = %(company)s
    AND record_id LIKE %(prefix)s || '%%'
GROUP BY {_TOTALS_ORDER}
ORDER BY {_TOTALS_ORDER}
ON CONFLICT ({_TOTALS_ORDER})
DO UPDATE SET records = billing_trafficdailytotal.records + excluded.records,
    duration_s = billing_trafficdailytotal.duration_s + excluded.duration_s,
    volume_bytes = billing_trafficdailytotal.volume_bytes + excluded.volume_bytes
"""


def _id(thing: Company | Line | int) -> int:
    return thing if isinstance(thing, int) else int(thing.pk)


def traffic_partitions_make(days: Sequence[date]) -> None:
    """The day partitions among `days` that are missing, made as the importer makes them."""
    with connection.cursor() as cursor:
        traffic_partitions_add(cursor=cursor, days=days)


def fill_traffic(
    *,
    company: Company | int,
    lines: Sequence[Line | int],
    records: int,
    days: int,
    today: date,
    mix: str = "even",
    totals: bool = False,
    ids_and_totals: bool = False,
) -> None:
    """`records` records of `company`'s `lines` over the `days` Rome days up to `today` (PostgreSQL only).

    `mix`: "even" or "fair_use" (the module's docstring). With `totals` (or
    `ids_and_totals`) the records are added to the daily totals too. The
    lines must be the company's: nothing here checks it, as nothing in the
    database does for the traffic table.
    """
    if connection.vendor != "postgresql":
        raise NotImplementedError("fill_traffic writes PostgreSQL partitions")
    if records <= 0 or days <= 0 or not lines:
        return
    rows = _MIXES[mix]
    first_day = today - timedelta(days=days - 1)
    params: dict[str, Any] = {
        "prefix": f"bench-{_id(company)}-{time.time_ns():x}-",
        "company": _id(company),
        "lines": [_id(line) for line in lines],
        "line_count": len(lines),
        "first_day": first_day,
        "last_day": today,
        "days": days,
        "records": records,
    }
    with transaction.atomic():
        traffic_partitions_make([first_day + timedelta(days=n) for n in range(days)])
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO billing_trafficrecord ({_COLUMNS}) {rows}", params)
            if ids_and_totals:
                cursor.execute(
                    "INSERT INTO billing_trafficrecordid (record_id, fingerprint, day, imported_at) "
                    "SELECT record_id, md5(record_id), day, now() FROM billing_trafficrecord "
                    "WHERE day >= %(first_day)s AND day <= %(last_day)s AND company_id = %(company)s "
                    "AND record_id LIKE %(prefix)s || '%%'",
                    params,
                )
            if totals or ids_and_totals:
                cursor.execute(_TOTALS_ADD, params)
    with connection.cursor() as cursor:
        # The benchmarks measure plans on fresh statistics, not on an empty table's.
        cursor.execute("ANALYZE billing_trafficrecord")
        if totals or ids_and_totals:
            cursor.execute("ANALYZE billing_trafficdailytotal")
