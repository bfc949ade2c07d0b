"""Background work of the roaming app."""

from __future__ import annotations

from datetime import date

from billing.tasks import previous_month
from roaming.spend import roaming_month_charges_write
from selfcare.celery import resumable_task


# Rows already charged stay charged (their link is claimed): a retry writes the rest.
@resumable_task()
def roaming_month_close(year: int | None = None, month: int | None = None) -> int:
    """Write a month's chargeable roaming as ExtraCharge rows (by default the previous month, as beat schedules it).

    Scheduled before the billing run of the same night (docs/roaming.md); idempotent.
    """
    if year is None or month is None:
        year, month = previous_month()
    return roaming_month_charges_write(month=date(year, month, 1))
