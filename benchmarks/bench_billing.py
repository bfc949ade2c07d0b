"""The monthly billing run over 200,000 postpaid lines, billed by two worker processes at once.

QUALITY.md, "billing run": 20,000 companies, 200,000 lines, under 2 minutes
on 2 cores, linear in lines. Two processes call `billing_run_month` for the
same month, as two Celery workers given the same task do: the second joins
the first's run and they share its chunks. The wall time goes from the
start of both to the end of the later.

The baseline, measured in the same run, is the database work no billing
can avoid: one plain INSERT … SELECT writing as many invoice lines (a fee
and, for mobile lines, a concession fee per line) into a copy of the
invoice line table with its indexes. The ratio says how much the run adds
(reading, the taxes, numbering, the invoices themselves); the verdict is
the absolute target.

The data (companies, offers, lines) are made once with INSERT … SELECT over
generate_series and reused by later runs; each measurement first removes
what the previous one billed (the bench month, numbered in a year of its
own). Sizes are parameters: BENCH_BILLING_COMPANIES (20000),
BENCH_BILLING_LINES (200000), BENCH_BILLING_WORKERS (2), and
BENCH_BILLING_CHUNK_SIZE (the setting's default otherwise).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import date
from multiprocessing.synchronize import Barrier

from django.conf import settings
from django.db import connection, connections

from benchmarks.common import Result

COMPANIES = int(os.environ.get("BENCH_BILLING_COMPANIES", "20000"))
LINES = int(os.environ.get("BENCH_BILLING_LINES", "200000"))
WORKERS = int(os.environ.get("BENCH_BILLING_WORKERS", "2"))
TARGET_S = 120.0
# A month of a year no other data use: its numbering starts from 1 each time.
YEAR, MONTH = 2031, 1
ISSUED_ON = date(2031, 2, 1)
NAME_PREFIX = "Bench Billing "
OFFER_CODE = "BENCH-BILL-"


def ensure_data() -> None:
    """COMPANIES companies and LINES postpaid lines (mostly mobile, one in ten fixed), made once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM selfcare_company WHERE name LIKE %s", [NAME_PREFIX + "%"])
        (companies,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM selfcare_line l JOIN selfcare_offer o ON o.id = l.offer_id WHERE o.code LIKE %s",
            [OFFER_CODE + "%"],
        )
        (lines,) = cursor.fetchone()
        if (companies, lines) == (COMPANIES, LINES):
            return
        if companies or lines:
            raise SystemExit(
                f"selfcare_bench holds {companies} bench companies and {lines} lines, not "
                f"{COMPANIES} and {LINES}: drop the bench database to make them again."
            )
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO selfcare_offer (code, name, payment, monthly_fee, unlimited_voice_sms, unlimited_data, data_gb)
            VALUES (%s, 'Bench Mobile', 'postpaid', 19.90, true, false, 50),
                   (%s, 'Bench Fibra', 'postpaid', 34.90, true, true, NULL)
            """,
            [OFFER_CODE + "MOBILE", OFFER_CODE + "FIXED"],
        )
        cursor.execute(
            """
            INSERT INTO selfcare_company (name, vat_number, tax_code, pec, recipient_code, registered_office,
                                          created_at, updated_at)
            SELECT %s || n, 'IT9' || lpad(n::text, 10, '0'), '9' || lpad(n::text, 10, '0'),
                   'bench' || n || '@pec.example.it', 'M5UXCR1', 'Via dei Test 1, Milano', now(), now()
            FROM generate_series(1, %s) AS n
            """,
            [NAME_PREFIX, COMPANIES],
        )
        # Lines spread evenly over the companies; a few activated or ceased
        # mid-month, so that some fees are in proportion to the days.
        cursor.execute(
            """
            WITH company AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
                FROM selfcare_company WHERE name LIKE %(prefix)s
            ), offer AS (
                SELECT max(id) FILTER (WHERE code = %(mobile)s) AS mobile,
                       max(id) FILTER (WHERE code = %(fixed)s) AS fixed
                FROM selfcare_offer
            )
            INSERT INTO selfcare_line (number, kind, sim, iccid, cost_centre, status, activated_on, ceased_on,
                                       created_at, updated_at, company_id, offer_id, credit_balance, pin, puk,
                                       vas_barred, volte_enabled)
            SELECT CASE WHEN n %% 10 = 0 THEN '+3902' || lpad(n::text, 8, '0')
                        ELSE '+39399' || lpad(n::text, 7, '0') END,
                   CASE WHEN n %% 10 = 0 THEN 'fixed' ELSE 'mobile' END,
                   CASE WHEN n %% 10 = 0 THEN '' ELSE 'physical' END,
                   CASE WHEN n %% 10 = 0 THEN '' ELSE '8939' || lpad(n::text, 15, '0') END,
                   (ARRAY['Direzione', 'Cantieri', 'Vendite', ''])[1 + n %% 4],
                   CASE WHEN n %% 97 = 0 THEN 'ceased' ELSE 'active' END,
                   CASE WHEN n %% 89 = 0 THEN DATE '2031-01-16' ELSE DATE '2025-01-01' END,
                   CASE WHEN n %% 97 = 0 THEN DATE '2031-01-10' END,
                   now(), now(), company.id,
                   CASE WHEN n %% 10 = 0 THEN offer.fixed ELSE offer.mobile END,
                   0, '', '', false, true
            FROM generate_series(0, %(lines)s - 1) AS n
            JOIN company ON company.k = n %% %(companies)s
            CROSS JOIN offer
            """,
            {
                "prefix": NAME_PREFIX + "%",
                "mobile": OFFER_CODE + "MOBILE",
                "fixed": OFFER_CODE + "FIXED",
                "lines": LINES,
                "companies": COMPANIES,
            },
        )
        cursor.execute("ANALYZE selfcare_company; ANALYZE selfcare_line; ANALYZE selfcare_offer")
        print(
            f"   made {COMPANIES} companies and {LINES} lines in {time.perf_counter() - started:.1f} s",
            flush=True,
        )


def forget_the_bench_month() -> None:
    """Remove what a previous measurement billed, so that the run bills the month afresh."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM billing_invoiceline WHERE invoice_id IN "
            "(SELECT id FROM billing_invoice WHERE year = %s OR period_start = %s)",
            [YEAR, date(YEAR, MONTH, 1)],
        )
        cursor.execute(
            "UPDATE billing_extracharge SET billed_on_invoice_id = NULL WHERE billed_on_invoice_id IN "
            "(SELECT id FROM billing_invoice WHERE year = %s OR period_start = %s)",
            [YEAR, date(YEAR, MONTH, 1)],
        )
        cursor.execute(
            "DELETE FROM billing_invoice WHERE year = %s OR period_start = %s", [YEAR, date(YEAR, MONTH, 1)]
        )
        cursor.execute(
            "DELETE FROM billing_billingrunchunk WHERE run_id IN "
            "(SELECT id FROM billing_billingrun WHERE period_start = %s)",
            [date(YEAR, MONTH, 1)],
        )
        cursor.execute("DELETE FROM billing_billingrun WHERE period_start = %s", [date(YEAR, MONTH, 1)])
        cursor.execute("DELETE FROM billing_invoicesequence WHERE year = %s", [YEAR])


def _worker(ready: Barrier) -> None:
    from billing.services import billing_run_month

    ready.wait()
    billing_run_month(year=YEAR, month=MONTH, issued_on=ISSUED_ON)
    connections.close_all()


def run_billing_with_workers() -> float:
    """Wall time of WORKERS forked processes billing the month together, from a common start."""
    connections.close_all()  # a forked child must not share the parent's connection
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(WORKERS + 1)
    processes = [context.Process(target=_worker, args=(ready,)) for _ in range(WORKERS)]
    for process in processes:
        process.start()
    ready.wait()
    started = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    if any(process.exitcode for process in processes):
        raise SystemExit(f"a billing worker failed: exit codes {[p.exitcode for p in processes]}")
    return elapsed


def baseline_insert_select() -> tuple[float, int]:
    """One INSERT … SELECT of as many invoice lines as the run writes, into a copy of their table."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_baseline_invoiceline")
        cursor.execute(
            "CREATE TABLE bench_baseline_invoiceline (LIKE billing_invoiceline INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING IDENTITY)"
        )
        cursor.execute("SELECT min(id) FROM billing_invoice")
        (any_invoice,) = cursor.fetchone()
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO bench_baseline_invoiceline (invoice_id, position, line_id, kind, description, cost_centre,
                                                    days, quantity, unit_amount, amount, vat_applicable)
            SELECT %(invoice)s, row_number() OVER (), l.id, k.kind, o.name || ' - ' || l.number, l.cost_centre,
                   31, 1, o.monthly_fee, CASE WHEN k.kind = 'fee' THEN o.monthly_fee ELSE 12.91 END,
                   k.kind = 'fee'
            FROM selfcare_line l
            JOIN selfcare_offer o ON o.id = l.offer_id
            CROSS JOIN (VALUES ('fee'), ('concession_fee')) AS k (kind)
            WHERE o.code LIKE %(offer)s AND (k.kind = 'fee' OR l.kind = 'mobile')
            """,
            {"invoice": any_invoice or 0, "offer": OFFER_CODE + "%"},
        )
        rows = cursor.rowcount
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_baseline_invoiceline")
    return elapsed, rows


def run() -> list[Result]:
    if "BENCH_BILLING_CHUNK_SIZE" in os.environ:
        settings.BILLING_CHUNK_SIZE = int(os.environ["BENCH_BILLING_CHUNK_SIZE"])
    ensure_data()
    forget_the_bench_month()
    portal = run_billing_with_workers()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), (SELECT count(*) FROM billing_invoiceline il JOIN billing_invoice i "
            "ON i.id = il.invoice_id WHERE i.period_start = %s) FROM billing_invoice WHERE period_start = %s",
            [date(YEAR, MONTH, 1), date(YEAR, MONTH, 1)],
        )
        invoices, invoice_lines = cursor.fetchone()
        cursor.execute(
            "SELECT chunks_total, invoices_created, status FROM billing_billingrun WHERE period_start = %s",
            [date(YEAR, MONTH, 1)],
        )
        chunks, created, status = cursor.fetchone()
    baseline, baseline_rows = baseline_insert_select()
    print(
        f"   billed {invoices} invoices with {invoice_lines} lines in {portal:.1f} s "
        f"({WORKERS} workers, {chunks} chunks, run {status}); target under {TARGET_S:.0f} s: "
        f"{'ok' if portal < TARGET_S else 'OVER TARGET'}",
        flush=True,
    )
    return [
        Result(
            name="billing-run",
            size=f"{COMPANIES} co, {LINES} lines",
            portal_s=portal,
            baseline_s=baseline,
            target_ratio=None,
            notes={
                "workers": WORKERS,
                "chunks": chunks,
                "chunk_size": int(settings.BILLING_CHUNK_SIZE),
                "invoices": invoices,
                "invoices_created": created,
                "invoice_lines": invoice_lines,
                "baseline_rows": baseline_rows,
                "target_s": TARGET_S,
                "verdict": "ok" if portal < TARGET_S else "OVER TARGET",
                "lines_per_s": round(LINES / portal),
            },
        )
    ]
