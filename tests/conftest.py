"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test.client import Client

from selfcare.middleware import SESSION_MEMBERSHIP_KEY
from selfcare.models import Membership
from tests.cast import Cast, make_cast
from tests.worker import WorkerProcess

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def cast(db: None) -> Cast:
    """Company Rossi with every role, and company Bianchi that they must never see."""
    return make_cast()


def log_in(client: Client, membership: Membership) -> Client:
    """Log `client` in as the membership's user, working in the membership's company.

    This skips the login form and its second factor: the login tests cover those.
    """
    client.force_login(membership.user)
    session = client.session
    session[SESSION_MEMBERSHIP_KEY] = membership.pk
    session.save()
    return client


@pytest.fixture
def client_as(client: Client) -> Any:
    """`client_as(membership)`: the test client, logged in as that membership."""

    def as_member(membership: Membership) -> Client:
        return log_in(client, membership)

    return as_member


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[WorkerProcess]:
    """A real Celery worker consuming this run's queue against the test database."""
    with WorkerProcess() as worker:
        yield worker


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Playwright drives the system Chromium; no browser is ever downloaded."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def pinned_queries(client: Client, django_assert_num_queries: Any) -> Any:
    """Fetch a page and require exactly `queries` database queries for it.

    A list page's query count must not grow with the number of rows: tests pin
    it at two sizes of data with the same number.
    """

    def get(url: str, *, queries: int, client_: Client | None = None, status: int = 200) -> Any:
        with django_assert_num_queries(queries):
            response = (client_ or client).get(url)
        assert response.status_code == status, response
        return response

    return get
