"""Background work of fair use: the daily and monthly runs, their chunks, and the sweep that resumes runs.

A run's tasks carry ids, never objects. Opening a run makes its chunk rows;
the chunks then go out as a Celery group, so that every free worker takes
some and more workers finish sooner. Each chunk task checks its chunk (or
nothing, when it is done or another worker holds it) and then tries to
finish the run, which only the last one does. The progress is in the rows:
a worker that dies leaves its chunk pending, and the sweep sends the
pending chunks of a run still running after a while out again.
"""

from __future__ import annotations

from datetime import date, timedelta

from celery import group
from django.conf import settings
from django.utils import timezone

from billing.fair_use import (
    fair_use_chunk_check,
    fair_use_run_finish,
    fair_use_run_open,
    fair_use_runs_to_resume,
)
from billing.models import FairUseChunk, FairUseChunkStatus, FairUsePeriod, FairUseRun, FairUseRunStatus
from selfcare.celery import resumable_task


def _chunks_dispatch(run: FairUseRun) -> int:
    """Send the run's pending chunks out as one group; how many. Sending one twice is harmless."""
    chunk_ids = list(
        FairUseChunk.objects.filter(run_id=run.pk, status=FairUseChunkStatus.PENDING)
        .order_by("first_line_id")
        .values_list("pk", flat=True)
    )
    if not chunk_ids:
        fair_use_run_finish(run=run)
        return 0
    group(fair_use_chunk.s(run.pk, chunk_id) for chunk_id in chunk_ids).apply_async()
    return len(chunk_ids)


# The database gone for a moment: opening again joins the run it may have made.
@resumable_task()
def fair_use_run_daily(day: str | None = None) -> None:
    """Check the daily rules for `day` (ISO; by default yesterday in Rome, as beat schedules it)."""
    checked = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    _chunks_dispatch(fair_use_run_open(period=FairUsePeriod.DAY, period_start=checked))


@resumable_task()
def fair_use_run_monthly(month: str | None = None) -> None:
    """Check the monthly rules for `month` (YYYY-MM; by default the previous one in Rome, on the 1st).

    Roaming fair use (rule R) included: its window is the four months ending with `month`.
    """
    if month:
        first_day = date.fromisoformat(f"{month}-01")
    else:
        first_day = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    _chunks_dispatch(fair_use_run_open(period=FairUsePeriod.MONTH, period_start=first_day))


# A chunk whose worker died is delivered again (acks_late) or sent again by the sweep;
# its transaction never committed, so checking it again writes its findings once.
@resumable_task()
def fair_use_chunk(run_id: int, chunk_id: int) -> None:
    """Check one chunk of a run (nothing if done or held by another worker), then finish the run if it was the last."""
    run = FairUseRun.objects.filter(pk=run_id, status=FairUseRunStatus.RUNNING).first()
    if run is None:
        return
    fair_use_chunk_check(run=run, wait=False, chunk_id=chunk_id)
    fair_use_run_finish(run=run)


@resumable_task()
def fair_use_runs_sweep() -> None:
    """Send out again the pending chunks of runs still running after FAIR_USE_RESUME_AFTER seconds."""
    after = int(settings.FAIR_USE_RESUME_AFTER)
    for run in fair_use_runs_to_resume(older_than_seconds=after):
        _chunks_dispatch(run)
