"""The Celery application. Its configuration is the CELERY_* settings."""

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from celery import Celery, Task, shared_task
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfcare.settings")

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

app = Celery("selfcare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _prepare_filesystem_broker() -> None:
    """kombu's filesystem transport (the embedded `make run`) needs its folders to exist."""
    if not str(app.conf.broker_url).startswith("filesystem://"):
        return
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


_prepare_filesystem_broker()


def resumable_task(*, retry_also: tuple[type[Exception], ...] = ()) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A Celery task whose work is resumable: its progress is in database rows, or it reads only rows still to do.

    The database gone for a moment (failover, restart), and `retry_also`, are
    retried with backoff; a task whose worker died is delivered again
    (acks_late) rather than lost.
    """

    def decorate(function: Callable[P, R]) -> Task[P, R]:
        task: Task[P, R] = shared_task(
            ignore_result=True,
            autoretry_for=(OperationalError, InterfaceError, *retry_also),
            retry_backoff=30,
            retry_backoff_max=1800,
            retry_jitter=True,
            max_retries=6,
            acks_late=True,
            reject_on_worker_lost=True,
        )(function)
        return task

    return decorate


# A failed publish must not keep a web request waiting: one quick retry, and
# the outbox's sweep does the rest.
ENQUEUE_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def outbox_enqueue(task: Task[Any, Any], row_ids: Iterable[int], *, what: str) -> int:
    """Queue `task` once for each outbox row (a committed row whose work is still to do); how many were queued.

    A broker that is down stops the loop at the first failure (the next ones
    would fail too) and leaves the rows to the periodic sweep that queues
    them again: the row, not the message, is the record of the work.
    """
    queued = 0
    ids = list(row_ids)
    for row_id in ids:
        try:
            task.apply_async(args=(row_id,), retry_policy=ENQUEUE_RETRY_POLICY)
        except Exception:  # any failure to publish: the sweep queues them again
            logger.warning("could not queue %d %s; the sweep will", len(ids) - queued, what, exc_info=True)
            break
        queued += 1
    return queued
