"""Redis down for a while: the portal keeps serving, and what it had to send goes out once, when Redis is back.

Redis is both the cache and the Celery broker. The cache holds nothing the
portal cannot do without (selfcare/cache.py): with it down, pages, the login
form and the API answer as usual. The broker carries the notifications'
sends: those made meanwhile wait in the outbox (their rows) and the sweep
sends each of them exactly once when the broker is back. The portal runs as a
real server process and the worker as a real Celery worker, both on a
throwaway Redis that the test stops and starts again.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.db.models import F
from django.test import override_settings

from selfcare.models import Channel, DeliveryStatus, Notification
from selfcare.services.tokens import api_token_create
from selfcare.tasks import send_notification
from tests.cast import Cast, make_cast
from tests.commands import manage, on_the_test_database
from tests.factories import DEFAULT_PASSWORD
from tests.faults.http import get, log_in_through_the_form, session_cookie_of
from tests.faults.services import PortalServer, ThrowawayRedis
from tests.selfcare.test_notification_delivery import read_folder, succeeded
from tests.selfcare.test_notifications import EVENT, install_event_templates
from tests.worker import WorkerProcess, wait_until

# Nothing listens on port 1: a connection there is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def event_templates(settings: Any, tmp_path: Path) -> Path:
    return install_event_templates(settings, tmp_path / "templates")


# --- the cache backend ------------------------------------------------------------


@pytest.fixture
def cache_down(settings: Any) -> Iterator[Any]:
    down = {**settings.CACHES["default"], "LOCATION": UNREACHABLE_REDIS}
    with override_settings(CACHES={"default": down}):
        yield caches["default"]


def test_a_cache_that_does_not_answer_finds_nothing_and_takes_writes_it_then_loses(
    cache_down: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="selfcare.cache"):
        cache_down.set("key", "value")
        cache_down.set_many({"a": 1, "b": 2})

        assert cache_down.get("key") is None
        assert cache_down.get("key", "default") == "default"
        assert cache_down.get_many(["a", "b"]) == {}
        assert cache_down.has_key("key") is False
        # A lock taken with add() is taken, as in a cache that was just emptied.
        assert cache_down.add("lock", True) is True
        assert cache_down.delete("lock") is False
        with pytest.raises(ValueError, match="not found"):
            cache_down.incr("counter")

    assert "cache unavailable, get answered as a miss" in caplog.text


# --- the portal and a worker with Redis stopped and started again ----------------

# Pages of each kind: a manager's (the administrator) and a line user's, the
# Reports page that caches its charts, the inbox that lists the notifications.
PAGES = {
    "rossi_admin": ("/", "/lines/", "/inbox/", "/insight/", "/invoices/", "/settings/users/", "/help/"),
    "rossi_line_user": ("/", "/lines/", "/inbox/", "/insight/", "/settings/", "/help/"),
}
KEYS = ("order-1-shipped", "order-2-shipped", "order-3-shipped")

# The producer side in a process of its own, as the web server is: several
# events, each to every user of the company, committed together.
NOTIFY_A_BATCH_IN_A_PORTAL_PROCESS = f"""
import os
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from selfcare.models import Channel, Company, User
from selfcare.services.notifications import notify

engine = settings.TEMPLATES[0]
templates = [{{**engine, "DIRS": [*engine["DIRS"], os.environ["EVENT_TEMPLATES"]]}}]
company = Company.objects.get(pk=os.environ["COMPANY_ID"])
with override_settings(TEMPLATES=templates), transaction.atomic():
    for key in {KEYS!r}:
        notify(
            company=company,
            event="{EVENT}",
            key=key,
            recipients=User.objects.filter(memberships__company=company).order_by("pk"),
            context={{"order_number": key}},
            channels=[Channel.EMAIL],
        )
print("committed")
"""


SWEEP_IN_A_PORTAL_PROCESS = "from selfcare.tasks import sweep_notifications; sweep_notifications.delay()"


def run_in_a_portal_process(code: str, *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return manage("shell", "-c", code, env={**on_the_test_database(), **env}, timeout=120)


def health(server: PortalServer) -> tuple[int, dict[str, str]]:
    answer = get(f"{server.url}/healthz")
    checks: dict[str, str] = json.loads(answer.body)["checks"]
    return answer.status, checks


def assert_every_page_loads(server: PortalServer, cast: Cast, cookies: dict[str, str]) -> None:
    for name, cookie in cookies.items():
        for page in PAGES[name]:
            answer = get(f"{server.url}{page}", cookie=cookie)
            assert answer.status == 200, f"{page} as {name}: {answer.status}\n{answer.body[:500]}"
            # The user's own page, not the login page nor an error page.
            assert getattr(cast, name).user.name in answer.body, f"{page} as {name}"


@pytest.mark.faults
@pytest.mark.worker
def test_with_redis_down_pages_load_and_notifications_wait_then_go_out_once_each_when_it_is_back(
    transactional_db: None, tmp_path: Path, event_templates: Path
) -> None:
    cast = make_cast()
    _token, api_key = api_token_create(membership=cast.rossi_admin, name="ERP", created_by=None)
    cookies = {name: session_cookie_of(getattr(cast, name)) for name in ("rossi_admin", "rossi_line_user")}
    redis_server = ThrowawayRedis(Path(tempfile.mkdtemp(prefix="redis-", dir=tmp_path)))
    mail_folder = tmp_path / "mail"
    env = {
        "REDIS_URL": redis_server.url,
        "CACHE_URL": redis_server.url_of(1),
        "CELERY_BROKER_URL": redis_server.url_of(0),
        "EMAIL_URL": f"filemail://{mail_folder}",
    }
    redis_server.start()
    try:
        with WorkerProcess(extra_env=env) as worker, PortalServer(env=env) as server:
            assert health(server) == (200, {"database": "ok", "cache": "ok", "broker": "ok"})
            assert_every_page_loads(server, cast, cookies)

            redis_server.stop()

            assert health(server) == (503, {"database": "ok", "cache": "down", "broker": "down"})
            assert_every_page_loads(server, cast, cookies)
            # allauth counts logins and DRF counts API calls in the cache: both still work.
            login = log_in_through_the_form(
                server.url, email=cast.rossi_line_user.user.email, password=DEFAULT_PASSWORD
            )
            assert (login.status, login.headers["Location"]) == (302, "/")
            api = get(f"{server.url}/api/v1/lines/", headers={"Authorization": f"Token {api_key}"})
            assert api.status == 200, api.body[:500]

            producer = run_in_a_portal_process(
                NOTIFY_A_BATCH_IN_A_PORTAL_PROCESS,
                env={**env, "EVENT_TEMPLATES": str(event_templates), "COMPANY_ID": str(cast.rossi.pk)},
            )
            # The events were committed; the broker's absence is a warning, not an error.
            assert producer.returncode == 0, producer.stderr
            assert "committed" in producer.stdout
            # Each event queues its own sends when the transaction commits.
            assert producer.stderr.count("could not queue 3 notification(s)") == len(KEYS)
            rows = list(Notification.objects.filter(channel=Channel.EMAIL))
            assert len(rows) == len(KEYS) * 3
            assert {(row.status, row.attempts) for row in rows} == {(DeliveryStatus.PENDING, 0)}

            redis_server.start()

            assert health(server) == (200, {"database": "ok", "cache": "ok", "broker": "ok"})
            # A minute later, as beat runs it: the rows are past the sweep's grace.
            Notification.objects.update(created_at=F("created_at") - timedelta(minutes=1))
            sweeper = run_in_a_portal_process(SWEEP_IN_A_PORTAL_PROCESS, env=env)
            assert sweeper.returncode == 0, sweeper.stderr
            wait_until(
                lambda: not Notification.objects.exclude(status=DeliveryStatus.SENT).exists(), timeout=90
            )
            wait_until(lambda: succeeded(worker, send_notification) == len(rows))
    finally:
        redis_server.stop()

    mail = read_folder(mail_folder)
    for row in rows:
        assert mail.count(f"Message-ID: <{row.message_id}@") == 1, row
    assert mail.count("Message-ID: ") == len(rows)
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
