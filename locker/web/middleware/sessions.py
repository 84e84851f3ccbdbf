"""Signed-in sessions: each is listed for its owner (a UserSession row, made at log-in and
again whenever the session's key changed), and it ends after LOCKER_SESSION_IDLE_S without
a request or SESSION_COOKIE_AGE after log-in, however active. Django already gives a session
a new key at log-in (login() calls cycle_key), so a key planted before log-in is worthless."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from locker.infra.http import client_ip
from locker.selectors.second_factor import has_second_factor, missing_required_second_factor
from locker.services import reauth as reauth_services
from locker.services import sessions as session_services

STARTED_KEY = "locker_signed_in_at"
SEEN_KEY = "locker_seen_at"
# The session key its UserSession row was made for: a key changed since (a password change
# cycles it) gets a row again.
ROW_KEY = "locker_session_row"
# Last-activity is written at most this often, not on every request.
TOUCH_EVERY_S = 60


def _record(request: HttpRequest, user: Any) -> None:
    session = request.session
    if session.session_key is None:
        session.save()
    key = session.session_key or ""
    session_services.record_session(
        user=user,
        session_key=key,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        address=client_ip(request) or "",
    )
    session[ROW_KEY] = key


@receiver(user_logged_in, dispatch_uid="locker-session-row")
def _on_log_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    now = time.time()
    request.session[STARTED_KEY] = now
    request.session[SEEN_KEY] = now
    _record(request, user)
    # The password (and code) were given just now: the "confirm it's you" step counts as done.
    reauth_services.mark_confirmed(user=user, session_key=request.session.session_key)


@receiver(user_logged_out, dispatch_uid="locker-session-row-gone")
def _on_log_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # logout() flushes the session itself; its row goes with it.
    key = request.session.session_key if request is not None else None
    if key:
        session_services.forget_session(session_key=key)


class SessionActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session = request.session
        now = time.time()
        started = session.get(STARTED_KEY)
        seen = session.get(SEEN_KEY)
        if not isinstance(started, int | float) or not isinstance(seen, int | float):
            # A session from before these limits: they count from now.
            started = seen = now
            session[STARTED_KEY] = now
        idle = now - seen > settings.LOCKER_SESSION_IDLE_S
        if idle or now - started > settings.SESSION_COOKIE_AGE:
            logout(request)
            messages.info(
                request,
                _("You were signed out after a while without activity. Sign in again.")
                if idle
                else _("Your session had lasted long enough. Sign in again."),
            )
            return
        if session.get(ROW_KEY) != session.session_key:
            _record(request, request.user)
        if now - seen >= TOUCH_EVERY_S:
            session[SEEN_KEY] = now
            if not session_services.touch_session(session_key=session.session_key or ""):
                _record(request, request.user)


# Set in a session once its user is known to have the second factor they must have (or after
# they gave a code at log-in), so the check costs nothing on later requests.
FACTOR_CHECKED_KEY = "locker_second_factor_ok"
# Reachable by a lawyer who must still set up a second factor.
FACTOR_SETUP_PREFIXES = (
    "/accounts/two-factor/",
    "/accounts/confirm/",
    "/accounts/logout/",
    "/i18n/",
    "/exit/",
    "/static/",
)


class SecondFactorRequiredMiddleware:
    """With LOCKER_REQUIRE_2FA_FOR_LAWYERS, a lawyer without a second factor is sent to set
    one up before any other page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.LOCKER_REQUIRE_2FA_FOR_LAWYERS
            and request.user.is_authenticated
            and not request.session.get(FACTOR_CHECKED_KEY)
            and not request.path.startswith(FACTOR_SETUP_PREFIXES)
        ):
            if missing_required_second_factor(request.user):
                messages.warning(
                    request, _("This site asks lawyers to set up a second factor first.")
                )
                return redirect("two_factor")
            if has_second_factor(request.user):
                request.session[FACTOR_CHECKED_KEY] = True
        return self.get_response(request)
