"""Django's Redis cache, failing open: a cache that is down costs a slower page, never a failed one.

Django's own RedisCache raises on a refused connection, so a Redis restart
would turn every cached public page into a 500. Here a read misses, a write
is dropped and the error is logged (at most once a minute per process); the
callers then read the database, as on any miss. ``incr``/``decr`` still raise:
a counter that silently passes would lift a limit (accounts.throttling's reset
mails count there and refuse to send while the cache is down, ADR 0013).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_last_logged = 0.0


def _log(method: str, exc: Exception) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged > 60:
        _last_logged = now
        log.error("Cache unavailable (%s): %s; serving without it", method, exc)


# What each method answers when Redis cannot: a miss, a write not made.
_FALLBACKS: dict[str, Any] = {
    "get": None,  # replaced by the caller's default below
    "get_many": {},
    "has_key": False,
    "add": False,
    "set": None,
    "set_many": [],
    "touch": False,
    "delete": False,
    "delete_many": None,
    "clear": False,
}


class ForgivingRedisCache(RedisCache):
    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except RedisError as exc:
            _log("get", exc)
            return default


def _forgiving(name: str):
    method = getattr(RedisCache, name)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except RedisError as exc:
            _log(name, exc)
            fallback = _FALLBACKS[name]
            return type(fallback)() if isinstance(fallback, dict | list) else fallback

    return wrapper


for _name in _FALLBACKS:
    if _name != "get":
        setattr(ForgivingRedisCache, _name, _forgiving(_name))


# -- cache generations ----------------------------------------------------------------------
# Entries whose key carries a generation are dropped at once by replacing the generation
# (a request that read old data just before stores it under a key nobody reads any more).


def generation(key: str) -> str:
    """The current generation stored under ``key`` (a new one when it was lost)."""
    import uuid

    from django.core.cache import cache

    value = cache.get(key)
    if value is None:
        # Lost (evicted, cleared): a new one leaves the old entries unread.
        cache.add(key, uuid.uuid4().hex, None)
        # Culled again at once, or a cache that keeps nothing: a key of its own.
        value = cache.get(key) or uuid.uuid4().hex
    return value


def new_generation(key: str) -> None:
    """Every entry keyed with the generation under ``key`` is forgotten."""
    import uuid

    from django.core.cache import cache

    cache.set(key, uuid.uuid4().hex, None)
