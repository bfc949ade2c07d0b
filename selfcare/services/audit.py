"""Explicit audit records for sensitive business events.

django-auditlog records every change of the tracked models by itself (through
signals). What is not a row change, or is done with `update()` which sends no
signal, is recorded here: a PUK shown, a role changed, numbers in clear
downloaded, a request decided. Staff read them all in the admin's log entries.
"""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from django.db import models

from selfcare.models import User


def audit_record(
    *,
    actor: User | None,
    target: models.Model,
    event: str,
    details: dict[str, Any] | None = None,
    action: int = LogEntry.Action.ACCESS,
) -> LogEntry:
    """One audit record: who (`actor`) did what (`event`) to which row (`target`), now."""
    entry: LogEntry = LogEntry.objects.log_create(
        target,
        force_log=True,
        action=action,
        actor=actor,
        changes={},
        additional_data={"event": event, **(details or {})},
    )
    return entry
