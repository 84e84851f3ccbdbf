"""Keeps the device's look cookie (locker/web/looks.py) in step with the signed-in account's
choice: set on the first page after a log-in on a new device, changed when the account
changes its look elsewhere, dropped for the real look. Signed-out answers leave it alone."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from locker.web.looks import LOOK_COOKIE, look_for, remember_on_device


class LookCookieMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        # A view that just changed the look set the cookie itself (its profile is newer than
        # the one this request read first).
        if user is None or not user.is_authenticated or LOOK_COOKIE in response.cookies:
            return response
        shown = look_for(request)
        held = request.COOKIES.get(LOOK_COOKIE)
        if (shown.discreet and held != shown.look.id) or (not shown.discreet and held):
            remember_on_device(response, shown)
        return response
