"""Scaling out the Celery workers: the daily fair-use run and large XLSX exports with 1, 2 and 4 worker processes.

Each configuration is N real `celery worker` subprocesses with `--concurrency 1`
each (BENCH_SCALING_WORKERS, "1,2,4"), not one worker with `--concurrency N`:
N separate consumers of the broker's queue, each with its own connection and
prefetch, is what adding worker machines looks like (docs/scaling.md), and
what the fan-out must get through. (A prefork worker with `--concurrency N`
also runs N processes; on one machine the two differ by the parent process
only.) Every task goes through the real broker (REDIS_URL's, or
CELERY_BROKER_URL), on a queue of this benchmark's own ("bench-scaling"),
purged at the start, so no other worker on the same broker takes its tasks.

- fair use, day: `billing.tasks_fair_use.fair_use_run_daily` sent to the
  queue, as beat sends it. The worker that takes it opens the run and sends
  its chunks out as a Celery group; every worker takes chunks; the last one
  finishes the run. Timed from the send to the run's `finished_at`. Data:
  bench_fair_use's company, lines and "fair_use" traffic mix with daily totals
  (its `_lines` and `_traffic`), BENCH_SCALING_FAIR_USE_LINES lines (100,000)
  and BENCH_SCALING_FAIR_USE_RECORDS records (2,000,000) in its one day. The
  chunk size is set for this run (FAIR_USE_CHUNK_LINES in the workers) so
  that every line of the database falls in BENCH_SCALING_FAIR_USE_CHUNKS
  chunks (8): with the production default of 50,000 lines a chunk, 100,000
  lines are 2 chunks and a third worker would have nothing to take. The
  automatic warnings are off during the measure, findings deleted between
  runs (as in bench_fair_use).
- XLSX export: one export is one task (one query read through one
  server-side cursor, one file written in order): it cannot be split across
  workers. So the measure is throughput: BENCH_SCALING_EXPORTS exports (4) of
  BENCH_SCALING_XLSX_RECORDS records each (100,000; bench_traffic_xlsx's
  company and records) queued at once, timed from the send to the last one's
  `finished_at`. The same work at every N, so t1/tN is the speedup, and
  exports per minute is EXPORTS / tN.

Before each measure every worker builds an export with no rows, sent to a
queue of its own: the first task of a fresh process loads the URLs, the
storage and the notification service, which is no part of the measure.

The baseline of a result is the same work with one worker in the same run:
`ratio` is tN / t1 (ideally 1/N), and `notes.speedup` is t1 / tN. The
machine these ran on has 2 cores shared by PostgreSQL and the workers: past
2 processes nothing more can run at once, so 4 cannot beat 2 there; the
notes carry `cpus` to say so. BENCH_SCALING_REPEAT (1) repeats take the median.
"""

from __future__ import annotations

import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone

from benchmarks.common import BASE_DIR, Result

WORKER_COUNTS = [int(n) for n in os.environ.get("BENCH_SCALING_WORKERS", "1,2,4").split(",")]
FAIR_USE_LINES = int(os.environ.get("BENCH_SCALING_FAIR_USE_LINES", "100000"))
FAIR_USE_RECORDS = int(os.environ.get("BENCH_SCALING_FAIR_USE_RECORDS", "2000000"))
FAIR_USE_CHUNKS = int(os.environ.get("BENCH_SCALING_FAIR_USE_CHUNKS", "8"))
EXPORTS = int(os.environ.get("BENCH_SCALING_EXPORTS", "4"))
XLSX_RECORDS = int(os.environ.get("BENCH_SCALING_XLSX_RECORDS", "100000"))
REPEAT = int(os.environ.get("BENCH_SCALING_REPEAT", "1"))
QUEUE = "bench-scaling"
CHUNK_TASK = "billing.tasks_fair_use.fair_use_chunk"
EXPORT_TASK = "billing.tasks_traffic_export.traffic_export_build"
# A measure that takes longer than this has lost a task: the benchmark stops rather than waits forever.
TIMEOUT_S = 1800


class Workers:
    """N `celery worker` subprocesses, `--concurrency 1` each, on QUEUE and on a queue of their own each."""

    def __init__(self, count: int, *, env: dict[str, str]) -> None:
        self.count = count
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def own_queue(self, k: int) -> str:
        return f"{QUEUE}.w{k}"

    def start(self, timeout: float = 120) -> Workers:
        env = {**os.environ, "CELERY_TASK_DEFAULT_QUEUE": QUEUE, **self.env}
        for k in range(self.count):
            log = Path(tempfile.mkstemp(prefix=f"bench-scaling-w{k}-", suffix=".log")[1])
            self.logs.append(log)
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "celery",
                            "-A",
                            "selfcare",
                            "worker",
                            "--queues",
                            f"{QUEUE},{self.own_queue(k)}",
                            "--concurrency",
                            "1",
                            "--pool",
                            "prefork",
                            "--loglevel",
                            "INFO",
                            "--without-heartbeat",
                            "--without-gossip",
                            "--without-mingle",
                            "--hostname",
                            f"bench-scaling-{os.getpid()}-w{k}@%h",
                        ],
                        cwd=BASE_DIR,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + timeout
        for process, log in zip(self.processes, self.logs, strict=True):
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"a Celery worker did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)
        return self

    def tasks_received(self, task: str) -> list[int]:
        """How many `task` messages each worker has received so far, from its log: the fan-out, seen."""
        return [
            sum(
                1
                for line in log.read_text(errors="replace").splitlines()
                if f"Task {task}[" in line and line.endswith(" received")
            )
            for log in self.logs
        ]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for log in self.logs:
            log.unlink(missing_ok=True)

    def __enter__(self) -> Workers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _queue_purge() -> None:
    """Empty this benchmark's queues: tasks a broken earlier run left would be taken in the measure."""
    from selfcare.celery import app

    with app.connection_for_write() as conn:
        channel: Any = conn.default_channel  # kombu's channel; its stub lacks the queue methods
        for name in [QUEUE, *(f"{QUEUE}.w{k}" for k in range(max(WORKER_COUNTS)))]:
            channel.queue_declare(name, durable=True, auto_delete=False)
            channel.queue_purge(name)


def _queue_drain(timeout: float = 120) -> None:
    """Wait until QUEUE holds no message (the warm-ups' notifications are sent) and give its takers a moment."""
    from selfcare.celery import app

    deadline = time.monotonic() + timeout
    with app.connection_for_write() as conn:
        channel: Any = conn.default_channel
        # Declared, not passively: Redis drops an empty queue's key, and a passive declare would fail.
        while channel.queue_declare(QUEUE, durable=True, auto_delete=False).message_count:
            if time.monotonic() > deadline:
                raise SystemExit(f"the queue {QUEUE} did not empty in {timeout} s")
            time.sleep(0.2)
    time.sleep(2)


def _wait(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not finish in {TIMEOUT_S} s")
        time.sleep(0.1)


# ---------------------------------------------------------------------------
# Fair use, day
# ---------------------------------------------------------------------------


def fair_use_ready() -> tuple[int, int]:
    """bench_fair_use's company, lines and traffic for its day, at this benchmark's size: (lines, chunk size)."""
    from benchmarks.bench_fair_use import DAY, _lines, _traffic
    from selfcare.models import Line

    company, lines = _lines(FAIR_USE_LINES)
    started = time.perf_counter()
    _traffic(company=company, lines=lines, records=FAIR_USE_RECORDS, first=DAY, last=DAY)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE billing_trafficdailytotal")
    print(f"   fair-use traffic ready in {time.perf_counter() - started:.1f} s", flush=True)
    # A run's chunks cut every line of the database, not only the bench company's.
    return len(lines), math.ceil(Line.objects.count() / FAIR_USE_CHUNKS)


def fair_use_day_once() -> tuple[float, int, int]:
    """The daily run through the broker and the running workers: (seconds, chunks, findings)."""
    from benchmarks.bench_fair_use import DAY
    from billing.models import FairUseFinding, FairUsePeriod, FairUseRun, FairUseRunStatus
    from billing.tasks_fair_use import fair_use_run_daily

    FairUseFinding.objects.filter(period=FairUsePeriod.DAY, period_start=DAY).delete()
    last_run = FairUseRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    sent_at = timezone.now()
    fair_use_run_daily.apply_async(args=(DAY.isoformat(),), queue=QUEUE)

    def finished() -> FairUseRun | None:
        return FairUseRun.objects.filter(
            pk__gt=last_run, period=FairUsePeriod.DAY, period_start=DAY, status=FairUseRunStatus.DONE
        ).first()

    _wait(lambda: finished() is not None, "the fair-use run")
    run = finished()
    if run is None or run.finished_at is None:
        raise SystemExit("the fair-use run finished and then vanished")
    return (run.finished_at - sent_at).total_seconds(), run.chunks_total, run.findings_new


# ---------------------------------------------------------------------------
# XLSX exports
# ---------------------------------------------------------------------------


def xlsx_ready() -> int:
    """bench_traffic_xlsx's company and records at this benchmark's size: the administrator's membership id."""
    from benchmarks.bench_traffic_xlsx import ensure_company, ensure_records

    company_id, membership_id = ensure_company()
    ensure_records(company_id, XLSX_RECORDS)
    return membership_id


def _exports_send(membership_id: int, *, first_day: Any, last_day: Any, queues: list[str]) -> list[int]:
    """One export per queue, each sent to its queue: their ids."""
    from billing.models import TrafficExport
    from billing.tasks_traffic_export import traffic_export_build
    from billing.traffic_report import TrafficFilters
    from billing.traffic_xlsx import filters_as_json
    from selfcare.models import Membership

    membership = Membership.objects.get(pk=membership_id)
    filters = filters_as_json(TrafficFilters(first_day=first_day, last_day=last_day))
    exports = [
        TrafficExport.objects.create(
            company_id=membership.company_id, membership=membership, filters=filters, language="it"
        )
        for _queue in queues
    ]
    for export, queue in zip(exports, queues, strict=True):
        traffic_export_build.apply_async(args=(export.pk,), queue=queue)
    return [export.pk for export in exports]


def _exports_wait(ids: list[int]) -> list[Any]:
    from billing.models import TrafficExport, TrafficExportStatus

    def done() -> bool:
        statuses = list(TrafficExport.objects.filter(pk__in=ids).values_list("status", flat=True))
        if TrafficExportStatus.FAILED in statuses:
            raise SystemExit("an export failed: see the worker's log")
        return statuses.count(TrafficExportStatus.READY) == len(ids)

    _wait(done, "the exports")
    return list(TrafficExport.objects.filter(pk__in=ids))


def _exports_drop(exports: list[Any]) -> None:
    from billing.models import TrafficExport

    for export in exports:
        if export.file:
            export.file.delete(save=False)
    TrafficExport.objects.filter(pk__in=[export.pk for export in exports]).delete()


def warm_up(workers: Workers, membership_id: int) -> None:
    """Every worker builds an empty export (a day without records) on its own queue, then the queue drains."""
    from billing.traffic_report import report_window

    first, _last = report_window()
    ids = _exports_send(
        membership_id,
        first_day=first,
        last_day=first,
        queues=[workers.own_queue(k) for k in range(workers.count)],
    )
    _exports_drop(_exports_wait(ids))
    _queue_drain()


def xlsx_once(membership_id: int) -> tuple[float, int]:
    """EXPORTS exports of every record queued at once: (seconds from the send to the last one ready, rows in all)."""
    from billing.traffic_report import report_window

    first, last = report_window()
    sent_at = timezone.now()
    ids = _exports_send(membership_id, first_day=first, last_day=last, queues=[QUEUE] * EXPORTS)
    exports = _exports_wait(ids)
    finished: datetime = max(export.finished_at for export in exports)
    rows = sum(export.rows_done for export in exports)
    _exports_drop(exports)
    return (finished - sent_at).total_seconds(), rows


# ---------------------------------------------------------------------------


def _delta(before: list[int], after: list[int]) -> list[int]:
    return [a - b for a, b in zip(after, before, strict=True)]


def _median(samples: Sequence[tuple[float, ...]]) -> float:
    return statistics.median(sample[0] for sample in samples)


def run() -> list[Result]:
    from billing.models import FairUseRule

    membership_id = xlsx_ready()
    lines, chunk_lines = fair_use_ready()
    _queue_purge()
    cpus = os.cpu_count() or 1
    warning = list(FairUseRule.objects.filter(warns_automatically=True).values_list("pk", flat=True))
    FairUseRule.objects.filter(pk__in=warning).update(warns_automatically=False)
    fair_use: dict[int, list[tuple[float, int, int]]] = {}
    xlsx: dict[int, list[tuple[float, int]]] = {}
    chunks_by_worker: dict[int, list[int]] = {}
    exports_by_worker: dict[int, list[int]] = {}
    try:
        for count in WORKER_COUNTS:
            with Workers(count, env={"FAIR_USE_CHUNK_LINES": str(chunk_lines)}) as workers:
                for _ in range(REPEAT):
                    warm_up(workers, membership_id)
                    before = workers.tasks_received(CHUNK_TASK)
                    fair_use.setdefault(count, []).append(fair_use_day_once())
                    chunks_by_worker[count] = _delta(before, workers.tasks_received(CHUNK_TASK))
                    print(
                        f"   {count} worker(s): fair-use day {fair_use[count][-1][0]:.1f} s, "
                        f"chunks taken by each worker {chunks_by_worker[count]}",
                        flush=True,
                    )
                    _queue_drain()
                    before = workers.tasks_received(EXPORT_TASK)
                    xlsx.setdefault(count, []).append(xlsx_once(membership_id))
                    exports_by_worker[count] = _delta(before, workers.tasks_received(EXPORT_TASK))
                    print(
                        f"   {count} worker(s): {EXPORTS} exports {xlsx[count][-1][0]:.1f} s, "
                        f"exports built by each worker {exports_by_worker[count]}",
                        flush=True,
                    )
    finally:
        FairUseRule.objects.filter(pk__in=warning).update(warns_automatically=True)

    one = WORKER_COUNTS[0]
    results = []
    for count in WORKER_COUNTS:
        base = _median(fair_use[one])
        took = _median(fair_use[count])
        _seconds, chunks, findings = fair_use[count][-1]
        results.append(
            Result(
                name=f"scaling-fair-use-day-{count}w",
                size=f"{lines} lines, {FAIR_USE_RECORDS} records, {count} workers",
                portal_s=took,
                baseline_s=base,
                target_ratio=None,
                notes={
                    "workers": count,
                    "baseline_workers": one,
                    "speedup": base / took,
                    "chunks": chunks,
                    "chunk_lines": chunk_lines,
                    "findings": findings,
                    "chunks_by_worker": chunks_by_worker[count],
                    "mode": "N celery worker processes, --concurrency 1 each, one Redis queue",
                    "cpus": cpus,
                    "repeat": REPEAT,
                    "samples_s": [sample[0] for sample in fair_use[count]],
                },
            )
        )
    for count in WORKER_COUNTS:
        base = _median(xlsx[one])
        took = _median(xlsx[count])
        rows = xlsx[count][-1][1]
        results.append(
            Result(
                name=f"scaling-xlsx-{EXPORTS}-exports-{count}w",
                size=f"{EXPORTS} x {XLSX_RECORDS} records, {count} workers",
                portal_s=took,
                baseline_s=base,
                target_ratio=None,
                notes={
                    "workers": count,
                    "baseline_workers": one,
                    "speedup": base / took,
                    "exports": EXPORTS,
                    "rows": rows,
                    "exports_by_worker": exports_by_worker[count],
                    "exports_per_minute": EXPORTS * 60 / took,
                    "rows_per_second": rows / took,
                    "mode": "N celery worker processes, --concurrency 1 each, one Redis queue",
                    "cpus": cpus,
                    "repeat": REPEAT,
                    "samples_s": [sample[0] for sample in xlsx[count]],
                },
            )
        )
    for result in results:
        print(
            f"   {result.name}: {result.portal_s:.1f} s, t{one}/t{result.notes['workers']} = "
            f"{result.notes['speedup']:.2f} ({cpus} cpus)",
            flush=True,
        )
    return results
