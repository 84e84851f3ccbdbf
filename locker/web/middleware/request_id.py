"""The request id (locker/infra/logs.py): taken from a well-formed X-Request-ID or made, bound
for every log line written while the request is handled, and returned in X-Request-ID."""

from __future__ import annotations

from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from locker.infra.logs import bind_request_id, request_id_from


def _forget(**kwargs: object) -> None:
    bind_request_id(None)


# Django logs a 4xx or 5xx (django.request) after the middleware returned: the id stays bound
# until the response is closed, then goes.
request_finished.connect(_forget, dispatch_uid="locker-request-id")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        bind_request_id(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
