"""Retention of the raw traffic records: a daily task scheduled by beat (docs/traffic.md, "Retention")."""

from __future__ import annotations

from billing.traffic_retention import traffic_purge
from selfcare.celery import resumable_task


# The database gone for a moment, or a DROP giving up its wait for the table's lock
# (lock_timeout, an OperationalError): each partition goes in its own transaction,
# so a retry drops just what is left.
@resumable_task()
def purge_traffic() -> None:
    """Drop the raw traffic records older than six months plus the margin; idempotent."""
    traffic_purge()
