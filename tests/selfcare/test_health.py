"""/healthz: the state of the database, the cache and the broker (CONTRACTS.md, HTTP)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from selfcare.services.system import heartbeat_record
from selfcare.tasks import WORKER_HEARTBEAT

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: a connection there is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_healthz_answers_200_when_every_component_is_up(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert response.json()["status"] == "ok"


def test_healthz_needs_no_login_and_is_never_cached(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_cache_is_down(client: Client) -> None:
    unreachable_cache = {
        "default": {
            "BACKEND": "selfcare.cache.ForgivingRedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    with override_settings(CACHES=unreachable_cache):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "down"
    assert response.json()["checks"]["database"] == "ok"


def test_healthz_answers_503_when_the_broker_is_down(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL=UNREACHABLE_REDIS, CELERY_BROKER_TRANSPORT_OPTIONS={}):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "down"


def test_healthz_reports_when_the_worker_was_last_seen(client: Client) -> None:
    assert client.get("/healthz").json()["worker_last_seen"] is None

    heartbeat = heartbeat_record(name=WORKER_HEARTBEAT)

    assert client.get("/healthz").json()["worker_last_seen"] == heartbeat.seen_at.isoformat()
