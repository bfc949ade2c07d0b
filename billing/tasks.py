"""Background work of the billing app."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from billing.services import billing_run_month


def previous_month() -> tuple[int, int]:
    """The (year, month) before today's, in Rome time."""
    day = timezone.localdate()
    return (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)


@shared_task(
    ignore_result=True,
    # The database gone for a moment (failover, restart): the run resumes
    # from its chunks, so trying again later is always safe.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=60,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=6,
    acks_late=True,
    reject_on_worker_lost=True,
)
def billing_run(year: int | None = None, month: int | None = None) -> None:
    """Bill a month (by default the previous one, as beat schedules it); idempotent, resumable."""
    if year is None or month is None:
        year, month = previous_month()
    billing_run_month(year=year, month=month)
