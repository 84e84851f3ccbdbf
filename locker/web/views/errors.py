"""Our own error pages: 404 and 403 are templates Django renders with the request
(templates/404.html, 403.html, extending the base layout, quick exit included); the 500 page
and the CSRF failure page are rendered here.

The 500 page is rendered without the request (no context processors, no session, no user):
whatever failed may be the database. The CSRF failure page keeps what was typed: a form
posted from a page left open too long (its token out of date) comes back as a "send again"
form holding the fields the browser sent, with a fresh token, to the same address. Files
cannot be carried over, so the page says so and offers to attach them again; fields that
hold a password, a token or a code are never echoed. The upload script (XMLHttpRequest) gets
JSON instead: the message and a fresh token, so the form it keeps filled in can be sent
again as it is, files included."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from locker.web.looks import device_look
from locker.web.views.common import wants_json

# A posted field never shown back: secrets, and the stale CSRF token itself.
SECRET_FIELD = re.compile(r"pass|token|secret|otp|code|csrf", re.IGNORECASE)
# Sent again but not shown: the choices' slugs (in, threat) and the forms' hidden ids mean
# nothing to the reader; what they typed is shown so that they recognise it.
NOT_TYPED = re.compile(r"[a-z_]*|[0-9a-f-]{32,36}")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a static page in the active language (the one LocaleMiddleware chose,
    which needs no database), with the quick exit as a plain link to the neutral site."""
    context = {
        "quick_exit_url": settings.LOCKER_QUICK_EXIT_URL,
        # The device's look, from its cookie alone (no database).
        "look_name": str(device_look(request).name),
    }
    response = HttpResponse(render_to_string("500.html", context), status=500)
    add_never_cache_headers(response)
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW. The reason (a missing Referer, a stale token) is for logs, which
    Django's middleware has already written, not for the visitor."""
    message = _(
        "This page was open too long, so the locker could not be sure the form came from you. "
        "Nothing was saved."
    )
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=403)
    elif wants_json(request):
        # The upload script keeps the form as it was; it swaps in this token and sends again.
        again = _("Press Save again to send it.")
        response = JsonResponse(
            {"errors": [f"{message} {again}"], "csrf_token": get_token(request)}, status=403
        )
    else:
        fields = [
            (name, value)
            for name, values in request.POST.lists()
            if not SECRET_FIELD.search(name)
            for value in values
        ]
        context = {
            "message": message,
            "fields": fields,
            "shown": [v for _n, v in fields if v.strip() and not NOT_TYPED.fullmatch(v.strip())],
            "file_fields": sorted(request.FILES.keys()),
            "action": request.get_full_path(),
            "was_post": request.method == "POST",
        }
        response = render(request, "403_csrf.html", context, status=403)
    add_never_cache_headers(response)
    return response
