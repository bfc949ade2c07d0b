"""The line list page and the lines API over HTTP through gunicorn, against their own queries run alone.

QUALITY.md, "portal pages and API lists": a company with 2,000 lines; the
number of queries is fixed whatever the size (pinned in
tests/selfcare/test_lines.py); p95 under 100 ms with 50 concurrent clients,
each pausing 1 s between requests.

For each URL the benchmark
- captures the SQL of one request made in this process (Django's test
  client, same user, same session), then replays exactly those statements
  with a bare cursor: the baseline, the database work the page cannot avoid;
- times the same URL over HTTP through gunicorn (gthread), one client after
  another: the ratio is what Django, the templates and HTTP add to the queries;
- and, once, runs the page with 50 concurrent clients pausing 1 s, for the
  p95 of QUALITY.md.

Sizes are parameters: BENCH_PAGES_LINES (2000), BENCH_PAGES_REQUESTS (200),
BENCH_PAGES_CLIENTS (50), BENCH_PAGES_CONCURRENT_REQUESTS (500).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from stdnum import luhn

from benchmarks.common import Result, bench_company_admin, start_gunicorn

BASE_DIR = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8766"))
LINES = int(os.environ.get("BENCH_PAGES_LINES", "2000"))
REQUESTS = int(os.environ.get("BENCH_PAGES_REQUESTS", "200"))
CLIENTS = int(os.environ.get("BENCH_PAGES_CLIENTS", "50"))
CONCURRENT_REQUESTS = int(os.environ.get("BENCH_PAGES_CONCURRENT_REQUESTS", "500"))
WARM_UP = 20
P95_TARGET_MS = 100.0

BENCH_VAT = "01999990005"
BENCH_EMAIL = "bench.admin@bench.example"
COST_CENTRES = ["Cantieri", "Ufficio", "Direzione", "Flotta", "Magazzino", "Vendite", "Assistenza", ""]


# ---------------------------------------------------------------------------
# Data: one company with LINES lines, made once and reused by later runs
# ---------------------------------------------------------------------------
def _iccid(n: int) -> str:
    body = f"893988{n:012d}"
    return body + luhn.calc_check_digit(body)


def ensure_company() -> Any:
    """The bench company, its administrator (with TOTP, as the role needs) and LINES lines."""
    from selfcare.models import Line, LineKind, LineStatus, Membership, Offer, Role, SimKind, User

    membership = bench_company_admin(
        vat=BENCH_VAT,
        email=BENCH_EMAIL,
        company_name="Benchmark Lines S.r.l.",
        user_name="Bench Admin",
        office="Via dei Test 1, Milano",
    )
    company = membership.company
    offers = [
        Offer.objects.get_or_create(
            code=f"BENCH-{i}",
            defaults={
                "name": f"Bench Business {i}",
                "payment": "prepaid" if i % 3 == 0 else "postpaid",
                "monthly_fee": 5 + i,
                "unlimited_voice_sms": True,
                "unlimited_data": i % 2 == 0,
            },
        )[0]
        for i in range(6)
    ]
    have = Line.objects.filter(company=company).count()
    if have < LINES:
        # A few lines assigned to line users, to pay for the assignee column.
        line_users = [
            Membership.objects.get_or_create(
                company=company,
                user=User.objects.filter(email=f"bench.user{i}@bench.example").first()
                or User.objects.create_user(
                    email=f"bench.user{i}@bench.example", password=None, name=f"Utente {i}"
                ),
                defaults={"role": Role.LINE_USER},
            )[0]
            for i in range(20)
        ]
        statuses = [LineStatus.ACTIVE] * 17 + [LineStatus.SUSPENDED, LineStatus.BLOCKED, LineStatus.CEASED]
        Line.objects.bulk_create(
            Line(
                company=company,
                number=f"+39348{n:07d}",
                kind=LineKind.FIXED if n % 25 == 0 else LineKind.MOBILE,
                sim="" if n % 25 == 0 else (SimKind.ESIM if n % 7 == 0 else SimKind.PHYSICAL),
                iccid="" if n % 25 == 0 else _iccid(900_000 + n),
                offer=offers[n % len(offers)],
                cost_centre=COST_CENTRES[n % len(COST_CENTRES)],
                status=statuses[n % len(statuses)],
                activated_on=date(2020, 1, 1) + timedelta(days=n % 1500),
                assigned_to=line_users[n % len(line_users)] if n % 10 == 0 else None,
            )
            for n in range(have, LINES)
        )
        # Fresh rows have no statistics yet: plan the queries as production would.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE selfcare_line")
    return membership


# ---------------------------------------------------------------------------
# Credentials: a session cookie for the pages, a token for the API
# ---------------------------------------------------------------------------
def session_cookie(membership: Any) -> str:
    """A logged-in session of the bench administrator working in the bench company."""
    # Imported for its login receiver, which marks the session's two-factor check as done.
    import selfcare.auth  # noqa: F401
    from selfcare.middleware import SESSION_MEMBERSHIP_KEY

    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_MEMBERSHIP_KEY] = membership.pk
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def api_token(membership: Any) -> str:
    from selfcare.models import ApiToken
    from selfcare.services.tokens import api_token_create

    ApiToken.objects.filter(membership=membership, name="Benchmark").delete()
    _token, key = api_token_create(membership=membership, name="Benchmark", created_by=None)
    return key


# ---------------------------------------------------------------------------
# The baseline: the same request's statements, replayed with a bare cursor
# ---------------------------------------------------------------------------
# Transaction control around the session's save: not database work of the page.
_NOT_REPLAYED = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def captured_statements() -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.lstrip().upper().startswith(_NOT_REPLAYED):
            statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield statements


def page_statements(path: str, headers: dict[str, str]) -> list[tuple[str, Any]]:
    """The statements one request of `path` runs, made here with the same credentials."""
    client = Client(headers=headers)
    client.get(path)  # the first request of a client loads the middleware
    with captured_statements() as statements:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return statements


def replay(statements: list[tuple[str, Any]]) -> None:
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()


# ---------------------------------------------------------------------------
# HTTP through gunicorn
# ---------------------------------------------------------------------------
def fetch(url: str, headers: dict[str, str]) -> float:
    """One GET, read to the end; its wall time in seconds."""
    # Always http://127.0.0.1: the benchmark's own gunicorn.
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return time.perf_counter() - started


def percentile(timings: list[float], fraction: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def concurrent_timings(url: str, headers: dict[str, str]) -> tuple[list[float], int]:
    """CLIENTS clients, each pausing 1 s between requests, CONCURRENT_REQUESTS in all; timings and errors."""
    per_client = max(1, CONCURRENT_REQUESTS // CLIENTS)
    timings: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client(index: int) -> None:
        nonlocal errors
        # Spread the clients' first requests over the pause, as real ones are.
        time.sleep(index / CLIENTS)
        for _ in range(per_client):
            try:
                elapsed = fetch(url, headers)
                with lock:
                    timings.append(elapsed)
            except (OSError, RuntimeError, urllib.error.HTTPError):
                with lock:
                    errors += 1
            time.sleep(1.0)

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return timings, errors


def start_portal() -> subprocess.Popen[bytes]:
    return start_gunicorn(
        port=PORT,
        workers=2,
        threads=8,
        env={
            # The benchmark makes more calls than the API's per-user rate allows.
            "API_THROTTLE_USER": "1000000/minute",
            # What production runs: no per-query logging of DEBUG.
            "DEBUG": "false",
        },
    )


def measure(name: str, path: str, headers: dict[str, str], concurrent: bool) -> Result:
    statements = page_statements(path, headers)
    url = f"http://127.0.0.1:{PORT}{path}"
    for _ in range(WARM_UP):
        fetch(url, headers)
        replay(statements)

    timings = [fetch(url, headers) for _ in range(REQUESTS)]
    baseline_timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        replay(statements)
        baseline_timings.append(time.perf_counter() - started)

    notes: dict[str, object] = {
        "path": path,
        "queries": len(statements),
        "p50_ms": round(statistics.median(timings) * 1000, 2),
        "p95_ms": round(percentile(timings, 0.95) * 1000, 2),
        "baseline_p50_ms": round(statistics.median(baseline_timings) * 1000, 2),
    }
    if concurrent:
        loaded, errors = concurrent_timings(url, headers)
        p95 = percentile(loaded, 0.95) * 1000 if loaded else float("inf")
        notes.update(
            {
                "concurrent_clients": CLIENTS,
                "concurrent_requests": len(loaded) + errors,
                "concurrent_errors": errors,
                "concurrent_p50_ms": round(statistics.median(loaded) * 1000, 2) if loaded else None,
                "concurrent_p95_ms": round(p95, 2),
                "concurrent_p95_target_ms": P95_TARGET_MS,
                "concurrent_p95_verdict": "ok" if p95 <= P95_TARGET_MS and not errors else "OVER TARGET",
            }
        )
    print(f"   {name}: {notes}", flush=True)
    return Result(
        name=name,
        size=f"{LINES} lines, {REQUESTS} requests",
        portal_s=sum(timings),
        baseline_s=sum(baseline_timings),
        target_ratio=None,
        notes=notes,
    )


def run() -> list[Result]:
    from rest_framework.throttling import UserRateThrottle

    # The calls made here to capture the statements count in the same cache as gunicorn's.
    UserRateThrottle.THROTTLE_RATES = {**UserRateThrottle.THROTTLE_RATES, "user": "1000000/minute"}
    membership = ensure_company()
    cookie = {"Cookie": session_cookie(membership)}
    token = {"Authorization": f"Token {api_token(membership)}"}
    server = start_portal()
    try:
        return [
            measure("lines-page", "/lines/", cookie, concurrent=True),
            measure(
                "lines-page-filtered",
                "/lines/?status=active&cost_centre=Flotta&ordering=-activated_on&page=3",
                cookie,
                concurrent=False,
            ),
            measure("lines-api", "/api/v1/lines/", token, concurrent=True),
            measure(
                "lines-api-filtered",
                "/api/v1/lines/?search=348000&ordering=offer&status=active&page_size=50",
                token,
                concurrent=False,
            ),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
