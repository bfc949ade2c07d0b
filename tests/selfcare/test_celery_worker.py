"""Background work really runs on a Celery worker, through the real broker."""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings

from selfcare.celery import app as celery_app
from selfcare.models import Heartbeat
from selfcare.tasks import WORKER_HEARTBEAT, heartbeat
from tests.worker import WorkerProcess, wait_until


@pytest.mark.worker
def test_a_task_sent_to_the_broker_is_run_by_a_real_worker(celery_worker_process: WorkerProcess) -> None:
    assert not Heartbeat.objects.filter(name=WORKER_HEARTBEAT).exists()

    heartbeat.delay()

    wait_until(lambda: Heartbeat.objects.filter(name=WORKER_HEARTBEAT).exists())


@pytest.mark.worker
def test_a_test_worker_starts_on_an_empty_queue(transactional_db: None) -> None:
    # What an earlier test's commit leaves behind with no worker to run it.
    heartbeat.delay()
    heartbeat.delay()

    with WorkerProcess() as worker:
        heartbeat.delay()
        wait_until(lambda: f"Task {heartbeat.name}[" in worker.log and " succeeded in " in worker.log)
        time.sleep(1)  # room for any other message in the queue to be run too

        assert worker.log.count(f"Task {heartbeat.name}[") == 2  # received, then succeeded: one task


def test_each_pytest_process_has_a_queue_and_cache_prefix_of_its_own() -> None:
    # Under xdist, the workers must not share what pytest's controller chose.
    process = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert settings.CELERY_TASK_DEFAULT_QUEUE.startswith(f"test-{process}-")
    assert settings.CACHES["default"]["KEY_PREFIX"] == settings.CELERY_TASK_DEFAULT_QUEUE


def test_tasks_are_acknowledged_late_and_given_back_if_their_worker_dies() -> None:
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.task_time_limit > celery_app.conf.task_soft_time_limit > 0


def test_cache_and_broker_use_separate_redis_databases() -> None:
    cache_location = settings.CACHES["default"]["LOCATION"]

    assert cache_location.rsplit("/", 1)[-1] != settings.CELERY_BROKER_URL.rsplit("/", 1)[-1]


def test_beat_schedules_the_worker_heartbeat() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"]

    assert entry["task"] == heartbeat.name
