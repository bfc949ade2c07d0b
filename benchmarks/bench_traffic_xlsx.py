"""The 90-day traffic report as XLSX, built by the background task, against a bare xlsxwriter loop.

QUALITY.md, "90-day traffic report, XLSX": 1 million records, the portal's
build at most 1.3 times the baseline.

- portal: `billing.traffic_xlsx.traffic_export_build`, the Celery task's
  function, for an export of every record of the bench company's admin:
  the report's query read through a server-side cursor in chunks, the
  typed writer (Excel datetimes in Rome time, numbers, translated labels, a
  new sheet past 1,048,575 rows), the progress written to the row, the file
  stored in private storage, the row claimed READY and the notification.
- baseline: the same rows, fetched by the same query in the same chunks,
  written with `worksheet.write_row` by a bare xlsxwriter loop in
  constant-memory mode (a header, and a new sheet past the same limit).

Each side runs in a forked process of its own, so that its peak memory
(ru_maxrss) is its own: constant-memory writing should keep both flat.

The records are made once with INSERT … SELECT over generate_series into
the partitioned table (day partitions made as the importer makes them) and
reused by later runs. Sizes are parameters: BENCH_XLSX_RECORDS (1000000),
BENCH_XLSX_LINES (200), BENCH_XLSX_REPEAT (1).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import tempfile
import time
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from django.db import connection, connections, transaction
from django.utils import timezone

from benchmarks.common import Result

RECORDS = int(os.environ.get("BENCH_XLSX_RECORDS", "1000000"))
LINES = int(os.environ.get("BENCH_XLSX_LINES", "200"))
REPEAT = int(os.environ.get("BENCH_XLSX_REPEAT", "1"))
TARGET_RATIO = 1.3
# The records lie in the last DAYS Rome days before today: inside the report's window whenever it runs.
DAYS = 30
BENCH_VAT = "09876543219"
BENCH_EMAIL = "bench-xlsx@example.it"


def ensure_company() -> tuple[int, int]:
    """The bench company with LINES lines and an administrator: (company id, membership id)."""
    from selfcare.models import Company, Line, LineKind, Membership, Offer, Role, User

    company, _created = Company.objects.get_or_create(
        vat_number=f"IT{BENCH_VAT}",
        defaults={
            "name": "Benchmark XLSX S.r.l.",
            "tax_code": BENCH_VAT,
            "pec": "bench-xlsx@pec.example.it",
            "registered_office": "Via dei Test 1, Milano",
        },
    )
    offer, _created = Offer.objects.get_or_create(
        code="BENCH-XLSX",
        defaults={
            "name": "Bench XLSX",
            "payment": "postpaid",
            "monthly_fee": 10,
            "unlimited_voice_sms": True,
        },
    )
    # +39351: a range no other benchmark uses (bench_fair_use's +39348 would collide in one database).
    numbers = [f"+39351{n:07d}" for n in range(LINES)]
    have = set(Line.objects.filter(company=company, number__in=numbers).values_list("number", flat=True))
    Line.objects.bulk_create(
        Line(
            company=company,
            number=number,
            kind=LineKind.MOBILE,
            offer=offer,
            activated_on=timezone.localdate(),
        )
        for number in numbers
        if number not in have
    )
    user, _created = User.objects.get_or_create(email=BENCH_EMAIL, defaults={"name": "Bench XLSX"})
    membership, _created = Membership.objects.get_or_create(
        user=user, company=company, defaults={"role": Role.ADMIN}
    )
    return company.pk, membership.pk


def ensure_records(company_id: int, records: int = RECORDS) -> None:
    """`records` records of the bench company over the last DAYS days, made once (again if the size or the days changed).

    RECORDS by default; bench_scaling passes its own size.
    """
    from billing.traffic_import import traffic_partitions_add

    today = timezone.localdate()
    first = today - timedelta(days=DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(day) FROM billing_trafficrecord WHERE company_id = %s AND day >= %s",
            [company_id, first],
        )
        count, oldest = cursor.fetchone()
        if count == records and oldest == first:
            return
        started = time.perf_counter()
        cursor.execute("DELETE FROM billing_trafficrecord WHERE company_id = %s", [company_id])
        # The day partitions, made as the importer makes them, under its lock until commit.
        with transaction.atomic():
            traffic_partitions_add(cursor=cursor, days=[first + timedelta(days=n) for n in range(DAYS + 1)])
        # Evenly spread over the days, Rome time, each on one of the company's lines; a quarter data
        # sessions (no other party), the rest calls and SMS to mobiles.
        cursor.execute(
            """
            WITH line AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM selfcare_line WHERE company_id = %(company)s
            ), record AS (
                SELECT n, (%(first)s::timestamp + (n * %(step)s) * interval '1 second') AT TIME ZONE 'Europe/Rome' AS at
                FROM generate_series(0, %(records)s - 1) AS n
            )
            INSERT INTO billing_trafficrecord (record_id, company_id, line_id, started_at, day, direction, service,
                                               other_party, other_operator, other_network, duration_s, volume_bytes,
                                               country, topup)
            SELECT 'bench-xlsx-' || n, %(company)s, line.id, at, (at AT TIME ZONE 'Europe/Rome')::date,
                   CASE WHEN n %% 5 < 2 THEN 'in' ELSE 'out' END,
                   CASE WHEN n %% 4 = 0 THEN 'data' WHEN n %% 4 = 1 THEN 'sms' ELSE 'voice' END,
                   CASE WHEN n %% 4 = 0 THEN '' ELSE '+39347' || lpad((n %% 10000000)::text, 7, '0') END,
                   CASE WHEN n %% 4 = 0 THEN '' ELSE (ARRAY['TIM', 'VODAFONE', 'ILIAD', 'own'])[1 + n %% 4] END,
                   CASE WHEN n %% 4 = 0 THEN '' ELSE 'mobile' END,
                   CASE WHEN n %% 4 > 1 THEN 1 + n %% 3600 ELSE 0 END,
                   CASE WHEN n %% 4 = 0 THEN 1000 + n %% 500000000 ELSE 0 END,
                   CASE WHEN n %% 20 = 0 THEN 'FR' ELSE 'IT' END,
                   n %% 50 = 0
            FROM record JOIN line ON line.k = n %% %(lines)s
            """,
            {
                "company": company_id,
                "first": first.isoformat(),
                "step": DAYS * 86_400 / records,
                "records": records,
                "lines": LINES,
            },
        )
        cursor.execute("ANALYZE billing_trafficrecord")
        print(f"   made {records} records in {time.perf_counter() - started:.1f} s", flush=True)


def _filters() -> Any:
    from billing.traffic_report import TrafficFilters, report_window

    first, last = report_window()
    return TrafficFilters(first_day=first, last_day=last)


def portal_build(membership_id: int) -> tuple[int, int]:
    """The task's function on a fresh export of every record: (rows written, size of the stored file)."""
    from billing.models import TrafficExport
    from billing.traffic_xlsx import filters_as_json, traffic_export_build
    from selfcare.models import Membership

    membership = Membership.objects.get(pk=membership_id)
    export = TrafficExport.objects.create(
        company_id=membership.company_id,
        membership=membership,
        filters=filters_as_json(_filters()),
        language="it",
        rows_total=RECORDS,
    )
    if not traffic_export_build(export_id=export.pk):
        raise SystemExit(f"export {export.pk} was not built")
    export.refresh_from_db()
    size = export.file.size
    export.file.delete(save=False)
    TrafficExport.objects.filter(pk=export.pk).delete()
    return export.rows_done, size


def baseline_build(membership_id: int) -> tuple[int, int]:
    """The same rows by the same query in the same chunks, written by a bare constant-memory loop."""
    import xlsxwriter

    from billing.traffic_report import FEED_COLUMNS, traffic_report_queryset
    from billing.traffic_xlsx import CHUNK_ROWS, SHEET_ROWS
    from selfcare.models import Membership

    membership = Membership.objects.get(pk=membership_id)
    rows = traffic_report_queryset(membership=membership, filters=_filters(), clear_windows=[])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "baseline.xlsx"
        workbook = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "tmpdir": folder, "use_zip64": True}
        )
        worksheet = None
        row_number = SHEET_ROWS
        written = 0
        for row in rows.iterator(chunk_size=CHUNK_ROWS):
            if row_number >= SHEET_ROWS:
                worksheet = workbook.add_worksheet()
                worksheet.write_row(0, 0, FEED_COLUMNS)
                row_number = 0
            row_number += 1
            worksheet.write_row(row_number, 0, row)  # type: ignore[union-attr]  # opened above
            written += 1
        workbook.close()
        return written, path.stat().st_size


def _warm_up() -> None:
    """What a worker loads once, at its first task, whatever the size: the URLs, the notification service.

    Left out of the timing (seconds on a busy machine, for a fresh process only).
    """
    from django.urls import get_resolver

    import selfcare.services.notifications  # noqa: F401

    get_resolver().url_patterns  # noqa: B018 (loads every URL module)


def _child(action: str, membership_id: int, results: Connection) -> None:
    _warm_up()
    started = time.perf_counter()
    rows, size = (portal_build if action == "portal" else baseline_build)(membership_id)
    elapsed = time.perf_counter() - started
    connections.close_all()
    results.send((elapsed, rows, size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def timed_in_child(action: str, membership_id: int) -> tuple[float, int, int, int]:
    """(seconds, rows, file bytes, peak KiB) of `action` run in a forked process of its own."""
    connections.close_all()  # a forked child must not share the parent's connection
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(action, membership_id, send))
    process.start()
    outcome: tuple[float, int, int, int] = receive.recv()
    process.join()
    if process.exitcode:
        raise SystemExit(f"the {action} build failed with exit code {process.exitcode}")
    return outcome


def run() -> list[Result]:
    company_id, membership_id = ensure_company()
    ensure_records(company_id)
    portal_runs, baseline_runs = [], []
    for _ in range(REPEAT):
        # Baseline first, then the portal: the portal never profits from a cache the baseline warmed alone.
        baseline_runs.append(timed_in_child("baseline", membership_id))
        portal_runs.append(timed_in_child("portal", membership_id))
    portal = min(portal_runs)
    baseline = min(baseline_runs)
    print(
        f"   portal {portal[0]:.1f} s for {portal[1]} rows ({portal[2] / 1e6:.1f} MB, peak {portal[3] / 1024:.0f} MiB); "
        f"baseline {baseline[0]:.1f} s ({baseline[2] / 1e6:.1f} MB, peak {baseline[3] / 1024:.0f} MiB)",
        flush=True,
    )
    return [
        Result(
            name="traffic-xlsx",
            size=f"{RECORDS} records, {LINES} lines",
            portal_s=portal[0],
            baseline_s=baseline[0],
            target_ratio=TARGET_RATIO,
            notes={
                "rows": portal[1],
                "baseline_rows": baseline[1],
                "portal_file_bytes": portal[2],
                "baseline_file_bytes": baseline[2],
                "portal_peak_kib": portal[3],
                "baseline_peak_kib": baseline[3],
                "repeat": REPEAT,
                "cpus": os.cpu_count(),
            },
        )
    ]
