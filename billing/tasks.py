"""Background work of the billing app."""

from __future__ import annotations

from django.utils import timezone

from billing.invoice_expiry import invoices_expire
from billing.services import billing_run_month
from selfcare.celery import resumable_task


def previous_month() -> tuple[int, int]:
    """The (year, month) before today's, in Rome time."""
    day = timezone.localdate()
    return (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)


# The database gone for a moment (failover, restart): the run resumes
# from its chunks, so trying again later is always safe.
@resumable_task()
def billing_run(year: int | None = None, month: int | None = None) -> None:
    """Bill a month (by default the previous one, as beat schedules it); idempotent, resumable."""
    if year is None or month is None:
        year, month = previous_month()
    billing_run_month(year=year, month=month)


# Chunks already committed stay expired; a retry takes the rest.
@resumable_task()
def expire_invoices() -> None:
    """Mark the invoices due before today (Rome) as expired and tell their billing managers; idempotent."""
    invoices_expire()


# The tasks on the invoices' files live in their own module; imported here so that Celery registers them.
from billing.tasks_documents import invoice_copies_sweep, invoice_copy_make, sdi_transmit_pending  # noqa: E402, F401
from billing.tasks_fair_use import (  # noqa: E402, F401 - so that Celery registers them
    fair_use_chunk,
    fair_use_run_daily,
    fair_use_run_monthly,
    fair_use_runs_sweep,
)
from billing.tasks_fair_use_measures import apply_fair_use_suspensions  # noqa: E402, F401 - so that Celery registers it
from billing.tasks_traffic import import_traffic_inbox  # noqa: E402, F401 - so that Celery registers it
from billing.tasks_traffic_export import traffic_export_build, traffic_exports_sweep  # noqa: E402, F401 - so that Celery registers them
from billing.tasks_traffic_retention import purge_traffic  # noqa: E402, F401 - so that Celery registers it
