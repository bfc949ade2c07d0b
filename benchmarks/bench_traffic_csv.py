"""The 90-day traffic report as CSV over HTTP, against psql's `\\copy` of the same query.

QUALITY.md, "90-day traffic report, CSV over HTTP": one company, 2,000
lines, 5 million records; the portal's time at most 1.25 times the baseline, and
the web process's peak memory flat (under 250 MB whatever the size).

- Data: the bench company's records are written straight into the
  partitioned table with one `INSERT … SELECT generate_series` (partitions
  made as the importer makes them), spread over the last 90 Rome days, so a
  run with the same size reuses them.
- Baseline: `psql -c "\\copy (query) to stdout csv"` into /dev/null, the
  query being exactly the portal's (`traffic_report_queryset` for the
  company's administrator, every line, the whole window, masked), its
  parameters inlined.
- Portal: `GET /api/v1/traffic/export.csv` with a token, through gunicorn
  (gthread, as deployed), read to the end and thrown away. The peak RSS of
  the gunicorn worker (VmHWM) is read after a small download and after the
  full ones: flat means the same.

Sizes: BENCH_TRAFFIC_CSV_RECORDS (5,000,000), BENCH_TRAFFIC_CSV_LINES (2,000),
BENCH_TRAFFIC_CSV_REPEAT (3). Use a database of its own (the import
benchmark empties the traffic tables of the database it runs in).
"""

from __future__ import annotations

import os
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from benchmarks.common import Result, best_of, psql_run, start_gunicorn

RECORDS = int(os.environ.get("BENCH_TRAFFIC_CSV_RECORDS", "5000000"))
LINES = int(os.environ.get("BENCH_TRAFFIC_CSV_LINES", "2000"))
REPEAT = int(os.environ.get("BENCH_TRAFFIC_CSV_REPEAT", "3"))
PORT = int(os.environ.get("BENCH_TRAFFIC_CSV_PORT", "8767"))
TARGET_RATIO = 1.25
RSS_TARGET_MB = 250.0

BENCH_VAT = "02999990004"
BENCH_EMAIL = "bench.traffic.csv@bench.example"
READ_BYTES = 1 << 20


def ensure_company() -> tuple[Any, Any]:
    """The bench company, its administrator and LINES lines numbered +39350…, made once."""
    from selfcare.models import Company, Line, LineKind, Membership, Offer, Role, User

    company, _created = Company.objects.get_or_create(
        vat_number=f"IT{BENCH_VAT}",
        defaults={
            "name": "Benchmark Traffico S.r.l.",
            "tax_code": BENCH_VAT,
            "pec": "bench.traffic@pec.example.it",
            "registered_office": "Via dei Test 2, Milano",
        },
    )
    user = User.objects.filter(email=BENCH_EMAIL).first() or User.objects.create_user(
        email=BENCH_EMAIL, password=None, name="Bench Traffic Admin"
    )
    membership, _created = Membership.objects.get_or_create(
        user=user, company=company, defaults={"role": Role.ADMIN}
    )
    offer, _created = Offer.objects.get_or_create(
        code="BENCH-TRAFFIC-CSV",
        defaults={"name": "Bench Traffic CSV", "payment": "postpaid", "monthly_fee": 10},
    )
    numbers = [f"+39350{n:07d}" for n in range(LINES)]
    have = set(Line.objects.filter(company=company).values_list("number", flat=True))
    Line.objects.bulk_create(
        Line(company=company, number=number, kind=LineKind.MOBILE, offer=offer, activated_on=date(2024, 1, 1))
        for number in numbers
        if number not in have
    )
    return company, membership


# One statement, all in PostgreSQL: record g at an even step through the window,
# for a line picked by a multiplicative hash, a mix of calls, SMS, MMS and data.
_RECORDS_INSERT = """
INSERT INTO billing_trafficrecord (
    record_id, company_id, line_id, started_at, day, direction, service, other_party,
    other_operator, other_network, duration_s, volume_bytes, country, topup
)
SELECT 'BTC' || g, %(company)s, (%(lines)s::bigint[])[1 + (g * 7919) %% %(line_count)s],
       t.at, (t.at AT TIME ZONE 'Europe/Rome')::date,
       CASE WHEN k.kind = 'data' OR g %% 5 >= 2 THEN 'out' ELSE 'in' END, k.kind,
       CASE WHEN k.kind = 'data' THEN '' ELSE '+39' || (3200000000 + (g * 104729) %% 799999999)::text END,
       CASE WHEN k.kind = 'data' THEN '' ELSE (ARRAY['own','TIM','VODAFONE','WINDTRE','ILIAD'])[1 + g %% 5] END,
       CASE WHEN k.kind = 'data' THEN '' ELSE 'mobile' END,
       CASE WHEN k.kind = 'voice' THEN 1 + (g * 31) %% 3600 ELSE 0 END,
       CASE WHEN k.kind = 'data' THEN 1000 + (g * 7907) %% 500000000 ELSE 0 END,
       CASE WHEN g %% 20 = 0 THEN 'FR' ELSE 'IT' END,
       g %% 50 = 0
FROM generate_series(0::bigint, %(records)s::bigint - 1) AS g
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (g * %(step)s) * interval '1 second' AS at) AS t
CROSS JOIN LATERAL (
    SELECT CASE WHEN g %% 100 < 45 THEN 'voice' WHEN g %% 100 < 70 THEN 'sms'
                WHEN g %% 100 < 73 THEN 'mms' ELSE 'data' END AS kind
) AS k
"""


def ensure_records(company: Any) -> None:
    """RECORDS records of the company over the report's window; kept if already there."""
    from django.utils import timezone

    from billing.traffic_import import traffic_partitions_add
    from billing.traffic_report import ROME, report_window
    from selfcare.models import Line

    first, last = report_window()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM billing_trafficrecord WHERE company_id = %s AND day BETWEEN %s AND %s",
            [company.pk, first, last],
        )
        (have,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM billing_trafficrecord WHERE company_id = %s", [company.pk])
        (have_all,) = cursor.fetchone()
    if have == RECORDS == have_all:
        print(f"   {RECORDS:,} records already there", flush=True)
        return
    start = datetime.combine(first, datetime.min.time(), tzinfo=ROME)
    span = (timezone.now() - timedelta(minutes=5) - start).total_seconds()
    lines = list(Line.objects.filter(company=company).order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_trafficrecord WHERE company_id = %s", [company.pk])
        window = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        traffic_partitions_add(cursor=cursor, days=window)
        cursor.execute(
            _RECORDS_INSERT,
            {
                "company": company.pk,
                "lines": lines,
                "line_count": len(lines),
                "records": RECORDS,
                "start": start,
                "step": span / RECORDS,
            },
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_trafficrecord")
    print(f"   {RECORDS:,} records written in {time.perf_counter() - started:.1f} s", flush=True)


def report_sql(membership: Any) -> str:
    """The portal's query with its parameters inlined, on one line for psql's \\copy."""
    import psycopg

    from billing.traffic_report import TrafficFilters, report_window, traffic_report_queryset

    first, last = report_window()
    queryset = traffic_report_queryset(
        membership=membership, filters=TrafficFilters(first_day=first, last_day=last), clear_windows=[]
    )
    sql, params = queryset.query.sql_with_params()
    connection.ensure_connection()
    with psycopg.ClientCursor(connection.connection) as cursor:
        inlined = cursor.mogrify(sql, params)
    return " ".join(inlined.split())


def psql_copy(sql: str) -> None:
    psql_run(f"\\copy ({sql}) to stdout csv")


def download(url: str, token: str) -> int:
    """The CSV read to the end and thrown away; its size in bytes."""
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})  # noqa: S310 (http to our own server)
    size = 0
    with urllib.request.urlopen(request, timeout=3600) as response:  # noqa: S310 (the same)
        assert response.status == 200, response.status
        while block := response.read(READ_BYTES):
            size += len(block)
    return size


def worker_peak_rss_mb(master_pid: int) -> float:
    """The peak resident memory (VmHWM) of the gunicorn workers, the largest, in MB."""
    peaks = []
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def run() -> list[Result]:
    from selfcare.services.tokens import api_token_create

    if connection.vendor != "postgresql":
        print("   skipped: the CSV benchmark needs PostgreSQL")
        return []
    company, membership = ensure_company()
    ensure_records(company)
    _token, key = api_token_create(membership=membership, name="Benchmark CSV", created_by=None)
    sql = report_sql(membership)

    psql_copy(sql)  # warm the cache: both sides then read the same pages from memory
    baseline_s = best_of(REPEAT, lambda: psql_copy(sql))
    print(f"   psql \\copy: {baseline_s:.2f} s", flush=True)

    url = f"http://127.0.0.1:{PORT}/api/v1/traffic/export.csv"
    server = start_gunicorn(port=PORT, workers=1, threads=4)
    try:
        # A small download first: the worker's memory with the code loaded and one request served.
        download(f"{url}?line=%2B393500000000", key)
        small_rss = worker_peak_rss_mb(server.pid)
        size = download(url, key)
        portal_s = best_of(REPEAT, lambda: download(url, key))
        peak_rss = worker_peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"   portal: {portal_s:.2f} s for {size / 1e6:.0f} MB; worker peak RSS {small_rss:.0f} MB after a "
        f"small download, {peak_rss:.0f} MB after the full ones",
        flush=True,
    )
    return [
        Result(
            name="traffic-csv-over-http",
            size=f"{RECORDS:,} records, {LINES:,} lines",
            portal_s=portal_s,
            baseline_s=baseline_s,
            target_ratio=TARGET_RATIO,
            notes={
                "csv_bytes": size,
                "worker_peak_rss_mb_small": round(small_rss, 1),
                "worker_peak_rss_mb_full": round(peak_rss, 1),
                "rss_target_mb": RSS_TARGET_MB,
                "rss_verdict": "ok" if peak_rss < RSS_TARGET_MB else "OVER TARGET",
                "repeat": REPEAT,
                "cpus": os.cpu_count(),
            },
        )
    ]
