"""Fixtures shared by the whole suite."""

from __future__ import annotations

import copy
import importlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.client import Client
from django.utils import translation

# The portal imports selfcare.auth with its middleware when it starts; a test
# client loads the middleware only at its first request. Imported here, its
# login receiver (which records that a session's two-factor check is done)
# also sees the logins that tests make with force_login.
import selfcare.auth  # noqa: F401
from selfcare.middleware import SESSION_MEMBERSHIP_KEY
from selfcare.models import Membership
from tests.cast import Cast, make_cast
from tests.worker import WorkerProcess

CHROMIUM = "/usr/bin/chromium"


def _commits(request: pytest.FixtureRequest) -> bool:
    """Whether the test commits (and pytest-django flushes the database after it), rather than rolling back."""
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server", "celery_worker_process"} & set(request.fixturenames)
    )


# Rows that data migrations make, for every installation: each test that uses
# the database starts with them, as a fresh database has them, although the
# flush after a committing test (pytest-django's, in this run or, with
# --reuse-db, in the last one) emptied their tables: (a model that tells whether
# they are there, the migrations that make them); staff groups have their own
# fixture below.
_MIGRATION_DATA: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "selfcare.HelpPage",
        (
            ("selfcare.migrations.0005_help_pages", "load"),
            ("selfcare.migrations.0008_help_pages_abroad", "load"),
        ),
    ),
    (
        "billing.FairUseRule",
        (
            ("billing.migrations.0012_fair_use", "seed_policy"),
            ("billing.migrations.0013_fair_use_roaming", "seed_roaming_rule"),
        ),
    ),
    ("roaming.RoamingZone", (("roaming.migrations.0002_zones_and_rates", "seed"),)),
)


@pytest.fixture(autouse=True)
def _migration_data(request: pytest.FixtureRequest) -> None:
    if _commits(request):
        request.getfixturevalue("transactional_db")
    elif request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    from django.apps import apps

    for model, migrations in _MIGRATION_DATA:
        if not apps.get_model(model)._default_manager.exists():
            for module, function in migrations:
                getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture(autouse=True)
def _traffic_partitions_dropped(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """Traffic partitions a committing test made are dropped after it.

    They are tables: flushing a transactional test's rows leaves them behind,
    and the next test in the same database would start with partitions it did
    not make. (A test in a rolled-back transaction rolls them back itself.)
    """
    yield
    if not _commits(request) or connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'billing_trafficrecord'::regclass"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP TABLE {name}")


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Iterator[None]:
    """Messages a test reads outside a request are in English, whatever language the previous test left.

    The locale middleware activates a request's language in the thread and
    leaves it there; without this, a service's message would come out in the
    language of whichever test ran before in the same worker. Requests still
    choose their own language (Italian by default).
    """
    with translation.override("en"):
        yield


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
def api_client_for(db: None) -> Any:
    """`api_client_for(membership)`: a DRF test client calling the API with a new token of that membership.

    The client carries `Authorization: Token <key>`; its token is `client.api_token`.
    """
    from rest_framework.test import APIClient

    from selfcare.services.tokens import api_token_create

    def client_for(membership: Membership) -> APIClient:
        token, key = api_token_create(membership=membership, name="Test integration", created_by=None)
        api_client = APIClient()
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        api_client.api_token = token  # type: ignore[attr-defined]  # for the test's own use
        return api_client

    return client_for


def totp_code(secret: str) -> str:
    """The code an authenticator app shows for `secret` now.

    The portal accepts only the current period's code: a code taken in the
    last seconds of a period could reach the server in the next one, so this
    waits for the next period instead.
    """
    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < 3:
        time.sleep(left + 0.05)
    return str(format_hotp_value(hotp_value(secret, int(time.time()) // period)))


@pytest.fixture
def fresh_cache(settings: Any) -> None:
    """A cache namespace of the test's own: no rate-limit count or used TOTP code of another test.

    allauth keeps both in the shared Redis cache, where every test of a run
    logs in from 127.0.0.1; a new key prefix starts the test from zero without
    flushing anybody else's keys.
    """
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"{caches['default'].get('KEY_PREFIX', '')}-{uuid.uuid4().hex[:8]}"
    settings.CACHES = caches


@pytest.fixture
def staff_groups(db: None) -> None:
    """The staff groups of the data migration, made again where a transactional test flushed them."""
    from django.contrib.auth.models import Group

    from selfcare.staff import STAFF_GROUPS, staff_groups_sync

    if Group.objects.filter(name__in=STAFF_GROUPS).count() != len(STAFF_GROUPS):
        staff_groups_sync()


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
