"""The offline-drafts script tag (static/locker/offline.js) and what the server tells it:
whether this user keeps drafts, whose drafts they are, the size cap, and its words."""

from __future__ import annotations

import hashlib
from typing import Any

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language

from locker.web.forms.entries import QUICK_LOG_FORMS
from locker.web.middleware.safety import user_profile

register = template.Library()

# Bumped when the shells change in a way their cache name would not show.
SHELL_VERSION = "1"
# All drafts together, whatever one may hold: a phone's storage is shared with everything else.
TOTAL_DRAFT_BYTES = 100 * 1024 * 1024


def _shell_urls() -> list[str]:
    pages = [reverse("offline_shell_log")]
    pages += [reverse("offline_shell_form", args=[name]) for name in QUICK_LOG_FORMS]
    assets = [static(f"locker/{name}") for name in ("app.css", "app.js", "offline.js")]
    return pages + assets


@register.inclusion_tag("locker/_offline_script.html", takes_context=True)
def offline_script(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    profile = user_profile(request) if request is not None and signed_in else None
    on = bool(profile and profile.offline_drafts)
    language = get_language() or settings.LANGUAGE_CODE
    urls = _shell_urls() if on else []
    version = ""
    if on and profile is not None:
        # The shells hold the language and time zone they were drawn in: a new cache if either
        # (or the assets) change.
        basis = "|".join([SHELL_VERSION, language, profile.time_zone, *urls])
        version = hashlib.sha256(basis.encode()).hexdigest()[:12]
    return {
        "request": request,
        "signed_in": signed_in,
        "on": on,
        "language": language,
        # Which account a draft belongs to, without the account's id in the page.
        "user_tag": salted_hmac("locker.offline-drafts", str(user.pk)).hexdigest()[:20]
        if signed_in and user is not None
        else "",
        "shell_urls": " ".join(urls),
        "version": version,
        "time_zone": profile.time_zone if profile else "",
        "max_bytes": settings.LOCKER_MAX_REQUEST_UPLOAD_BYTES,
        "total_bytes": max(TOTAL_DRAFT_BYTES, settings.LOCKER_MAX_REQUEST_UPLOAD_BYTES),
        "offline_shell": context.get("offline_shell", False),
    }
