"""Fair-use measures that take effect on a day: a daily task scheduled by beat (docs/fair_use.md, "Measures")."""

from __future__ import annotations

from billing.fair_use_measures import fair_use_suspensions_apply
from selfcare.celery import resumable_task


# Each suspension is claimed in its own transaction (its measure's applied_at),
# so a retry or a second run the same day suspends only what is left.
@resumable_task()
def apply_fair_use_suspensions() -> int:
    """Suspend the lines whose fair-use suspension takes effect today (or took effect while the task was down)."""
    return fair_use_suspensions_apply()
