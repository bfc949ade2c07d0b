"""The traffic feed import against `psql \\copy` of the same file (QUALITY.md, "traffic feed import").

A generated feed of BENCH_TRAFFIC_RECORDS records (default 1,000,000; QUALITY.md's
figure is 5,000,000) over BENCH_TRAFFIC_DAYS Rome days (30) for
BENCH_TRAFFIC_LINES lines (2,000) of a bench company: calls, SMS, MMS and data
sessions in and out, some abroad, in time order as a network writes them.

- baseline: `psql -c "\\copy … FROM file CSV HEADER"` into an empty table with the
  feed's columns, typed, partitioned by day like the portal's (one partition per
  Rome day, made beforehand) and with as many indexes: a primary key
  (id, started_at), record_id unique (with the partition key, as PostgreSQL
  requires) and (line, started_at);
- portal: `traffic_import_file` of the same file into empty traffic tables, with
  every rule of CONTRACTS.md, the duplicate search, the partitions it makes,
  the record ids and the daily totals;
- and, for context, the same file imported a second time (all duplicates).

The baseline stands in for the portal's table as closely as a bare COPY of the
file can: the file has the line's number, not its id and company, so the
line index is on the number, and the record-id index stands in for
`TrafficRecordId`'s key. It has no counterpart of `traffic_company_day`
(an append-only index in a feed written in time order, the cheapest of the
portal's four) and writes nothing like the daily totals, which QUALITY.md's
figure does not mention but the import must write in the same transaction.

BENCH_TRAFFIC_TIMINGS=1 logs the time of each statement of the import (its
TimedCursor) on stderr: where the time goes.
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection

from benchmarks.common import Result, psql_run
from billing.traffic_feed import FEED_COLUMNS, ROME

RECORDS = int(os.environ.get("BENCH_TRAFFIC_RECORDS", "1000000"))
LINES = int(os.environ.get("BENCH_TRAFFIC_LINES", "2000"))
DAYS = int(os.environ.get("BENCH_TRAFFIC_DAYS", "30"))
TARGET = 1.5
BENCH_VAT = "01999990005"
FIRST_DAY = date(2026, 10, 1)
OPERATORS = ["own", "TIM", "VODAFONE", "WINDTRE", "ILIAD", "FASTWEB", "OTHER"]
ABROAD = ["FR", "DE", "ES", "CH", "US", "GB", "AT", "GR"]


def line_numbers() -> list[str]:
    return [f"+39349{n:07d}" for n in range(LINES)]


def ensure_lines() -> None:
    """LINES lines of the bench company, numbered +39349…, made once."""
    from selfcare.models import Company, Line, LineKind, Offer

    company, _created = Company.objects.get_or_create(
        vat_number=f"IT{BENCH_VAT}",
        defaults={
            "name": "Benchmark Lines S.r.l.",
            "tax_code": BENCH_VAT,
            "pec": "bench@pec.example.it",
            "registered_office": "Via dei Test 1, Milano",
        },
    )
    offer, _created = Offer.objects.get_or_create(
        code="BENCH-TRAFFIC",
        defaults={
            "name": "Bench Traffic",
            "payment": "postpaid",
            "monthly_fee": 10,
            "unlimited_voice_sms": True,
        },
    )
    numbers = line_numbers()
    have = set(Line.objects.filter(number__in=numbers).values_list("number", flat=True))
    Line.objects.bulk_create(
        Line(company=company, number=number, kind=LineKind.MOBILE, offer=offer, activated_on=date(2024, 1, 1))
        for number in numbers
        if number not in have
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE selfcare_line")


def feed_generate(path: Path, *, records: int, seed: int = 7) -> None:
    """A realistic feed: records spread over DAYS days in time order, each for a random line."""
    randomiser = random.Random(seed)
    numbers = line_numbers()
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=ROME).astimezone(UTC)
    step = DAYS * 86_400 / records
    run = f"{int(time.time()):x}"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(FEED_COLUMNS) + "\n")
        lines: list[str] = []
        for n in range(records):
            moment = (start + timedelta(seconds=n * step)).astimezone(ROME)
            line = numbers[randomiser.randrange(len(numbers))]
            pick = randomiser.random()
            country = ABROAD[randomiser.randrange(len(ABROAD))] if randomiser.random() < 0.05 else "IT"
            direction = "in" if randomiser.random() < 0.4 else "out"
            other = f"+39{randomiser.randrange(3200000000, 3999999999)}"
            operator = OPERATORS[randomiser.randrange(len(OPERATORS))]
            if pick < 0.45:
                fields = [other, operator, "mobile", str(randomiser.randrange(1, 3600)), "0"]
                service = "voice"
            elif pick < 0.70:
                fields, service = [other, operator, "mobile", "0", "0"], "sms"
            elif pick < 0.73:
                fields, service = [other, operator, "mobile", "0", "0"], "mms"
            else:
                fields, service = ["", "", "", "0", str(randomiser.randrange(1000, 500_000_000))], "data"
                direction = "out"
            lines.append(
                f"B{run}-{n:010d},{line},{moment.isoformat(timespec='seconds')},{direction},{service},"
                f"{','.join(fields)},{country},{'1' if randomiser.random() < 0.02 else '0'}\n"
            )
            if len(lines) >= 50_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)


def _partition_bounds() -> list[tuple[str, str, str]]:
    bounds = []
    for offset in range(-1, DAYS + 1):
        day = FIRST_DAY + timedelta(days=offset)
        low = datetime.combine(day, datetime.min.time(), tzinfo=ROME)
        high = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ROME)
        bounds.append((f"bench_traffic_baseline_p{day:%Y%m%d}", low.isoformat(), high.isoformat()))
    return bounds


def baseline_table_create(cursor: Any) -> None:
    cursor.execute("DROP TABLE IF EXISTS bench_traffic_baseline")
    cursor.execute(
        """
        CREATE TABLE bench_traffic_baseline (
            id bigserial NOT NULL,
            record_id varchar(64) NOT NULL,
            line varchar(16) NOT NULL,
            started_at timestamptz NOT NULL,
            direction varchar(3) NOT NULL,
            service varchar(5) NOT NULL,
            other_party varchar(32) NOT NULL,
            other_operator varchar(20) NOT NULL,
            other_network varchar(13) NOT NULL,
            duration_s integer NOT NULL,
            volume_bytes bigint NOT NULL,
            country varchar(2) NOT NULL,
            topup boolean NOT NULL,
            PRIMARY KEY (id, started_at),
            UNIQUE (record_id, started_at)
        ) PARTITION BY RANGE (started_at)
        """
    )
    cursor.execute("CREATE INDEX bench_traffic_baseline_line ON bench_traffic_baseline (line, started_at)")
    for name, low, high in _partition_bounds():
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF bench_traffic_baseline FOR VALUES FROM ('{low}') TO ('{high}')"
        )


def traffic_tables_empty(cursor: Any) -> None:
    """The portal's traffic tables as on a first import: no rows, no partitions."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'billing_trafficrecord'::regclass"
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f"DROP TABLE {name}")
    cursor.execute("TRUNCATE billing_trafficrecordid, billing_trafficdailytotal")


def psql_copy(path: Path) -> float:
    started = time.perf_counter()
    psql_run(
        f"\\copy bench_traffic_baseline (record_id, line, started_at, direction, service, other_party, "
        f"other_operator, other_network, duration_s, volume_bytes, country, topup) FROM '{path}' WITH (FORMAT csv, "
        "HEADER true, FORCE_NOT_NULL (other_party, other_operator, other_network))"
    )
    return time.perf_counter() - started


def checkpoint() -> None:
    """Start each measurement with no dirty pages of the previous one still to write."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def run() -> list[Result]:
    from billing.models import TrafficRecord
    from billing.traffic_import import traffic_import_file

    if os.environ.get("BENCH_TRAFFIC_TIMINGS") == "1":
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("   %(message)s"))
        timings = logging.getLogger("billing.traffic_import")
        timings.addHandler(handler)
        timings.setLevel(logging.DEBUG)
        timings.propagate = False
    ensure_lines()
    with tempfile.TemporaryDirectory(prefix="bench-traffic-") as folder:
        path = Path(folder) / "traffic.csv"
        started = time.perf_counter()
        feed_generate(path, records=RECORDS)
        generated_s = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        print(
            f"   feed of {RECORDS:,} records, {size_mb:.0f} MB, generated in {generated_s:.1f} s", flush=True
        )

        with connection.cursor() as cursor:
            baseline_table_create(cursor)
        checkpoint()
        baseline_s = psql_copy(path)
        print(f"   psql \\copy: {baseline_s:.1f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_traffic_baseline")
            traffic_tables_empty(cursor)
        checkpoint()

        started = time.perf_counter()
        first = traffic_import_file(path=path)
        portal_s = time.perf_counter() - started
        print(
            f"   import: {portal_s:.1f} s, inserted {first.inserted:,}, rejected {len(first.rejected)}",
            flush=True,
        )
        assert first.inserted == RECORDS, first.as_dict() if len(first.rejected) < 20 else len(first.rejected)
        assert TrafficRecord.objects.count() == RECORDS

        checkpoint()
        started = time.perf_counter()
        again = traffic_import_file(path=path)
        replay_s = time.perf_counter() - started
        assert again.duplicates == RECORDS
        assert again.inserted == 0
        print(f"   replay (all duplicates): {replay_s:.1f} s", flush=True)
        with connection.cursor() as cursor:
            traffic_tables_empty(cursor)

    return [
        Result(
            name="traffic-import",
            size=f"{RECORDS:,} records, {DAYS} days",
            portal_s=portal_s,
            baseline_s=baseline_s,
            target_ratio=TARGET,
            notes={
                "file_mb": round(size_mb, 1),
                "lines": LINES,
                "replay_all_duplicates_s": round(replay_s, 2),
                "records_per_s": round(RECORDS / portal_s),
            },
        )
    ]
