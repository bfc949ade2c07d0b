"""The portal's cache backend: Django's Redis cache, except that a Redis that does not answer is a miss.

Django's backend raises on every call while Redis is down, and every page that
touches the cache answers 500: the login form (allauth counts failed logins
there), each API call (DRF's throttles), the Reports page. The cache holds
nothing the portal cannot do without, so this backend answers as a cache that
has just evicted everything would: a read finds nothing, a write is taken and
lost at once. Each answer is one a working cache may give, so every caller
already copes with it. While Redis is down, the rate limits count nothing
(logins and API calls go through, as with an emptied cache) and /healthz
reports the cache down: what it writes does not come back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)

# Redis down or too slow (CACHES' socket timeouts); any other error is a bug to see.
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError)

T = TypeVar("T")


def _or_as_evicted(operation: str, call: Callable[[], T], evicted: T) -> T:
    try:
        return call()
    except UNAVAILABLE as error:
        logger.warning("cache unavailable, %s answered as a miss: %s", operation, error)
        return evicted


class ForgivingRedisCacheClient(RedisCacheClient):
    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        # Stored, then evicted: a lock taken with add() is taken, as in an emptied cache.
        return _or_as_evicted(
            "add", lambda: super(ForgivingRedisCacheClient, self).add(key, value, timeout), True
        )

    def get(self, key: Any, default: Any) -> Any:
        return _or_as_evicted(
            "get", lambda: super(ForgivingRedisCacheClient, self).get(key, default), default
        )

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        _or_as_evicted("set", lambda: super(ForgivingRedisCacheClient, self).set(key, value, timeout), None)

    def touch(self, key: Any, timeout: Any) -> bool:
        return _or_as_evicted(
            "touch", lambda: super(ForgivingRedisCacheClient, self).touch(key, timeout), False
        )

    def delete(self, key: Any) -> bool:
        return _or_as_evicted("delete", lambda: super(ForgivingRedisCacheClient, self).delete(key), False)

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        return _or_as_evicted("get_many", lambda: super(ForgivingRedisCacheClient, self).get_many(keys), {})

    def has_key(self, key: Any) -> bool:
        return _or_as_evicted("has_key", lambda: super(ForgivingRedisCacheClient, self).has_key(key), False)

    def incr(self, key: Any, delta: int) -> Any:
        try:
            return super().incr(key, delta)
        except UNAVAILABLE as error:
            logger.warning("cache unavailable, incr answered as a miss: %s", error)
            # What Django's caches raise for a key that is not there.
            raise ValueError(f"Key '{key!r}' not found") from error

    def set_many(self, data: Mapping[Any, Any], timeout: Any) -> None:
        _or_as_evicted(
            "set_many", lambda: super(ForgivingRedisCacheClient, self).set_many(data, timeout), None
        )

    def delete_many(self, keys: Iterable[Any]) -> None:
        _or_as_evicted("delete_many", lambda: super(ForgivingRedisCacheClient, self).delete_many(keys), None)

    def clear(self) -> bool:
        return _or_as_evicted("clear", lambda: super(ForgivingRedisCacheClient, self).clear(), False)


class ForgivingRedisCache(RedisCache):
    """settings.CACHES' Redis backend (this module's docstring says why)."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ForgivingRedisCacheClient
