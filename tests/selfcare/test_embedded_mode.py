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

from tests.commands import SERVER_SETTINGS, in_embedded_mode, manage
from tests.worker import wait_until

BASE_DIR = Path(settings.BASE_DIR)


def embedded(*args: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    return manage(*args, env=in_embedded_mode(var_dir), unset=SERVER_SETTINGS)


@pytest.mark.worker
def test_the_embedded_mode_runs_background_work_without_any_server(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in SERVER_SETTINGS}
    env.update(in_embedded_mode(tmp_path))
    migrated = embedded("migrate", "--noinput", var_dir=tmp_path)
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
        sent = embedded(
            "shell", "-c", "from selfcare.tasks import heartbeat; heartbeat.delay()", var_dir=tmp_path
        )
        assert sent.returncode == 0, sent.stderr

        def heartbeat_written() -> bool:
            with sqlite3.connect(database) as db:
                count: int = db.execute("SELECT count(*) FROM selfcare_heartbeat").fetchone()[0]
                return count == 1

        wait_until(heartbeat_written, timeout=60)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    health = embedded(
        "shell",
        "-c",
        "from django.test import Client; print(Client().get('/healthz').status_code)",
        var_dir=tmp_path,
    )
    assert health.stdout.strip().splitlines()[-1] == "200", health.stderr
