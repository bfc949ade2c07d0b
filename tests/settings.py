"""Settings for the test suite: the real PostgreSQL and Redis of the machine.

`make test` runs against the local PostgreSQL and Redis unless DATABASE_URL /
REDIS_URL say otherwise. Each pytest-xdist worker gets its own database (from
pytest-django), its own Celery queue and its own cache prefix, so parallel runs
never take each other's tasks or keys.
"""

import os
import uuid
from pathlib import Path

_run = os.environ.get("PYTEST_XDIST_WORKER", "main") + "-" + uuid.uuid4().hex[:8]
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/selfcare")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379")
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"test-{_run}")
os.environ.setdefault("CACHE_KEY_PREFIX", f"test-{_run}")
# Live-server tests drive the browser from the test thread, where Playwright
# runs an event loop; Django's async-safety guard would refuse the ORM there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from selfcare.settings import *  # noqa: E402, F403

# Hashing cost is not under test, and the default one makes a suite of logins slow.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# WhiteNoise looks for STATIC_ROOT at start; the suite serves static files
# through the finders and never collects them.
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # noqa: F405
