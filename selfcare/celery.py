"""The Celery application. Its configuration is the CELERY_* settings."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from celery import Celery, Task, shared_task
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfcare.settings")

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
