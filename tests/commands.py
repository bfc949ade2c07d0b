"""The portal's commands run in a subprocess, as an operator runs them: exit codes, stdout, stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

from django.conf import settings

from tests.worker import database_url_of_test_database

# What `make run` leaves unset: no server, SQLite and a filesystem broker.
SERVER_SETTINGS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "CELERY_TASK_DEFAULT_QUEUE")


def manage(
    *args: str,
    env: Mapping[str, str] | None = None,
    unset: Collection[str] = (),
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """`python manage.py ARGS` with this process's environment, less `unset`, plus `env`."""
    inherited = {key: value for key, value in os.environ.items() if key not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**inherited, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def on_the_test_database() -> dict[str, str]:
    """Settings for a subprocess that works on this test's database and queue."""
    return {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_of_test_database(),
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
    }


def in_embedded_mode(var_dir: Path) -> dict[str, str]:
    """Settings for a subprocess in `make run`'s embedded mode, keeping its files in `var_dir`.

    Pass `unset=SERVER_SETTINGS` along, so that no server of the test run is used.
    """
    return {"DJANGO_SETTINGS_MODULE": "selfcare.settings", "VAR_DIR": str(var_dir)}
