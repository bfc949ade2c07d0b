"""`make bench-load`: 200 clients of 20 companies for 60 s on loopback (QUALITY.md, "load").

python -m benchmarks.load

1. Creates and migrates the benchmark's database, and seeds the load data
   once (benchmarks/load/seed.py; later runs reuse them).
2. Logs each client in: a session made server-side as a login with its
   second factor leaves it, and an API token of the same member.
3. Starts the portal as deployed (gunicorn, gthread, DEBUG off) and a
   Celery worker for the invoice copies the clients ask for.
4. Runs locust headless (benchmarks/load/locustfile.py): the clients start
   within about 10 s, each pauses 1 s between requests, for 60 s in all.
5. Prints, for each page, API list and download, the requests, errors and
   p50/p95/p99 against the page target of QUALITY.md (p95 under 100 ms),
   the CPU gunicorn and PostgreSQL spent per request (what two cores can
   serve), and writes the figures to benchmarks/results/.

The baseline of the same run is /healthz under the same load (database,
cache and broker checked, no page): the floor of every request at that load.

Parameters (environment): BENCH_LOAD_USERS (200), BENCH_LOAD_SPAWN_RATE (20
a second), BENCH_LOAD_SECONDS (60), BENCH_LOAD_COMPANIES (20, the three demo
companies included), BENCH_LOAD_WORKERS (3) and BENCH_LOAD_THREADS (8) for
gunicorn, BENCH_LOAD_CELERY_CONCURRENCY (1), BENCH_LOAD_PORT (8790). The
server's and worker's logs stay in a temporary folder, printed at the end.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

USERS = int(os.environ.get("BENCH_LOAD_USERS", "200"))
SPAWN_RATE = float(os.environ.get("BENCH_LOAD_SPAWN_RATE", "20"))
SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "60"))
COMPANIES = int(os.environ.get("BENCH_LOAD_COMPANIES", "20"))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "3"))
THREADS = int(os.environ.get("BENCH_LOAD_THREADS", "8"))
CELERY_CONCURRENCY = int(os.environ.get("BENCH_LOAD_CELERY_CONCURRENCY", "1"))
PORT = int(os.environ.get("BENCH_LOAD_PORT", "8790"))
P95_TARGET_MS = 100.0
FLOOR = "floor healthz"
HERE = Path(__file__).resolve().parent

# The benchmark's tasks and cache keys stay apart from anything else on the same Redis.
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", "bench-load")
os.environ.setdefault("CACHE_KEY_PREFIX", "bench-load")


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    from benchmarks.common import BASE_DIR

    with log.open("wb") as sink:
        return subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "selfcare", "worker",
                "--queues", os.environ["CELERY_TASK_DEFAULT_QUEUE"],
                "--concurrency", str(CELERY_CONCURRENCY), "--loglevel", "warning",
            ],
            cwd=BASE_DIR, env={**os.environ, "DEBUG": "false"}, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def warm_up(logins: list[Any]) -> int:
    """Every page once in each worker process before the clock starts; how many answered other than 200.

    A gunicorn worker imports views, templates and translations on its first
    requests: seconds on a busy machine, which are start-up, not load.
    """
    manager = next(login for login in logins if login.role in ("admin", "legal_rep"))
    cookie = {"Cookie": f"{manager.cookie_name}={manager.session}"}
    token = {"Authorization": f"Token {manager.token}"}
    paths = [
        ("/", cookie), ("/lines/", cookie), (f"/lines/{manager.lines[0]}/", cookie), ("/invoices/", cookie),
        (f"/invoices/{manager.invoices[0]}/", cookie), ("/traffic/", cookie), ("/requests/", cookie),
        (f"/requests/{manager.requests[0]}/", cookie), ("/insight/", cookie), ("/abroad/", cookie),
        ("/insight/monthly-spend.csv", cookie), ("/api/v1/lines/", token), ("/api/v1/invoices/", token),
        ("/api/v1/requests/", token), ("/api/v1/traffic/", token),
    ]  # fmt: skip

    def fetch(path: str, headers: dict[str, str]) -> int:
        # Always http://127.0.0.1: the benchmark's own gunicorn.
        request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    with ThreadPoolExecutor(max_workers=WORKERS * THREADS) as pool:
        statuses = list(pool.map(lambda item: fetch(*item), paths * (2 * WORKERS)))
    return sum(1 for status in statuses if status != 200)


def cpu_seconds(pids: set[int]) -> float:
    """User and system CPU time these processes have used so far (gone ones count nothing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def server_pids(server_pid: int) -> tuple[set[int], set[int]]:
    """The gunicorn master and its workers; the database's backends serving them."""
    from django.db import connection

    web = {server_pid}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server_pid:
                web.add(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        database = {pid for (pid,) in cursor.fetchall()}
    return web, database


def run_locust(folder: Path, credentials: Path) -> Path:
    from benchmarks.common import BASE_DIR

    prefix = folder / "locust"
    with (folder / "locust.log").open("wb") as sink:
        subprocess.run(
            [
                sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
                "--users", str(USERS), "--spawn-rate", str(SPAWN_RATE), "--run-time", f"{SECONDS}s",
                "--host", f"http://127.0.0.1:{PORT}", "--csv", str(prefix), "--only-summary",
                "--stop-timeout", "10", "--exit-code-on-error", "0", "--loglevel", "WARNING",
            ],
            cwd=BASE_DIR, env={**os.environ, "BENCH_LOAD_CREDENTIALS": str(credentials)},
            stdout=sink, stderr=subprocess.STDOUT, check=True,
        )  # fmt: skip
    return prefix


@dataclass
class Row:
    """Locust's figures for one name (or "Aggregated"): requests, errors, percentiles in ms."""

    name: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    requests_per_s: float


def read_stats(prefix: Path) -> tuple[list[Row], list[dict[str, str]]]:
    """Locust's per-name rows and its failures."""

    def figure(value: str) -> float:
        return 0.0 if value in ("", "N/A") else float(value)

    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as stats:
        rows = [
            Row(
                name=row["Name"],
                requests=int(row["Request Count"]),
                errors=int(row["Failure Count"]),
                p50_ms=figure(row["50%"]),
                p95_ms=figure(row["95%"]),
                p99_ms=figure(row["99%"]),
                max_ms=figure(row["100%"]),
                requests_per_s=round(float(row["Requests/s"]), 1),
            )
            for row in csv.DictReader(stats)
        ]
    with Path(f"{prefix}_failures.csv").open(encoding="utf-8") as failures:
        return rows, list(csv.DictReader(failures))


def main() -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfcare.settings")
    django.setup()
    from benchmarks.__main__ import prepare_database
    from benchmarks.common import Result, report, start_gunicorn
    from benchmarks.load.seed import credentials, seed

    print("== load", flush=True)
    prepare_database()
    seed(COMPANIES)
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    logins = credentials(count=COMPANIES, clients=USERS)
    credentials_file = folder / "credentials.json"
    credentials_file.write_text(json.dumps([asdict(login) for login in logins]))
    roles = {role: sum(1 for login in logins if login.role == role) for role in {x.role for x in logins}}
    print(f"   {len(logins)} clients of {len({x.company for x in logins})} companies: {roles}", flush=True)

    worker = start_worker(folder / "worker.log")
    try:
        server = start_gunicorn(
            port=PORT,
            workers=WORKERS,
            threads=THREADS,
            env={
                "DEBUG": "false",
                # Django's own log lines (500s with their traceback) into the server's log.
                "GUNICORN_CMD_ARGS": f"--error-logfile {folder / 'gunicorn.log'} --capture-output --timeout 600",
            },
            ready_within=180,
        )
    except BaseException:
        worker.terminate()
        worker.wait(timeout=30)
        raise
    try:
        print(f"   warm-up: {warm_up(logins)} answers other than 200", flush=True)
        web, database = server_pids(server.pid)
        cpu_before = cpu_seconds(web), cpu_seconds(database)
        started = time.monotonic()
        prefix = run_locust(folder, credentials_file)
        elapsed = time.monotonic() - started
        # Backends opened during the run count in full; any closed during it are lost (an underestimate).
        web_after, database_after = server_pids(server.pid)
        cpu_used = (
            cpu_seconds(web | web_after) - cpu_before[0],
            cpu_seconds(database | database_after) - cpu_before[1],
        )
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=30)
        worker.wait(timeout=30)

    rows, failures = read_stats(prefix)
    total = next(row for row in rows if row.name == "Aggregated")
    named = [row for row in rows if row.name != "Aggregated"]
    floor = next((row for row in named if row.name == FLOOR), None)
    over = [row.name for row in named if row.name != FLOOR and row.p95_ms > P95_TARGET_MS]
    verdict = "ok" if not total.errors and not over else "OVER TARGET"

    print()
    print(f"{'name':<40} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}  p95<100ms")
    for row in [*sorted(named, key=lambda r: r.name), total]:
        within = "-" if row is total or row is floor else ("ok" if row.p95_ms <= P95_TARGET_MS else "OVER")
        print(
            f"{row.name:<40} {row.requests:>8} {row.errors:>6} {row.p50_ms:>7.0f} "
            f"{row.p95_ms:>7.0f} {row.p99_ms:>7.0f}  {within}"
        )
    requests = max(1, total.requests)
    cpu_ms = {
        "web_cpu_ms_per_request": round(cpu_used[0] * 1000 / requests, 1),
        "database_cpu_ms_per_request": round(cpu_used[1] * 1000 / requests, 1),
    }
    print(f"\n{total.requests_per_s} requests/s, {total.errors} errors; verdict: {verdict}")
    print(
        f"   CPU per request: gunicorn {cpu_ms['web_cpu_ms_per_request']} ms, "
        f"PostgreSQL {cpu_ms['database_cpu_ms_per_request']} ms "
        f"({USERS} clients pausing 1 s need about {USERS} requests/s)"
    )
    for failure in failures[:20]:
        print(
            f"   error: {failure['Occurrences']} x {failure['Method']} {failure['Name']}: {failure['Error']}"
        )
    print(f"   logs: {folder}")

    report(
        [
            Result(
                name="load-200-clients" if USERS == 200 else f"load-{USERS}-clients",
                size=f"{USERS} clients, {COMPANIES} companies, {SECONDS} s",
                portal_s=total.p95_ms / 1000,
                baseline_s=floor.p95_ms / 1000 if floor else 0.0,
                target_ratio=None,
                notes={
                    "clients": USERS,
                    "spawn_rate": SPAWN_RATE,
                    "seconds": SECONDS,
                    "wall_s": round(elapsed, 1),
                    "companies": COMPANIES,
                    "roles": roles,
                    "gunicorn": f"{WORKERS} workers x {THREADS} threads (gthread), DEBUG off",
                    "celery_concurrency": CELERY_CONCURRENCY,
                    "requests": total.requests,
                    "errors": total.errors,
                    "requests_per_s": total.requests_per_s,
                    **cpu_ms,
                    "p95_target_ms": P95_TARGET_MS,
                    "over_target": over,
                    "load_verdict": verdict,
                    "baseline": "p95 of /healthz under the same load",
                    "by_name": [asdict(row) for row in named],
                    "failures": failures[:50],
                },
            )
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
