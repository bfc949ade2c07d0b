"""Reads about the portal's own components."""

from __future__ import annotations

from datetime import datetime

from selfcare.models import Heartbeat


def heartbeat_last_seen(*, name: str) -> datetime | None:
    return Heartbeat.objects.filter(name=name).values_list("seen_at", flat=True).first()
