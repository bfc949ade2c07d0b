"""`make run`'s embedded mode: SQLite and kombu's filesystem broker, no server needed.

A smoke test in subprocesses with no DATABASE_URL and no REDIS_URL: migrate,
start a real worker on the filesystem broker, send a task, see its effect in
the SQLite database, and ask /healthz.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.worker import wait_until

BASE_DIR = Path(settings.BASE_DIR)


def embedded_env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "CELERY_TASK_DEFAULT_QUEUE"}
    }
    return {**env, "DJANGO_SETTINGS_MODULE": "selfcare.settings", "VAR_DIR": str(var_dir)}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.worker
def test_the_embedded_mode_runs_background_work_without_any_server(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    database = tmp_path / "portal.sqlite3"
    assert database.exists()

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "selfcare", "worker", "--pool", "solo", "--loglevel", "INFO"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sent = manage("shell", "-c", "from selfcare.tasks import heartbeat; heartbeat.delay()", env=env)
        assert sent.returncode == 0, sent.stderr

        def heartbeat_written() -> bool:
            with sqlite3.connect(database) as db:
                count: int = db.execute("SELECT count(*) FROM selfcare_heartbeat").fetchone()[0]
                return count == 1

        wait_until(heartbeat_written, timeout=60)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    health = manage(
        "shell", "-c", "from django.test import Client; print(Client().get('/healthz').status_code)", env=env
    )
    assert health.stdout.strip().splitlines()[-1] == "200", health.stderr
