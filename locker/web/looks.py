"""What the app is called on this screen (locker/core/looks.py), for the pages, the manifest
and the signed-out pages of a device whose owner chose a discreet look.

Signed in, the account's choice decides. Signed out there is no account, so the device keeps
a cookie (LOOK_COOKIE) holding only the preset's id ("notes"): never the account, the user
name or a name of one's own, so that the cookie says nothing a glance at the screen would
not. It is set and cleared by LookCookieMiddleware (locker/web/middleware/looks.py) to
follow the signed-in account's choice, and outlives log-out on purpose: the log-in page a
borrower's phone opens next shows "Notes", not "Evidence Locker"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language

from locker.core import looks
from locker.infra import content
from locker.selectors.looks import look_of_profile
from locker.web.middleware.safety import LOCK_KEY, user_profile

LOOK_COOKIE = "look"
LOOK_COOKIE_AGE_S = 400 * 24 * 3600  # the longest a browser keeps a cookie (RFC 6265bis)


def device_look(request: HttpRequest) -> looks.Shown:
    """The look this device's cookie names (the real one without a cookie)."""
    return looks.shown(request.COOKIES.get(LOOK_COOKIE))


def look_for(request: HttpRequest) -> looks.Shown:
    """The look of the page answering `request`: the signed-in account's, else the device's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return look_of_profile(user_profile(request))
    return device_look(request)


def remember_on_device(response: HttpResponse, shown: looks.Shown) -> None:
    """Make the device's cookie name `shown`'s preset, or drop it for the real look."""
    if shown.discreet:
        response.set_cookie(
            LOOK_COOKIE,
            shown.look.id,
            max_age=LOOK_COOKIE_AGE_S,
            samesite="Lax",
            httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
        )
    else:
        response.delete_cookie(LOOK_COOKIE, samesite="Lax")


def icon(look: looks.Look, size: int | None = None) -> str:
    """The address of a look's icon: the PNG of `size` px, or the SVG."""
    if size is None:
        return static(f"locker/looks/{look.id}.svg")
    return static(f"locker/looks/{look.id}-{size}.png")


def share_target() -> dict[str, Any]:
    """Where the phone's share sheet posts a screenshot or an SMS's text (docs/capture.md,
    "Share into the locker"): the files it may offer this app are every type an upload may
    be (locker/infra/content.py), after the two wildcards a gallery and a recorder share."""
    types = ["image/*", "audio/*"]
    types += sorted({kind.media_type for kind in content.FORMATS})
    return {
        "action": reverse("share"),
        "method": "POST",
        "enctype": "multipart/form-data",
        "params": {
            "title": "title",
            "text": "text",
            "url": "url",
            "files": [{"name": "files", "accept": types}],
        },
    }


def manifest_of(shown: looks.Shown) -> dict[str, Any]:
    """The web app manifest: the look's name and icons. Its id and start_url never change,
    so a change of look renames the installed app rather than making another."""
    look = shown.look
    start = reverse("case_list")
    return {
        "id": start,
        "name": shown.name,
        "short_name": shown.short_name,
        "start_url": start,
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": look.colour,
        "lang": get_language(),
        "share_target": share_target(),
        "icons": [
            {"src": icon(look, 192), "sizes": "192x192", "type": "image/png"},
            {"src": icon(look, 512), "sizes": "512x512", "type": "image/png"},
            {
                "src": icon(look, 512),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": icon(look), "sizes": "any", "type": "image/svg+xml"},
        ],
    }


def look(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `look` (name, icons, whether discreet); `screen_lock_s`, the
    seconds hidden after which the page is covered (0: no lock on this page: signed out, or
    already locked); `session_locked`, whether the session is locked (the page then tells the
    lock script that the server's lock has taken over)."""
    shown = look_for(request)
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    locked = signed_in and bool(request.session.get(LOCK_KEY))
    return {
        "look": {
            "id": shown.look.id,
            "name": shown.name,
            "discreet": shown.discreet,
            "icon": icon(shown.look, 192),
            "svg": icon(shown.look),
        },
        "screen_lock_s": settings.LOCKER_SCREEN_LOCK_S if signed_in and not locked else 0,
        "session_locked": locked,
    }
