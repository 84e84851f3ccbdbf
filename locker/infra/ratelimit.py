"""A small fixed-window rate limiter on the cache (Redis in CI and production, shared files
under `make run`), for the doors strangers can knock on: contact links, log-in, sign-up.

It fails safe: while the shared cache is away, attempts are counted in this process's memory
(locker/infra/cache.py does that for the configured cache; a cache that raises anyway is
caught here), so a limit is never lifted, at worst counted per process until it returns."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest

from locker.infra.cache import CACHE_ERRORS, local_fallback
from locker.infra.http import client_ip as trusted_ip


def client_ip(request: HttpRequest) -> str:
    # The same address the access log records: REMOTE_ADDR, or behind our own proxy the hop
    # it appended; never an X-Forwarded-For the client wrote itself.
    return trusted_ip(request) or "unknown"


def hit(scope: str, key: str, *, limit: int, window_s: int) -> bool:
    """Count one attempt; True while the caller is within `limit` attempts per window."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    name = f"rl:{scope}:{digest}"
    try:
        return _count(cache, name, limit=limit, window_s=window_s)
    except CACHE_ERRORS:
        return _count(local_fallback("ratelimit"), name, limit=limit, window_s=window_s)


def _count(store: BaseCache, name: str, *, limit: int, window_s: int) -> bool:
    if store.add(name, 1, timeout=window_s):
        return True
    try:
        count = store.incr(name)
    except ValueError:  # expired between add and incr
        store.add(name, 1, timeout=window_s)
        return True
    return count <= limit


RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """("20/m") -> (20, 60): the count and window of a rate written as ninja's throttles
    take it, so that a page and an API route can share one setting."""
    count, _, period = rate.partition("/")
    return int(count), RATE_PERIODS[period.strip()[:1].lower()]


def verification_admitted(request: HttpRequest) -> bool:
    """Whether the /verify page may check an upload now: within LOCKER_VERIFY_RATE for the
    address (the API route has the same limit as a ninja throttle) and within the instance's
    own limit."""
    count, window = parse_rate(settings.LOCKER_VERIFY_RATE)
    return hit("verify", client_ip(request), limit=count, window_s=window) and (
        instance_admits_verification()
    )


def instance_admits_verification() -> bool:
    """One more verification for the whole instance this minute? Checking a large bundle is
    seconds of CPU, so many addresses together must not keep every web process busy."""
    return hit(
        "verify-instance", "all", limit=settings.LOCKER_VERIFY_INSTANCE_PER_MINUTE, window_s=60
    )
