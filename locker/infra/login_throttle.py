"""Password guessing, limited per account and per address on every log-in path (the web log-in,
the API's POST /api/tokens, the admin's log-in, which sends people to the web one).

All of them call django.contrib.auth.authenticate, so the limit sits in the authentication
backend: `ThrottledModelBackend` asks `refusal()` before the password is checked and counts
the outcome after. A refused attempt raises PermissionDenied with the refusal on the request
(`request.login_refusal`); authenticate() then sends user_login_failed as for a wrong
password, and the adapters answer 429 with Retry-After.

A stranger must not be able to lock the owner out, so no limit is permanent and nothing a
refused attempt does makes it longer:

- per account (the username as typed, whether or not it exists, so the answer says nothing
  about who has an account), from any address: LOCKER_LOGIN_ACCOUNT_FAILURES failures are
  free; after that each further attempt waits since the last failure, 30 s, then twice as long
  per further failure, never more than LOCKER_LOGIN_MAX_WAIT_S. Attempts refused while
  waiting are not failures: they do not reach the password check and do not extend the wait.
  One attempt at a time reaches the password check for an account (a slot claimed
  atomically per failure count), so many addresses at once get no more guesses than one.
  A success clears the account's count.
- per address, whatever the usernames: LOCKER_LOGIN_RATE attempts (as for the API before),
  and LOCKER_LOGIN_ADDRESS_FAILURES free failures, then the same doubling wait.

Counts live in the shared cache and are forgotten a day after the last failure. Like
ratelimit.py, a cache that fails is replaced by this process's memory, never by no limit."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from locker.infra import ratelimit
from locker.infra.cache import CACHE_ERRORS, local_fallback

FIRST_WAIT_S = 30
# A failure count is forgotten this long after its last failure.
FORGET_AFTER_S = 24 * 3600
# How long one admitted attempt holds its slot: about one password check, so that parallel
# requests cannot all pass the same opening.
SLOT_HOLD_S = 10


@dataclass(frozen=True)
class Refusal:
    """Why an attempt was not let through to the password check, and for how long."""

    scope: str  # "account" or "address"
    retry_after_s: int


def _store() -> BaseCache:
    try:
        cache.get("login-throttle-probe")
    except CACHE_ERRORS:
        return local_fallback("login-throttle")
    return cache


def _key(scope: str, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"login:{scope}:{digest}"


def _account(username: str) -> str:
    # Usernames are compared as Django does (case-sensitively), but "Alice" and "alice " are
    # the same guess target to a person typing them.
    return _key("account", username.strip().casefold())


def _address(request: HttpRequest) -> str:
    return _key("address", ratelimit.client_ip(request))


def wait_after(failures: int, free: int) -> float:
    """Seconds an attempt must wait after the last of `failures` failures (0 while free)."""
    if failures < free:
        return 0.0
    return float(min(settings.LOCKER_LOGIN_MAX_WAIT_S, FIRST_WAIT_S * 2 ** (failures - free)))


def _state(store: BaseCache, key: str) -> tuple[int, float]:
    value = store.get(key)
    if isinstance(value, tuple) and len(value) == 2:
        return int(value[0]), float(value[1])
    return 0, 0.0


def _remaining(store: BaseCache, key: str, free: int) -> tuple[int, float]:
    failures, last = _state(store, key)
    return failures, max(0.0, last + wait_after(failures, free) - time.time())


def refusal(request: HttpRequest, username: str) -> Refusal | None:
    """None when this attempt may go on to the password check (its slot is then claimed);
    else why not, and how long to wait."""
    store = _store()
    count, window = ratelimit.parse_rate(settings.LOCKER_LOGIN_RATE)
    if not ratelimit.hit(
        "login-address", ratelimit.client_ip(request), limit=count, window_s=window
    ):
        return Refusal("address", window)
    _, address_wait = _remaining(store, _address(request), settings.LOCKER_LOGIN_ADDRESS_FAILURES)
    if address_wait > 0:
        return Refusal("address", math.ceil(address_wait))
    key = _account(username)
    failures, account_wait = _remaining(store, key, settings.LOCKER_LOGIN_ACCOUNT_FAILURES)
    if account_wait > 0:
        return Refusal("account", math.ceil(account_wait))
    if not store.add(f"{key}:slot:{failures}", 1, timeout=SLOT_HOLD_S):
        # Another attempt is at the password check with this count: its outcome decides
        # whether and how long the next one waits.
        return Refusal("account", SLOT_HOLD_S)
    return None


def _fail(store: BaseCache, key: str) -> None:
    failures, _ = _state(store, key)
    store.set(key, (failures + 1, time.time()), timeout=FORGET_AFTER_S)


def record_failure(request: HttpRequest, username: str) -> None:
    store = _store()
    _fail(store, _account(username))
    _fail(store, _address(request))


def record_success(request: HttpRequest, username: str) -> None:
    # The account's count only: an address's failures stay, or a guesser could clear them by
    # signing in to an account of their own between guesses.
    store = _store()
    key = _account(username)
    failures, _ = _state(store, key)
    # The slots up to this count too: the next attempts start again from a count of 0.
    store.delete_many([key, *(f"{key}:slot:{n}" for n in range(failures + 1))])


def refusal_of(request: HttpRequest) -> Refusal | None:
    """The refusal the backend left on this request, if the last attempt was refused."""
    found = getattr(request, "login_refusal", None)
    return found if isinstance(found, Refusal) else None


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend behind the limits above."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get("username", "")
        if request is None or not username or password is None:
            # Not a log-in attempt from outside (a command, a test's force_login).
            return super().authenticate(request, username=username, password=password, **kwargs)
        refused = refusal(request, username)
        if refused is not None:
            request.login_refusal = refused  # type: ignore[attr-defined]
            raise PermissionDenied("too many log-in attempts")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(request, username)
        else:
            record_success(request, username)
        return user
