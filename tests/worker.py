"""A real Celery worker in a subprocess, on this test run's queue and database.

The worker is a separate process, as in production: it reads the test
database through its own connection (so tests that use it need committed
data: `transactional_db`), consumes the run's own queue on the real broker,
and can be killed with SIGKILL to test what survives a crash.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def database_url_of_test_database() -> str:
    """DATABASE_URL for the database this test process actually uses."""
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def purge_the_runs_queue() -> None:
    """Empty this run's queue before a worker starts on it.

    Earlier tests of the same run commit rows whose tasks are queued with no
    worker to run them (notifications, copies, exports). A worker started
    later would run those too, and a test counting its own tasks would count
    theirs. The purge happens before the test queues anything.
    """
    from selfcare.celery import app

    # The app's queues are this run's only: CELERY_TASK_DEFAULT_QUEUE (tests/settings.py).
    app.control.purge()


class WorkerProcess:
    def __init__(self, *, concurrency: int = 1, extra_env: dict[str, str] | None = None) -> None:
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def start(self, timeout: float = 60) -> WorkerProcess:
        purge_the_runs_queue()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url_of_test_database(),
            "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
            **self.extra_env,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "selfcare",
                "worker",
                "--queues",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--concurrency",
                str(self.concurrency),
                "--pool",
                "prefork",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log:
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited at start:\n{self.log}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the Celery worker did not start in {timeout} s:\n{self.log}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and its pool), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is not None:
            # A failing test shows what the worker did: the reason is usually there.
            sys.stderr.write(f"--- Celery worker log ---\n{self.log}\n")
        Path(self._log.name).unlink(missing_ok=True)


def wait_until(condition: object, *, timeout: float = 30, interval: float = 0.1) -> None:
    """Poll `condition()` until it is true, or fail after `timeout` seconds."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
