"""PostgreSQL restarted under load: requests meanwhile fail cleanly, and the portal recovers by itself.

A request that finds the database unreachable answers 503 with Retry-After
on a page of the portal's own, with no traceback and no SQL
(selfcare.views.errors); /healthz reports the database down. Once PostgreSQL
is back, the very next requests succeed on the same portal processes: their
persistent connections are checked before use (CONN_HEALTH_CHECKS) and
replaced. The portal runs under gunicorn on a throwaway PostgreSQL that the
test migrates, seeds and restarts in the middle of a stream of requests.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from tests.cast import Cast
from tests.commands import manage
from tests.faults.http import Answer, get
from tests.faults.services import PortalServer, ThrowawayPostgres
from tests.worker import wait_until

UNAVAILABLE = "Service temporarily unavailable"
# What must never reach a customer: a traceback, the SQL, the driver's words.
LEAKS = ("Traceback", "SELECT", "psycopg", "OperationalError", "connection", "5432", "127.0.0.1")


def assert_a_clean_503(answer: Answer) -> None:
    assert answer.status == 503, answer.body[:500]
    assert answer.headers["Retry-After"] == "60"
    for leak in LEAKS:
        assert leak not in answer.body, f"{leak!r} in the page:\n{answer.body}"


# --- the error page, in-process ---------------------------------------------------


@pytest.fixture
def database_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The overview page meets a database that does not answer, as a request does while it restarts."""
    from selfcare.views.pages import DashboardView

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(DashboardView, "get", unreachable)


@pytest.fixture
def client_as_customer(cast: Cast, client_as: Any) -> Client:
    client: Client = client_as(cast.rossi_line_user)
    client.raise_request_exception = False
    return client


def as_answer(response: Any) -> Answer:
    return Answer(response.status_code, response.headers, response.content.decode())


@pytest.mark.usefixtures("database_unreachable")
def test_a_page_that_cannot_reach_the_database_answers_503_with_retry_after(
    client_as_customer: Client,
) -> None:
    answer = as_answer(client_as_customer.get("/", headers={"accept-language": "en"}))

    assert_a_clean_503(answer)
    assert UNAVAILABLE in answer.body
    assert "Try again in a minute." in answer.body


@pytest.mark.usefixtures("database_unreachable")
def test_the_503_page_is_in_the_users_language(client_as_customer: Client) -> None:
    client_as_customer.cookies["django_language"] = "it"
    answer = as_answer(client_as_customer.get("/"))

    assert_a_clean_503(answer)
    assert '<html lang="it">' in answer.body


def test_an_api_call_that_cannot_reach_the_database_answers_503_in_json(
    cast: Cast, api_client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfcare.api.lines import LineViewSet

    api = api_client_for(cast.rossi_admin)
    api.raise_request_exception = False

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(LineViewSet, "list", unreachable)
    response = api.get("/api/v1/lines/", headers={"accept-language": "en"})

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json() == {"detail": "Service temporarily unavailable, try again in a minute."}


def test_any_other_error_still_answers_a_plain_500(
    client_as_customer: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfcare.views.pages import DashboardView

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug, not an outage")

    monkeypatch.setattr(DashboardView, "get", broken)
    response = client_as_customer.get("/")

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert b"ZeroDivisionError" not in response.content


# --- a real server, a real restart ------------------------------------------------

# The throwaway database as a deployment makes it (migrate), then the tests'
# cast, and a session of its line user for the clients.
MIGRATE_AND_SEED = """
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from tests.cast import make_cast
from tests.faults.http import session_cookie_of
print(session_cookie_of(make_cast().rossi_line_user))
"""
PAGES = ("/", "/lines/", "/inbox/")


@dataclass(frozen=True)
class Request:
    started: float
    ended: float
    answer: Answer | None
    failure: str = ""


class Customers:
    """A few clients asking for pages one after the other, each in a thread, until stopped."""

    def __init__(self, server: PortalServer, cookie: str, count: int = 3) -> None:
        self.server = server
        self.cookie = cookie
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._ask, args=(number,)) for number in range(count)]

    def _ask(self, number: int) -> None:
        turn = number
        while not self._stop.is_set():
            page = PAGES[turn % len(PAGES)]
            turn += 1
            started = time.monotonic()
            try:
                request = Request(started, 0, get(f"{self.server.url}{page}", cookie=self.cookie))
            except OSError as error:  # a refused or cut connection: the server itself failed
                request = Request(started, 0, None, repr(error))
            with self._lock:
                self.requests.append(
                    Request(request.started, time.monotonic(), request.answer, request.failure)
                )

    def answered(self, after: float = 0) -> list[Request]:
        with self._lock:
            return [request for request in self.requests if request.started >= after]

    def __enter__(self) -> Customers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def health(server: PortalServer) -> tuple[int, str]:
    answer = get(f"{server.url}/healthz")
    return answer.status, json.loads(answer.body)["checks"]["database"]


def booted_workers(server: PortalServer) -> int:
    return server.log.count("Booting worker with pid")


@pytest.mark.faults
def test_postgres_restarted_under_load_answers_a_clean_503_then_recovers_by_itself() -> None:
    with ThrowawayPostgres() as postgres:
        env = {"DATABASE_URL": postgres.url()}
        seeded = manage(
            "shell", "-c", MIGRATE_AND_SEED, env={"DJANGO_SETTINGS_MODULE": "tests.settings", **env}
        )
        assert seeded.returncode == 0, seeded.stderr
        cookie = seeded.stdout.strip().splitlines()[-1]

        with PortalServer(env=env, threads=4) as server:
            with Customers(server, cookie) as customers:
                wait_until(lambda: len(customers.answered()) >= 15, timeout=60)
                assert health(server) == (200, "ok")

                stopped_at = time.monotonic()
                postgres.stop()
                wait_until(lambda: len(customers.answered(after=stopped_at + 0.5)) >= 6, timeout=30)
                assert health(server) == (503, "down")
                postgres.start()
                back_at = time.monotonic()

                wait_until(lambda: len(customers.answered(after=back_at)) >= 15, timeout=60)
                assert health(server) == (200, "ok")

            # Restarted again between two requests: each server thread keeps a connection
            # (CONN_MAX_AGE) to the server that went away, checked before use and replaced.
            postgres.restart()
            with ThreadPoolExecutor(max_workers=4) as pool:
                quiet = list(
                    pool.map(lambda page: get(f"{server.url}{page}", cookie=cookie).status, PAGES * 4)
                )
            booted = booted_workers(server)

        before = [r for r in customers.requests if r.ended < stopped_at]
        outage = [r for r in customers.requests if r.started >= stopped_at and r.ended < back_at]
        after = [r for r in customers.requests if r.started >= back_at]

    # No request ever lost its connection to the portal: every one got an answer.
    assert [r.failure for r in customers.requests if r.failure] == []
    assert {r.answer.status for r in before if r.answer} == {200}
    # While PostgreSQL was down, requests failed, each with the portal's clean 503.
    failed = [r.answer for r in outage if r.answer and r.answer.status != 200]
    assert len(failed) >= 6
    for answer in failed:
        assert_a_clean_503(answer)
        assert UNAVAILABLE in answer.body
    # Once it was back, every request succeeded, on the same gunicorn worker: no restart needed.
    assert {r.answer.status for r in after if r.answer} == {200}
    assert quiet == [200] * len(PAGES) * 4
    assert booted == 1
