"""`reauth_required`: the one decorator every sensitive account page wears (changing the
e-mail address or the password, the second factor's page). Without a recent "confirm it's
you" in this session (locker/services/reauth.py) the person is sent to that step first
(locker/web/views/reauth.py) and nothing the page would do happens.

Which pages wear it, and why the others do not, is in docs/security.md ("Confirm it's you")."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from locker.selectors.reauth import recently_confirmed

View = Callable[..., HttpResponseBase]


def reauth_required(view: View | None = None, *, back_to: str | None = None) -> Any:
    """Every request to the view (a GET too, so that nobody fills in a form only to be stopped)
    needs a session confirmed within LOCKER_REAUTH_S; otherwise the person is sent to the
    confirm page, and nothing the view would do happens. The page brings them back to
    `back_to` (a URL name, for a view that takes POSTs only) or to this address. Goes under
    login_required."""

    def decorate(inner: View) -> View:
        @wraps(inner)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if recently_confirmed(user=request.user, session_key=request.session.session_key):
                return inner(request, *args, **kwargs)
            target = reverse(back_to) if back_to else request.get_full_path()
            return redirect(reverse("reauth") + "?" + urlencode({"next": target}))

        return wrapped

    return decorate(view) if view is not None else decorate
