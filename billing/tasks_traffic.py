"""Background work of the traffic feed: the inbox, emptied every minute by beat."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from billing.traffic_inbox import traffic_inbox_import
from selfcare.celery import resumable_task


# The database gone for a moment: the file went back to the inbox and its
# transaction rolled back, so trying again is always safe.
@resumable_task()
def import_traffic_inbox() -> None:
    """Import the files waiting in TRAFFIC_INBOX; idempotent (a replayed file finds only duplicates)."""
    traffic_inbox_import(inbox=Path(settings.TRAFFIC_INBOX))
