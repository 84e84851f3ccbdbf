"""A request body is whole or refused. A phone that loses signal part-way through an upload,
or an app killed while sending, leaves a body shorter than its Content-Length or a multipart
body without its closing boundary; Django would then drop the cut file and hand the view the
rest, and the entry would be recorded without its evidence. This middleware reads the body
before any view does and answers 400, storing nothing, when it is not complete.

It also refuses, with 413 and before reading a byte of it, a body longer than any request
may be: one record's files (LOCKER_MAX_REQUEST_UPLOAD_BYTES) with their form, or on the
public verification routes the largest file they take (LOCKER_VERIFY_MAX_BYTES)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from locker import services
from locker.infra.http import api_language

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
VERIFY_PATHS = frozenset({"/verify", "/api/verify"})


class InterruptionWatcher(FileUploadHandler):
    """First of the upload handlers: passes every chunk on unchanged and notes whether the
    parser saw a file part end without its boundary."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request)
        self.interrupted = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def upload_interrupted(self) -> None:
        self.interrupted = True


def body_is_cut(request: HttpRequest, watcher: InterruptionWatcher) -> bool:
    if watcher.interrupted:
        return True
    # WSGIRequest reads the body through a LimitedStream bounded by Content-Length; fewer
    # bytes read than that means the client stopped sending.
    stream = getattr(request, "_stream", None)
    position, limit = getattr(stream, "_pos", None), getattr(stream, "limit", None)
    return isinstance(position, int) and isinstance(limit, int) and position < limit


class CompleteBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in BODY_METHODS:
            refused = self._check(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        too_large = _too_large(request)
        if too_large is not None:
            return refusal(request, too_large, status=413)
        watcher = InterruptionWatcher(request)
        try:
            if request.content_type == "multipart/form-data":
                request.upload_handlers.insert(0, watcher)
                request.FILES  # noqa: B018  # parse now, so the check below sees the whole read
            else:
                request.body  # noqa: B018
        except MultiPartParserError:
            return refusal(request, _("the request body is malformed; nothing was saved"))
        if body_is_cut(request, watcher):
            return refusal(
                request,
                _(
                    "the upload was cut off before it was complete (the connection may have "
                    "dropped); nothing was saved, send it again"
                ),
            )
        return None


def _too_large(request: HttpRequest) -> Promise | None:
    """Why the body is refused unread for its stated length, or None."""
    if request.path in VERIFY_PATHS:
        length = _content_length(request)
        if length > settings.LOCKER_VERIFY_MAX_BYTES + services.REQUEST_OVERHEAD_BYTES:
            return _("the file is too large to verify here")
        return None
    try:
        services.check_request_size(_content_length(request))
    except services.TooLarge as exc:
        message: Promise = exc.args[0]
        return message
    return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # the server's own parsing refuses it


def refusal(request: HttpRequest, message: str | Promise, status: int = 400) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        # In the API's language (English unless the client asks for Chinese), like its
        # other errors.
        with translation.override(api_language(request)):
            response = JsonResponse({"detail": str(message)}, status=status)
    elif request.headers.get("X-Requested-With") == "XMLHttpRequest":
        # The page's upload script shows {"errors": […]} beside the form it keeps filled in.
        response = JsonResponse({"errors": [str(message)]}, status=status)
    else:
        context: dict[str, Any] = {"message": message}
        response = render(request, "locker/request_refused.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
