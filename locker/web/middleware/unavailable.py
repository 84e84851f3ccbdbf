"""When the database is unavailable (PostgreSQL restarting, the network to it cut), every
request answers 503 with Retry-After and a short message instead of a 500: JSON under
/api/, otherwise a small page in the visitor's language with the quick-exit control. When
the evidence store is full (507) or failing (503), or the HSM that holds the signing key
cannot sign (503), a request that was saving a record gets the same kind of answer; nothing
of that record was stored (locker/infra/storage.py, locker/infra/hsm.py).

The middleware is first in MIDDLEWARE. Django turns an exception into a 500 response at each
middleware's boundary, so a database error raised by a later middleware (sessions, auth)
never reaches this one as an exception: the got_request_exception signal, sent while the
exception is handled, marks the request, and the 500 that comes back is replaced. Errors
raised by a view are answered directly (process_exception). Nothing here reads the
database: no request context, no session, no profile."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from locker.infra.hsm import TokenError
from locker.infra.http import api_language
from locker.infra.storage import StorageError, StorageFull
from locker.web.looks import device_look

RETRY_AFTER_S = 30
DATABASE_ERRORS = (OperationalError, InterfaceError)
_MARK = "_locker_database_unavailable"
log = logging.getLogger(__name__)


def _note_database_error(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Sent from inside Django's `except` block: the exception is the one being handled.
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        setattr(request, _MARK, True)


got_request_exception.connect(_note_database_error, dispatch_uid="locker-database-unavailable")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _language(request: HttpRequest) -> str:
    # Pages follow the language cookie and the browser (no profile: no database).
    if is_api(request):
        return api_language(request)
    return translation.get_language_from_request(request)


DATABASE_MESSAGE = gettext_lazy("the database is unavailable for a moment; try again in a minute")
SIGNING_MESSAGE = gettext_lazy(
    "the server cannot sign records for a moment; nothing was saved; try again in a minute"
)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path == reverse("quick_exit"):
        # Leaving must always work; the session cannot be locked now, but the page is left.
        response: HttpResponse = HttpResponseRedirect(settings.LOCKER_QUICK_EXIT_URL)
        response["Referrer-Policy"] = "no-referrer"
        return response
    return refusal(request, 503, DATABASE_MESSAGE, database=True)


def refusal(
    request: HttpRequest, status: int, message: str | Promise, *, database: bool = False
) -> HttpResponse:
    """A short answer that needs no database: JSON {"detail"} under /api/, {"errors"} for
    the page's upload script (which keeps the form filled in), otherwise a small page."""
    with translation.override(_language(request)):
        response: HttpResponse
        if is_api(request):
            response = JsonResponse({"detail": str(message)}, status=status)
        elif request.headers.get("X-Requested-With") == "XMLHttpRequest":
            response = JsonResponse({"errors": [str(message)]}, status=status)
        else:
            # render_to_string without the request: no context processors, so no queries.
            context = {
                "quick_exit_url": settings.LOCKER_QUICK_EXIT_URL,
                # The device's look, from its cookie alone (no database).
                "look_name": str(device_look(request).name),
                "database": database,
                "message": str(message),
            }
            response = HttpResponse(render_to_string("503.html", context), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_S)
    add_never_cache_headers(response)
    return response


def storage_refusal(request: HttpRequest, error: StorageError) -> HttpResponse:
    return refusal(request, 507 if isinstance(error, StorageFull) else 503, error.args[0])


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _MARK, False):
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            log.warning("database unavailable: %r (%s %s)", exception, request.method, request.path)
            return unavailable_response(request)
        if isinstance(exception, StorageError):
            log.warning(
                "evidence store refused a write: %r (%s %s)",
                exception,
                request.method,
                request.path,
            )
            return storage_refusal(request, exception)
        if isinstance(exception, TokenError):
            # The cause (a wrong PIN, the HSM away) is for the operator, not the visitor.
            log.error(
                "signing key's token failed: %s (%s %s)", exception, request.method, request.path
            )
            return refusal(request, 503, SIGNING_MESSAGE)
        return None
