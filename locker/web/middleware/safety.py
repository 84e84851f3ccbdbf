"""Per-request safety and preferences for the browser pages:
- the signed-in user's time zone and language (their profile) are activated;
- after a quick exit the session is locked: every page asks for the password again, so the
  back button shows nothing of the case;
- pages for signed-in users and contact-link pages are sent with Cache-Control: no-store."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers, patch_cache_control

from locker.models import Profile
from locker.selectors.accounts import preferences_of

LOCK_KEY = "locker_locked"
# Reachable while locked: the unlock, lock and log-out pages, the exit itself, the language
# switch, the manifest (the look's name: what the home screen shows anyway), contact-link
# pages, which show nothing of the signed-in user's cases, and the service worker script,
# which holds no one's data (a locked session must still be able to update it).
UNLOCKED_PREFIXES = (
    "/accounts/unlock/",
    "/accounts/lock/",
    "/accounts/logout/",
    "/exit/",
    "/i18n/",
    "/c/",
    "/manifest.webmanifest",
    "/sw.js",
)
DEFAULT_ZONE_BY_LANGUAGE = {"zh-hans": "Asia/Shanghai"}


def default_time_zone(language: str | None) -> str:
    return DEFAULT_ZONE_BY_LANGUAGE.get(language or "", settings.TIME_ZONE)


def user_profile(request: HttpRequest) -> Profile | None:
    if not hasattr(request, "_locker_profile"):
        user = getattr(request, "user", None)
        profile = None
        if user is not None and user.is_authenticated:
            profile = preferences_of(user)
        request._locker_profile = profile  # type: ignore[attr-defined]
    return request._locker_profile  # type: ignore[attr-defined,no-any-return]


def is_private_path(path: str) -> bool:
    return path.startswith("/c/")


class SafetyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        signed_in = user.is_authenticated
        if signed_in:
            if request.session.get(LOCK_KEY) and not request.path.startswith(UNLOCKED_PREFIXES):
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse('unlock')}?{query}")
            profile = user_profile(request)
            if profile is not None:
                if profile.language and not request.path.startswith("/i18n/"):
                    translation.activate(profile.language)
                    request.LANGUAGE_CODE = profile.language  # type: ignore[attr-defined]
                try:
                    timezone.activate(zoneinfo.ZoneInfo(profile.time_zone))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
        elif is_private_path(request.path):
            timezone.deactivate()
        response = self.get_response(request)
        if signed_in or is_private_path(request.path):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        timezone.deactivate()
        return response
