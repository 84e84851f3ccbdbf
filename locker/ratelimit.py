"""A small fixed-window rate limiter on the cache (Redis in CI and production, shared files
under `make run`), for the doors strangers can knock on: contact links, log-in, sign-up."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    # The same address the access log records: REMOTE_ADDR, or behind our own proxy the hop
    # it appended; never an X-Forwarded-For the client wrote itself.
    from .access import client_ip as trusted_ip

    return trusted_ip(request) or "unknown"


def hit(scope: str, key: str, *, limit: int, window_s: int) -> bool:
    """Count one attempt; True while the caller is within `limit` attempts per window."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    name = f"rl:{scope}:{digest}"
    if cache.add(name, 1, timeout=window_s):
        return True
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=window_s)
        return True
    return count <= limit
