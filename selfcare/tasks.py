"""Background work of the core app."""

from __future__ import annotations

from celery import shared_task

from selfcare.services.notifications import (
    MAX_ATTEMPTS,
    DeliveryOutcome,
    notification_deliver,
    notifications_enqueue,
    notifications_sweep,
)
from selfcare.services.system import heartbeat_record

WORKER_HEARTBEAT = "celery-worker"


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Record that a worker is consuming the queue (scheduled by beat)."""
    heartbeat_record(name=WORKER_HEARTBEAT)


class NotificationNotSentError(Exception):
    """A send failed and the row is pending again: the task retries it."""


@shared_task(
    ignore_result=True,
    autoretry_for=(NotificationNotSentError,),
    # 10, 20, 40, 80 s (less, with jitter): a mail server's or SMS provider's
    # hiccup passes; one that lasts longer is left to the sweep and to staff.
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=MAX_ATTEMPTS - 1,
)
def send_notification(notification_id: int) -> None:
    """Send one outbox row (claimed first, so never twice); nothing to do if it is gone or sent."""
    if notification_deliver(notification_id=notification_id) is DeliveryOutcome.WILL_RETRY:
        raise NotificationNotSentError(notification_id)


@shared_task(ignore_result=True)
def sweep_notifications() -> None:
    """Send what the commit could not queue and take back what a dead worker held (scheduled by beat)."""
    notifications_enqueue(notification_ids=notifications_sweep())


@shared_task(ignore_result=True, acks_late=True)
def rotate_secrets() -> None:
    """Re-encrypt the secrets at rest with the newest key (after a key was prepended)."""
    from selfcare.services.secrets import secrets_rotate

    secrets_rotate()
