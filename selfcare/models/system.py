"""The portal's own bookkeeping."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When a background component (the Celery worker) was last seen alive.

    Beat sends the heartbeat task every minute; /healthz and the runbook read
    this row to tell a stalled worker from an idle one.
    """

    name = models.CharField(_("component"), max_length=50, unique=True)
    seen_at = models.DateTimeField(_("last seen at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
