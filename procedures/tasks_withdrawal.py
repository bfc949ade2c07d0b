"""Background work of withdrawals: the lines cease on the effective day (procedures.kinds.withdrawal)."""

from __future__ import annotations

from datetime import date

from procedures.kinds.withdrawal import withdrawals_take_effect
from selfcare.celery import resumable_task


# Each withdrawal takes effect once (its row is locked and its history says so):
# running it again, or after a day it did not run, is harmless.
@resumable_task()
def withdrawals_cease_lines(day: str | None = None) -> None:
    """Cease the lines of the approved withdrawals whose effective day has come (`day` ISO; default today, Rome)."""
    withdrawals_take_effect(today=date.fromisoformat(day) if day else None)
