"""The shared cache's fallback (locker/infra/cache.py) without a Redis: a RedisCache on a
port nothing listens on fails at once, and the cache answers from process memory, skips
the dead server for the back-off period, and rate limits keep counting."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import caches

from locker.infra import cache as resilient
from locker.infra import ratelimit


def dead_redis(settings: Any, retry_after_s: float = 30) -> Any:
    settings.CACHES = {
        "default": {
            "BACKEND": "locker.infra.cache.ResilientCache",
            "LOCATION": f"redis://127.0.0.1:1/{time.monotonic_ns()}",  # a fresh outage state
            "OPTIONS": {
                "primary_options": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
                "retry_after_s": retry_after_s,
            },
        }
    }
    return caches["default"]


def test_a_dead_redis_is_skipped_after_one_failure_and_memory_stands_in(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = dead_redis(settings)
    calls = 0
    primary_get = store.primary.get

    def counting_get(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return primary_get(*args, **kwargs)

    store.primary.get = counting_get
    assert store.get("k") is None
    assert store.add("k", "v", timeout=60) is True
    assert store.add("k", "other", timeout=60) is False
    assert store.get("k") == "v"
    for _ in range(20):
        store.get("k")
    assert calls == 1, "the dead server was tried again within the back-off period"
    assert store.is_down()
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1


def test_the_dead_server_is_tried_again_after_the_back_off(settings: Any) -> None:
    store = dead_redis(settings, retry_after_s=0.05)
    store.set("k", 1)
    time.sleep(0.1)
    tried: list[str] = []
    store.primary.get = lambda *a, **k: tried.append("get") or 7
    assert store.get("k") == 7
    assert tried == ["get"] and not store.is_down()


def test_rate_limits_hold_while_redis_is_down(settings: Any) -> None:
    dead_redis(settings)
    allowed = [ratelimit.hit("t", "1.2.3.4", limit=3, window_s=60) for _ in range(6)]
    assert allowed == [True, True, True, False, False, False]


def test_rate_limits_hold_when_the_cache_itself_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def add(self, *args: Any, **kwargs: Any) -> bool:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(ratelimit, "cache", Broken())
    resilient.local_fallback("ratelimit").clear()
    allowed = [ratelimit.hit("t", "5.6.7.8", limit=2, window_s=60) for _ in range(4)]
    assert allowed == [True, True, False, False]
