"""The Reports page (/insight/) against its own queries run alone (QUALITY.md, "portal pages and API lists").

A bench company with BENCH_INSIGHT_LINES lines (2,000), BENCH_INSIGHT_INVOICES
monthly invoices (36), each with a fee and a concession fee per line, and 90
days of daily traffic totals per line (calls, SMS, data both ways, and one
line in ten roaming a few days in a rated zone): what the charts read. Made in
SQL (INSERT … SELECT over the lines and generate_series), once, and reused.

In this process, with Django's test client, as the company's administrator:
- the page's statements are captured from one request and replayed alone with
  a bare cursor: the baseline, the database work the page cannot avoid;
- the page is fetched BENCH_INSIGHT_REQUESTS times (30): p50 and p95 against
  QUALITY.md's 100 ms, and the ratio to the baseline;
- the same for the page filtered to a cost centre, and for a line user with
  five lines (whose view is never cached: its queries run each time).

The company's views are cached (insight.cache): the first view after the
data are made is a miss and is not timed, as the first after an import would
be; `insight-page-miss` times that miss once (the cache's token renewed).
Run in-process with DEBUG off, as production: `DEBUG=false make bench BENCH=insight`.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test import Client
from django.utils import timezone

from benchmarks.bench_pages import page_statements, percentile, replay, session_cookie
from benchmarks.common import Result, bench_company_admin

LINES = int(os.environ.get("BENCH_INSIGHT_LINES", "2000"))
INVOICES = int(os.environ.get("BENCH_INSIGHT_INVOICES", "36"))
DAYS = 90
REQUESTS = int(os.environ.get("BENCH_INSIGHT_REQUESTS", "30"))
WARM_UP = 5
P95_TARGET_MS = 100.0
BENCH_VAT = "01999990021"
BENCH_EMAIL = "bench.insight@bench.example"
COST_CENTRES = ["Cantieri", "Ufficio", "Direzione", "Flotta", "Magazzino", "Vendite", "Assistenza", ""]


def ensure_company() -> Any:
    """The bench company, its administrator (with TOTP, as the role needs), its lines, invoices and traffic."""
    from selfcare.models import Line, LineKind, Offer

    membership = bench_company_admin(
        vat=BENCH_VAT,
        email=BENCH_EMAIL,
        company_name="Benchmark Insight S.r.l.",
        user_name="Bench Insight",
        office="Via dei Test 3, Milano",
    )
    company = membership.company
    offers = [
        Offer.objects.get_or_create(
            code=f"BENCH-INS-{i}",
            defaults={"name": f"Bench Insight {i}", "payment": "postpaid", "monthly_fee": 5 + i},
        )[0]
        for i in range(4)
    ]
    have = Line.objects.filter(company=company).count()
    if have < LINES:
        Line.objects.bulk_create(
            Line(
                company=company,
                number=f"+39349{n:07d}",
                kind=LineKind.MOBILE,
                offer=offers[n % len(offers)],
                cost_centre=COST_CENTRES[n % len(COST_CENTRES)],
                activated_on=date(2020, 1, 1),
            )
            for n in range(have, LINES)
        )
    _invoices(company)
    _traffic(company)
    # What the import does for the companies it touched: the page's cached tables are made anew.
    from insight.cache import insight_traffic_changed

    insight_traffic_changed(company_ids=[company.pk])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE selfcare_line")
        cursor.execute("ANALYZE billing_invoice")
        cursor.execute("ANALYZE billing_invoiceline")
        cursor.execute("ANALYZE billing_trafficdailytotal")
    return membership


def ensure_line_user(company_id: int) -> Any:
    """A line user of the bench company with five lines assigned: their view is computed each time."""
    from selfcare.models import Line, Membership, Role, User

    email = "bench.insight.user@bench.example"
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email=email, password=None, name="Bench Insight User"
    )
    membership, _created = Membership.objects.get_or_create(
        user=user, company_id=company_id, defaults={"role": Role.LINE_USER}
    )
    lines = Line.objects.filter(company_id=company_id).order_by("pk").values_list("pk", flat=True)[:5]
    Line.objects.filter(pk__in=list(lines)).update(assigned_to=membership)
    return membership


def _invoices(company: Any) -> None:
    """INVOICES monthly invoices up to last month, each with every line's fee and concession fee."""
    from billing.models import Invoice

    today = timezone.localdate()
    month = today.replace(day=1)
    months = []
    for _n in range(INVOICES):
        month = (month - timedelta(days=1)).replace(day=1)
        months.append(month)
    have = set(Invoice.objects.filter(company=company).values_list("period_start", flat=True))
    for number, month in enumerate(sorted(months), start=1):
        if month in have:
            continue
        end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        invoice = Invoice.objects.create(
            company=company,
            year=month.year,
            sequence_number=900_000 + number,
            number=f"BI{month:%Y%m}",
            issued_on=end + timedelta(days=1),
            period_start=month,
            period_end=end,
            due_on=end + timedelta(days=30),
            taxable=Decimal("0"),
            vat_rate=Decimal("22.00"),
            vat=Decimal("0"),
            concession_fee=Decimal("0"),
            stamp_duty=Decimal("2.00"),
            total=Decimal("0"),
        )
        with connection.cursor() as cursor:
            # A fee per line (varying by line and month, so the rankings move) and the concession fee.
            cursor.execute(
                """
                INSERT INTO billing_invoiceline
                    (invoice_id, position, line_id, kind, description, cost_centre, quantity, unit_amount,
                     amount, vat_applicable)
                SELECT %s, 2 * n + k, id, CASE k WHEN 0 THEN 'fee' ELSE 'concession_fee' END,
                    'bench', cost_centre, 1, amount, amount, k = 0
                FROM (
                    SELECT l.id, l.cost_centre, row_number() OVER (ORDER BY l.id) AS n, k.k,
                        CASE k.k WHEN 0 THEN 5 + ((l.id * 7 + %s) %% 40) ELSE 12.91 END AS amount
                    FROM selfcare_line l CROSS JOIN (VALUES (0), (1)) AS k(k)
                    WHERE l.company_id = %s
                ) rows
                """,
                [invoice.pk, number, company.pk],
            )
            cursor.execute(
                """
                UPDATE billing_invoice i SET taxable = s.taxable, concession_fee = s.concession,
                    vat = round(s.taxable * 0.22, 2), total = s.taxable + s.concession + round(s.taxable * 0.22, 2) + 2
                FROM (
                    SELECT sum(amount) FILTER (WHERE kind = 'fee') AS taxable,
                        sum(amount) FILTER (WHERE kind = 'concession_fee') AS concession
                    FROM billing_invoiceline WHERE invoice_id = %s
                ) s WHERE i.id = %s
                """,
                [invoice.pk, invoice.pk],
            )


def _traffic(company: Any) -> None:
    """DAYS days of daily totals up to today per line: calls, SMS, data out and in; some roaming in the US."""
    today = timezone.localdate()
    first = today - timedelta(days=DAYS - 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM billing_trafficdailytotal WHERE company_id = %s AND day >= %s",
            [company.pk, first],
        )
        if cursor.fetchone()[0]:
            return
        cursor.execute("DELETE FROM billing_trafficdailytotal WHERE company_id = %s", [company.pk])
        cursor.execute(
            """
            INSERT INTO billing_trafficdailytotal
                (company_id, line_id, day, service, direction, other_operator, other_network, country, topup,
                 records, duration_s, volume_bytes)
            SELECT l.company_id, l.id, d::date, s.service, s.direction, '', '',
                CASE WHEN l.id %% 10 = 0 AND extract(day FROM d) < 5 THEN 'US' ELSE 'IT' END, false,
                s.records, s.seconds * (1 + l.id %% 5), s.bytes * (1 + (l.id + extract(doy FROM d)::int) %% 9)
            FROM selfcare_line l
            CROSS JOIN generate_series(%s::date, %s::date, interval '1 day') AS d
            CROSS JOIN (VALUES
                ('voice', 'out', 6, 600, 0), ('voice', 'in', 4, 300, 0), ('sms', 'out', 3, 0, 0),
                ('data', 'out', 40, 0, 20000000), ('data', 'in', 40, 0, 180000000)
            ) AS s(service, direction, records, seconds, bytes)
            WHERE l.company_id = %s
            """,
            [first, today, company.pk],
        )


def measure(name: str, path: str, headers: dict[str, str]) -> Result:
    statements = page_statements(path, headers)
    client = Client(headers=headers)
    for _ in range(WARM_UP):
        assert client.get(path).status_code == 200
        replay(statements)
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    baseline = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        replay(statements)
        baseline.append(time.perf_counter() - started)
    p95 = percentile(timings, 0.95) * 1000
    notes: dict[str, object] = {
        "path": path,
        "queries": len(statements),
        "p50_ms": round(statistics.median(timings) * 1000, 2),
        "p95_ms": round(p95, 2),
        "baseline_p50_ms": round(statistics.median(baseline) * 1000, 2),
        "baseline_p95_ms": round(percentile(baseline, 0.95) * 1000, 2),
        "p95_target_ms": P95_TARGET_MS,
        "p95_verdict": "ok" if p95 <= P95_TARGET_MS else "OVER TARGET",
    }
    print(f"   {name}: {notes}", flush=True)
    return Result(
        name=name,
        size=f"{LINES} lines, {INVOICES} invoices",
        portal_s=sum(timings),
        baseline_s=sum(baseline),
        target_ratio=None,
        notes=notes,
    )


def measure_miss(path: str, headers: dict[str, str], company_id: int) -> None:
    """One view right after an import: the charts computed and drawn, then cached."""
    from insight.cache import insight_traffic_changed

    client = Client(headers=headers)
    client.get(path)
    insight_traffic_changed(company_ids=[company_id])
    started = time.perf_counter()
    assert client.get(path).status_code == 200
    print(f"   insight-page-miss: {round((time.perf_counter() - started) * 1000, 2)} ms", flush=True)


def run() -> list[Result]:
    started = time.perf_counter()
    membership = ensure_company()
    print(f"   data ready in {time.perf_counter() - started:.1f} s", flush=True)
    cookie = {"Cookie": session_cookie(membership)}
    line_user = {"Cookie": session_cookie(ensure_line_user(membership.company_id))}
    measure_miss("/insight/", cookie, membership.company_id)
    return [
        measure("insight-page", "/insight/", cookie),
        measure("insight-page-cost-centre", "/insight/?cost_centre=Flotta", cookie),
        # Not cached (insight.cache): the queries run with each view, over five lines.
        measure("insight-page-line-user", "/insight/", line_user),
    ]
