"""Settings for the test suite: the real PostgreSQL and Redis of the machine.

`make test` runs against the local PostgreSQL and Redis unless DATABASE_URL /
REDIS_URL say otherwise. Each pytest-xdist worker gets its own database (from
pytest-django), its own Celery queue and its own cache prefix, so parallel runs
never take each other's tasks or keys.
"""

import os
import uuid
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/selfcare")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379")

# The queue and cache prefix belong to one pytest process. pytest's controller
# loads these settings too, and its xdist workers inherit its environment: a
# value kept from there would give every worker the same queue, and each would
# run (and purge) the others' tasks. A Celery worker started by a test process
# inherits that process's PYTEST_XDIST_WORKER and keeps its values (tests/worker.py).
_pytest_process = os.environ.get("PYTEST_XDIST_WORKER", "main")
if os.environ.get("TEST_RUN_OWNER") != _pytest_process:
    _run = f"test-{_pytest_process}-{uuid.uuid4().hex[:8]}"
    os.environ.update(TEST_RUN_OWNER=_pytest_process, CELERY_TASK_DEFAULT_QUEUE=_run, CACHE_KEY_PREFIX=_run)
# Live-server tests drive the browser from the test thread, where Playwright
# runs an event loop; Django's async-safety guard would refuse the ORM there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from selfcare.settings import *  # noqa: E402, F403

# Hashing cost is not under test, and the default one makes a suite of logins slow.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# WhiteNoise looks for STATIC_ROOT at start; the suite serves static files
# through the finders and never collects them.
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # noqa: F405
