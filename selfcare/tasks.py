"""Background work of the core app."""

from __future__ import annotations

from celery import shared_task

from selfcare.services.system import heartbeat_record

WORKER_HEARTBEAT = "celery-worker"


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Record that a worker is consuming the queue (scheduled by beat)."""
    heartbeat_record(name=WORKER_HEARTBEAT)
