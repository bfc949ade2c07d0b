"""Writes about the portal's own components."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from selfcare.models import Heartbeat


def heartbeat_record(*, name: str, seen_at: datetime | None = None) -> Heartbeat:
    heartbeat, _created = Heartbeat.objects.update_or_create(
        name=name, defaults={"seen_at": seen_at or timezone.now()}
    )
    return heartbeat
