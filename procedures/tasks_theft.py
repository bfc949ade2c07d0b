"""Background work of theft or loss reports: the police complaint's reminders and escalation (procedures.theft)."""

from __future__ import annotations

from datetime import date

from procedures.theft import theft_complaints_follow_up
from selfcare.celery import resumable_task


# Reads only the requests still awaiting their complaint, and each reminder
# and escalation is recorded once on the request: running it again is harmless.
@resumable_task()
def theft_complaints_remind(day: str | None = None) -> None:
    """Remind before the complaint's deadline and escalate after it (`day` ISO; by default today in Rome)."""
    theft_complaints_follow_up(today=date.fromisoformat(day) if day else None)
