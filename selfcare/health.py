"""The checks behind /healthz: database, cache and broker, each with a short timeout."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = f"healthz:{secrets.token_hex(4)}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was written")
    cache.delete(key)


def check_broker() -> None:
    # A connection of its own, not one from Celery's pool: a failed check must
    # leave nothing behind for the tasks that the page then sends.
    broker = Connection(
        settings.CELERY_BROKER_URL,
        transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
        connect_timeout=CONNECT_TIMEOUT_S,
    )
    try:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CONNECT_TIMEOUT_S)
    finally:
        broker.release()


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def run_checks() -> dict[str, str]:
    """Each component's state: "ok", or "down" (the reason goes to the log, not the page)."""
    states: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:  # Any failure means down; the page must still answer.
            logger.exception("health check %s failed", name)
            states[name] = "down"
        else:
            states[name] = "ok"
    return states
