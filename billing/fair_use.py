"""Fair-use runs: a period's checks in chunks of lines, their findings, the automatic warnings.

A run is a row, its chunks (lines by id range) are rows: whoever runs the
checks (the Celery chunk tasks, fanned out as a group, or the `run_fair_use`
command) claims a pending chunk with SELECT … FOR UPDATE SKIP LOCKED, checks
its lines and writes their findings in that one transaction, and marks it
done at its end. A worker that dies mid-chunk leaves the chunk pending with
nothing written; its lock goes with its connection, so the sweep (or the
command run again) takes it. Findings are unique per line, rule and period
and inserted with ON CONFLICT DO NOTHING: a chunk checked twice, or a period
run again, adds nothing twice.

A monthly run also checks roaming fair use (rule R) over the four whole
months ending with its month: a finding of R belongs to that month.

Once no chunk is pending the run finishes: the findings of the period whose
rule warns by itself (1-7, R) and that are still open get their warning, each
once (`fair_use_finding_warn` claims the finding), and the run is done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from billing.fair_use_checks import (
    DATA_RULES,
    Breach,
    LimitInForce,
    Month,
    OfferAverage,
    fair_use_data_averages,
    fair_use_data_breaches,
    fair_use_roaming_breaches,
    fair_use_traffic_breaches,
)
from billing.fair_use_measures import fair_use_finding_warn
from billing.models import (
    FairUseChunk,
    FairUseChunkStatus,
    FairUseFinding,
    FairUseFindingStatus,
    FairUseLimit,
    FairUseMetric,
    FairUsePeriod,
    FairUseRule,
    FairUseRuleCode,
    FairUseRun,
    FairUseRunStatus,
    period_label,
)

logger = logging.getLogger(__name__)


def fair_use_period_start(*, period: str, day: date) -> date:
    """The first day of the period `day` falls in: the day itself, or the first of its month."""
    return day if period == FairUsePeriod.DAY else day.replace(day=1)


def fair_use_run_period(*, period: str, period_start: date) -> FairUseRun:
    """Check `period` now, in this process: joins its running run or starts one; returns it done.

    Takes the chunks nobody holds, then waits for those another worker
    holds (done when it commits, or ours to do if it died), then finishes.
    What `run_fair_use` runs; the Celery tasks run the same steps, spread.
    """
    run = fair_use_run_open(period=period, period_start=period_start)
    while fair_use_chunk_check(run=run, wait=False):
        pass
    while fair_use_chunk_check(run=run, wait=True):
        pass
    return fair_use_run_finish(run=run)


def fair_use_run_open(*, period: str, period_start: date) -> FairUseRun:
    """The period's running run, or a new one with its chunks of lines by id range."""
    period_start = fair_use_period_start(period=period, day=period_start)
    running = FairUseRun.objects.filter(
        period=period, period_start=period_start, status=FairUseRunStatus.RUNNING
    ).first()
    if running is not None:
        return running
    try:
        with transaction.atomic():
            return _fair_use_run_create(period=period, period_start=period_start)
    except IntegrityError:
        # Started at the same moment by another worker (fair_use_run_one_running_per_period): join it.
        return FairUseRun.objects.get(
            period=period, period_start=period_start, status=FairUseRunStatus.RUNNING
        )


def _fair_use_run_create(*, period: str, period_start: date) -> FairUseRun:
    """A new running run with its chunks, in the caller's transaction (IntegrityError if one runs)."""
    run = FairUseRun.objects.create(period=period, period_start=period_start)
    if period == FairUsePeriod.MONTH:
        # Summed here, once, before any chunk goes out: no chunk waits for them, no two
        # workers sum them (a second opener waits on this run's row, then joins it).
        _postgres_settings()
        run.data_averages = _data_averages_sum(run=run, limits=fair_use_limits_in_force(period=period))
    size = max(1, int(settings.FAIR_USE_CHUNK_LINES))
    # Ranges of `size` lines each, cut in SQL: a run at operator scale never lists its lines in memory.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id) FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / %s AS bucket "
            "FROM selfcare_line) numbered GROUP BY bucket ORDER BY 1",
            [size],
        )
        ranges = cursor.fetchall()
    FairUseChunk.objects.bulk_create(
        FairUseChunk(run=run, first_line_id=first, last_line_id=last) for first, last in ranges
    )
    run.chunks_total = len(ranges)
    run.save(update_fields=["chunks_total", "data_averages"])
    return run


def _postgres_settings() -> None:
    """The planner settings of a chunk's (or the run opener's) transaction, on PostgreSQL; for it only.

    Measured with EXPLAIN ANALYZE at 200,000 lines (chunks of 50,000):
    - `jit = off`: compiling the chunk's one big statement costs more than it
      saves (a third).
    - `work_mem = 128MB`: the sums per line and operator (some 300,000 groups,
      about 110 MB of hash table) are hashed in memory by one process. With
      64 MB the planner expected a spill and sorted them instead, in parallel
      and on disk: 20-40 % slower for the day and the month, and its parallel
      workers take the cores the other chunk workers need.
    - `enable_seqscan = off`: still needed for the month. A chunk's month of
      totals (a quarter of the lines, every day of it) is estimated large
      enough that the planner prefers a parallel scan of every total ever
      imported to the (line, day) index: slower (4.1 s against 3.0 s a chunk),
      and growing with the years of totals kept. The day, the data probes and
      the averages take their indexes either way.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute("SET LOCAL enable_seqscan = off")


def fair_use_limits_in_force(*, period: str) -> list[LimitInForce]:
    """The limits of the enabled rules for `period`, as staff left them in the admin."""
    limits = FairUseLimit.objects.filter(rule__enabled=True, period=period).select_related("rule")
    return sorted(
        (
            LimitInForce(
                rule=limit.rule.code,
                scope=limit.rule.scope,
                metric=limit.metric,
                limit=limit.limit,
                minimum_base=limit.rule.minimum_base(period),
            )
            for limit in limits
        ),
        key=lambda limit: limit.order,
    )


def fair_use_chunk_check(*, run: FairUseRun, wait: bool, chunk_id: int | None = None) -> bool:
    """Claim one pending chunk of `run` (that one, with `chunk_id`) and check it in one transaction.

    Whether a chunk was checked. Without `wait`, a chunk another worker holds
    is skipped; with it, waited for.
    """
    with transaction.atomic():
        pending = FairUseChunk.objects.select_for_update(skip_locked=not wait).filter(
            run_id=run.pk, status=FairUseChunkStatus.PENDING
        )
        if chunk_id is not None:
            pending = pending.filter(pk=chunk_id)
        chunk = pending.order_by("first_line_id").first()
        if chunk is None:
            return False
        _postgres_settings()
        breaches = fair_use_chunk_breaches(run=run, chunk=chunk)
        created = _findings_write(run=run, chunk=chunk, breaches=breaches)
        chunk.status = FairUseChunkStatus.DONE
        chunk.findings_new = created
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["status", "findings_new", "finished_at"])
        FairUseRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1, findings_new=F("findings_new") + created
        )
    return True


def fair_use_chunk_breaches(*, run: FairUseRun, chunk: FairUseChunk) -> list[Breach]:
    """Every breach of the chunk's lines in the run's period, per the limits in force now."""
    limits = fair_use_limits_in_force(period=run.period)
    if run.period == FairUsePeriod.DAY:
        first_day = last_day = run.period_start
    else:
        month = Month.of(run.period_start)
        first_day, last_day = month.first_day, month.last_day
    breaches = fair_use_traffic_breaches(
        first_day=first_day,
        last_day=last_day,
        first_line_id=chunk.first_line_id,
        last_line_id=chunk.last_line_id,
        limits=limits,
    )
    if run.period == FairUsePeriod.MONTH and any(limit.rule in DATA_RULES for limit in limits):
        breaches += fair_use_data_breaches(
            month=Month.of(run.period_start),
            first_line_id=chunk.first_line_id,
            last_line_id=chunk.last_line_id,
            limits=limits,
            averages=_data_averages(run=run, limits=limits),
        )
    if run.period == FairUsePeriod.MONTH and any(limit.rule == FairUseRuleCode.ROAMING for limit in limits):
        # Rule R: the four whole months ending with the run's month (Impl. Reg. (EU) 2016/2286 art. 4).
        breaches += fair_use_roaming_breaches(
            month=Month.of(run.period_start),
            first_line_id=chunk.first_line_id,
            last_line_id=chunk.last_line_id,
            limits=limits,
        )
    return breaches


def _data_months(limits: list[LimitInForce]) -> int:
    """How many months of averages D1 and D2 need: the month alone, or D2's span (3 at least)."""
    if not any(limit.rule == FairUseRuleCode.D2 for limit in limits):
        return 1
    return max(
        [3]
        + [
            int(limit.limit)
            for limit in limits
            if limit.rule == FairUseRuleCode.D2 and limit.metric == FairUseMetric.MONTHS_ABOVE_AVERAGE
        ]
    )


def _data_averages_sum(*, run: FairUseRun, limits: list[LimitInForce]) -> list[Any] | None:
    """The offers' averages of a monthly run, as `FairUseRun.data_averages` keeps them; None without D1/D2.

    [[offer id, [[lines, volume] per month, newest first]], …]: a list, as
    JSON object keys would be strings.
    """
    if not any(limit.rule in DATA_RULES for limit in limits):
        return None
    averages = fair_use_data_averages(month=Month.of(run.period_start), months=_data_months(limits))
    return [[offer, [[a.lines, a.volume] for a in rows]] for offer, rows in averages.items()]


def _data_averages(*, run: FairUseRun, limits: list[LimitInForce]) -> dict[int, list[OfferAverage]]:
    """The offers' averages of the run's month and the months before, as the run's opener summed them.

    Summed once per run (they read every line of the offers, not only the
    chunk's) and kept on the run: a run resumed later, or a chunk sent again,
    compares with the same figures. A rerun of the period is a new run and
    sums them again. A run opened without them (D1 and D2 disabled then), or
    with fewer months than the limits now ask, gets them summed here and kept.
    """
    stored = run.data_averages
    if stored is None or any(len(months) < _data_months(limits) for _offer, months in stored):
        stored = _data_averages_sum(run=run, limits=limits) or []
        FairUseRun.objects.filter(pk=run.pk).update(data_averages=stored)
        run.data_averages = stored
    return {
        int(offer): [OfferAverage(int(offer), int(lines), int(volume)) for lines, volume in months]
        for offer, months in stored
    }


def _findings_write(*, run: FairUseRun, chunk: FairUseChunk, breaches: list[Breach]) -> int:
    """One finding per line and rule with every figure over its limit; how many are new."""
    if not breaches:
        return 0
    rule_ids = dict(FairUseRule.objects.values_list("code", "pk"))
    grouped: dict[tuple[int, str], tuple[int, list[dict[str, str]]]] = {}
    for breach in breaches:
        _company, metrics = grouped.setdefault((breach.line_id, breach.rule), (breach.company_id, []))
        metrics.append(breach.figure)
    FairUseFinding.objects.bulk_create(
        [
            FairUseFinding(
                company_id=company_id,
                line_id=line_id,
                rule_id=rule_ids[rule],
                period=run.period,
                period_start=run.period_start,
                metrics=metrics,
                run=run,
            )
            for (line_id, rule), (company_id, metrics) in grouped.items()
        ],
        # fair_use_finding_one_per_period: a line's breach found by an earlier run stays as it was.
        ignore_conflicts=True,
    )
    return FairUseFinding.objects.filter(
        run=run, line_id__gte=chunk.first_line_id, line_id__lte=chunk.last_line_id
    ).count()


def fair_use_run_finish(*, run: FairUseRun) -> FairUseRun:
    """Once no chunk is pending: warn the period's open findings of rules 1-7, then mark the run done.

    Safe to call any number of times, from any worker: the warnings claim
    their finding, and only a run with no pending chunk is marked done. The
    warnings go first, so a worker dying among them leaves the run running
    for the sweep to finish.
    """
    pending = FairUseChunk.objects.filter(run_id=run.pk, status=FairUseChunkStatus.PENDING)
    if pending.exists():
        run.refresh_from_db()
        return run
    fair_use_warnings_send(period=run.period, period_start=run.period_start)
    FairUseRun.objects.filter(pk=run.pk, status=FairUseRunStatus.RUNNING).exclude(
        Exists(FairUseChunk.objects.filter(run_id=OuterRef("pk"), status=FairUseChunkStatus.PENDING))
    ).update(status=FairUseRunStatus.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def fair_use_warnings_send(*, period: str, period_start: date) -> int:
    """The warning of every open finding of the period whose rule warns by itself; how many went out.

    Rule 8 and the data rules wait for staff (DOMAIN.md): their rules do not
    warn automatically. A finding staff already warned, decided or dismissed
    is not open, and gets nothing.
    """
    findings = (
        FairUseFinding.objects.filter(
            period=period,
            period_start=period_start,
            status=FairUseFindingStatus.OPEN,
            rule__warns_automatically=True,
        )
        .select_related("line", "company", "rule")
        .order_by("pk")
    )
    sent = 0
    for finding in findings.iterator(chunk_size=500):
        if fair_use_finding_warn(finding=finding, by=None) is not None:
            sent += 1
    return sent


def fair_use_runs_to_resume(*, older_than_seconds: int) -> list[FairUseRun]:
    """Runs still running after that long: their worker probably died, or their tasks were lost."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        FairUseRun.objects.filter(status=FairUseRunStatus.RUNNING, started_at__lt=cutoff).order_by("pk")
    )


@dataclass(frozen=True)
class FairUseResult:
    """The findings of a period, as `run_fair_use --json` prints them (CONTRACTS.md)."""

    findings: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"findings": self.findings}


def fair_use_result(*, period: str, period_start: date) -> FairUseResult:
    """Every finding of the period, found by this run or an earlier one: a rerun reports the same."""
    findings = (
        FairUseFinding.objects.filter(period=period, period_start=period_start)
        .select_related("line", "rule")
        .order_by("line__number", "rule__code")
    )
    rows = []
    for finding in findings.iterator(chunk_size=2000):
        first = finding.metrics[0] if finding.metrics else {}
        rows.append(
            {
                "line": finding.line.number,
                "rule": finding.rule.code,
                "period": period_label(period, period_start),
                "measured": first.get("measured", ""),
                "limit": first.get("limit", ""),
                "metrics": finding.metrics,
            }
        )
    return FairUseResult(findings=rows)
