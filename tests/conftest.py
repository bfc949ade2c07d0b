"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test.client import Client

from tests.worker import WorkerProcess

CHROMIUM = "/usr/bin/chromium"


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
