"""Fair-use checks against one bare aggregate over the same records (QUALITY.md, "fair-use check").

BENCH_FAIR_USE_LINES lines (default 200,000, QUALITY.md's figure) of a bench
company, half on offers without unlimited calls (rules 1-6 apply), a quarter
with unlimited calls (6-8), a quarter with unlimited data too (D1, D2), and
BENCH_FAIR_USE_RECORDS records (10,000,000, QUALITY's) in one Rome day, plus
BENCH_FAIR_USE_MONTH_RECORDS (10,000,000) spread over the month before it,
written by `fill_traffic` with its "fair_use" mix (most lines within the
policy, one in 97 heavy) and added to the daily totals as the importer adds them.

The portal's side runs the run's chunks on BENCH_FAIR_USE_WORKERS (2) threads at once,
each with its own connection, as that many Celery workers would take them
(the baseline, one statement, uses the same two cores through parallel query).

- day, baseline: `SELECT line_id, sum(duration_s) FROM billing_trafficrecord WHERE day = D
  GROUP BY line_id`, fetched (the raw records, as QUALITY.md says); portal: the
  daily run (every daily rule, its chunks, the findings written);
- month, baseline: the same aggregate over the month's records; portal: the
  monthly run (rules 2-5, D1 and D2, with the offers' averages).

The checks read the daily totals (DOMAIN.md, "Retention"), the baseline the
records. The automatic warnings are left out (the rules' `warns_automatically`
off during the measure): they are a notification per finding, not the check.
Findings are deleted between repeats, so each repeat writes them. Each result
prints its ratio against the baseline of the same run.
"""

from __future__ import annotations

import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from django.db import connection
from django.db.models import Sum

from benchmarks.common import Result, best_of
from benchmarks.traffic_data import fill_traffic

LINES = int(os.environ.get("BENCH_FAIR_USE_LINES", "200000"))
RECORDS = int(os.environ.get("BENCH_FAIR_USE_RECORDS", "10000000"))
MONTH_RECORDS = int(os.environ.get("BENCH_FAIR_USE_MONTH_RECORDS", "10000000"))
REPEAT = int(os.environ.get("BENCH_FAIR_USE_REPEAT", "3"))
# Chunk workers at once, like Celery workers: the machine's two cores (QUALITY.md's 2-core figure).
WORKERS = int(os.environ.get("BENCH_FAIR_USE_WORKERS", "2"))
TARGET = 2.0
DAY = date(2026, 9, 15)
MONTH = date(2026, 8, 1)
MONTH_LAST = date(2026, 8, 31)
BENCH_VAT = "01999990013"


def _lines(count: int = LINES) -> tuple[int, list[int]]:
    """The bench company and the ids of its first `count` lines (made if missing); bench_scaling passes its own size."""
    from selfcare.models import Company, Line, LineKind, Offer

    company, _created = Company.objects.get_or_create(
        vat_number=f"IT{BENCH_VAT}",
        defaults={"name": "Benchmark Fair Use S.r.l.", "tax_code": BENCH_VAT, "pec": "fu@pec.example.it"},
    )
    offers = [
        Offer.objects.get_or_create(
            code=code,
            defaults={
                "name": code,
                "payment": "postpaid",
                "monthly_fee": 10,
                "unlimited_voice_sms": unl,
                "unlimited_data": data,
            },
        )[0]
        for code, unl, data in (
            ("BENCH-FU-BASE", False, False),
            ("BENCH-FU-BASE2", False, False),
            ("BENCH-FU-UNL", True, False),
            ("BENCH-FU-DATA", True, True),
        )
    ]
    have = Line.objects.filter(company=company).count()
    Line.objects.bulk_create(
        (
            Line(
                company=company,
                number=f"+39348{n:07d}",
                kind=LineKind.MOBILE,
                offer=offers[n % 4],
                activated_on=date(2024, 1, 1),
            )
            for n in range(have, count)
        ),
        batch_size=5000,
    )
    ids = list(Line.objects.filter(company=company).order_by("pk").values_list("pk", flat=True)[:count])
    return int(company.pk), ids


def _aggregate(first: date, last: date) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT line_id, sum(duration_s) FROM billing_trafficrecord WHERE day >= %s AND day <= %s GROUP BY line_id",
            [first, last],
        )
        cursor.fetchall()


def _traffic(*, company: int, lines: list[int], records: int, first: date, last: date) -> None:
    """The period's bench traffic, unless it is there already: records and their daily totals, fair-use mix.

    Traffic left by an earlier run with another mix or size, or without
    totals, is dropped with its totals and made again.
    """
    from billing.models import TrafficDailyTotal, TrafficRecord

    period = {"company_id": company, "day__gte": first, "day__lte": last}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT line_id) FROM billing_trafficrecord "
            "WHERE company_id = %s AND day >= %s AND day <= %s",
            [company, first, last],
        )
        have, have_lines = cursor.fetchone()
    summed = TrafficDailyTotal.objects.filter(**period).aggregate(n=Sum("records"))["n"] or 0
    if have == records and summed == records and have_lines == len(lines):
        return
    TrafficRecord.objects.filter(**period).delete()
    TrafficDailyTotal.objects.filter(**period).delete()
    fill_traffic(
        company=company,
        lines=lines,
        records=records,
        days=(last - first).days + 1,
        today=last,
        mix="fair_use",
        totals=True,
    )


def _run(period: str, start: date) -> None:
    """The period's run as the Celery workers do it: WORKERS of them taking its chunks at once, each
    with its own connection (the baseline's parallel query uses the same cores), then the finish."""
    from django.db import connections

    from billing.fair_use import fair_use_chunk_check, fair_use_run_finish, fair_use_run_open
    from billing.models import FairUseFinding

    FairUseFinding.objects.filter(period=period, period_start=start).delete()
    run = fair_use_run_open(period=period, period_start=start)

    def worker() -> None:
        try:
            while fair_use_chunk_check(run=run, wait=False):
                pass
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(worker) for _ in range(WORKERS)]:
            future.result()
    while fair_use_chunk_check(run=run, wait=True):
        pass
    fair_use_run_finish(run=run)


def run() -> list[Result]:
    from billing.models import FairUseFinding, FairUseRule

    company, lines = _lines()
    started = time.perf_counter()
    _traffic(company=company, lines=lines, records=RECORDS, first=DAY, last=DAY)
    _traffic(company=company, lines=lines, records=MONTH_RECORDS, first=MONTH, last=MONTH_LAST)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE billing_trafficdailytotal")
    print(f"   traffic ready in {time.perf_counter() - started:.1f} s", flush=True)

    warning = list(FairUseRule.objects.filter(warns_automatically=True).values_list("pk", flat=True))
    FairUseRule.objects.filter(pk__in=warning).update(warns_automatically=False)
    try:
        results = []
        for name, period, start, first, last, records in (
            ("fair_use_day", "day", DAY, DAY, DAY, RECORDS),
            ("fair_use_month", "month", MONTH, MONTH, MONTH_LAST, MONTH_RECORDS),
        ):
            baseline = best_of(REPEAT, functools.partial(_aggregate, first, last))
            portal = best_of(REPEAT, functools.partial(_run, period, start))
            findings = FairUseFinding.objects.filter(period=period, period_start=start).count()
            result = Result(
                name=name,
                size=f"{len(lines)} lines, {records} records, {WORKERS} chunk workers",
                portal_s=portal,
                baseline_s=baseline,
                target_ratio=TARGET,
                notes={"findings": findings},
            )
            print(
                f"   {name}: portal {portal:.2f} s, baseline {baseline:.2f} s, "
                f"ratio {result.ratio:.2f} x (target {TARGET:g} x), {findings} findings",
                flush=True,
            )
            results.append(result)
        return results
    finally:
        FairUseRule.objects.filter(pk__in=warning).update(warns_automatically=True)
