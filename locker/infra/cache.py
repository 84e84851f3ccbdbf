"""A cache that never takes a request down with it.

Rate limits, the web form's submission ids and cached chain checks live in the shared cache
(Redis in production). None of them is needed to record evidence, so a cache that is down or
frozen must not turn a request into a 500 or make it wait. `ResilientCache` wraps the real
backend (short socket timeouts are set in settings): on a connection error or timeout it
answers from a per-process local-memory cache and does not try the shared one again for
`retry_after_s` seconds, so a frozen Redis costs one short timeout per process per back-off
period, not one per request. Counting goes on in the local cache meanwhile, so a rate limit
still holds per process (a limit of N becomes at most N per process while the shared cache
is away, never unlimited).

The outage state is per process and per cache location, shared by the threads of a process
(Django makes one backend object per thread)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What a shared cache raises when it is unreachable, frozen, out of memory or cannot write
# (Redis refuses writes with MISCONF when its disk is full; the file cache raises OSError).
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

DEFAULT_RETRY_AFTER_S = 5.0
# Large enough that an outage's rate-limit counters are not culled by badge entries.
FALLBACK_MAX_ENTRIES = 10_000


@dataclass
class _Outage:
    """Whether the shared cache at one location is being skipped, and until when."""

    down_until: float = 0.0
    down: bool = False


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


def local_fallback(name: str = "default") -> LocMemCache:
    """The process-local cache used while the shared one is away. LocMemCache keeps its data
    per process under its name, so every backend object (one per thread) sees the same."""
    return LocMemCache(
        f"locker-fallback:{name}",
        {"OPTIONS": {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES}},
    )


class ResilientCache(BaseCache):
    """The cache named in OPTIONS["primary"] (a backend path, with OPTIONS["primary_options"]
    as its own OPTIONS), falling back to local memory while it fails. See the module text."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        options = dict(params.get("OPTIONS") or {})
        primary_path = options.pop("primary", "django.core.cache.backends.redis.RedisCache")
        primary_options = options.pop("primary_options", {})
        self.retry_after_s = float(options.pop("retry_after_s", DEFAULT_RETRY_AFTER_S))
        shared: dict[str, Any] = {
            key: params[key] for key in ("TIMEOUT", "KEY_PREFIX", "VERSION") if key in params
        }
        self.location = location
        self.primary: BaseCache = import_string(primary_path)(
            location, {**shared, "OPTIONS": primary_options}
        )
        fallback = local_fallback(location)
        # The same key prefix and version as the primary, so keys mean the same in both.
        fallback.key_prefix = self.primary.key_prefix
        fallback.version = self.primary.version
        fallback.default_timeout = self.primary.default_timeout
        self.fallback = fallback
        self._outage = _outage_for(location)

    # -- the switch ------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        outage = self._outage
        if time.monotonic() >= outage.down_until:
            try:
                result = getattr(self.primary, method)(*args, **kwargs)
            except CACHE_ERRORS as exc:
                self._went_down(exc)
            else:
                if outage.down:
                    outage.down = False
                    log.warning("shared cache at %s is back", self._where())
                return result
        return getattr(self.fallback, method)(*args, **kwargs)

    def _went_down(self, exc: BaseException) -> None:
        outage = self._outage
        outage.down_until = time.monotonic() + self.retry_after_s
        if not outage.down:
            # Once per outage, not once per request: the log must stay readable.
            outage.down = True
            log.warning(
                "shared cache at %s unavailable (%r): using this process's memory, "
                "retrying every %.0f s",
                self._where(),
                exc,
                self.retry_after_s,
            )

    def _where(self) -> str:
        # The location without a password (redis://:secret@host/0).
        return self.location.rsplit("@", 1)[-1]

    def is_down(self) -> bool:
        return self._outage.down

    # -- the cache interface ---------------------------------------------------------------

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return bool(self._call("add", key, value, timeout=timeout, version=version))

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._call("get", key, default, version=version)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._call("set", key, value, timeout=timeout, version=version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return bool(self._call("touch", key, timeout=timeout, version=version))

    def delete(self, key: Any, version: Any = None) -> bool:
        return bool(self._call("delete", key, version=version))

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        result: dict[Any, Any] = self._call("get_many", keys, version=version)
        return result

    def has_key(self, key: Any, version: Any = None) -> bool:
        return bool(self._call("has_key", key, version=version))

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        result: int = self._call("incr", key, delta, version=version)
        return result

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        result: list[Any] = self._call("set_many", data, timeout=timeout, version=version)
        return result

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._call("delete_many", keys, version=version)

    def clear(self) -> None:
        self._call("clear")

    def close(self, **kwargs: Any) -> None:
        # Closing a connection to a server that is gone: nothing is left to release.
        with contextlib.suppress(*CACHE_ERRORS):
            self.primary.close(**kwargs)
