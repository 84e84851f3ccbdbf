"""`Idempotency-Key` on the API's POSTs that create something: a client that retries after
a lost response sends the same key, and gets the first answer again (the same seq, the same
receipt) instead of a second record. The same key with another request is a 422.

A middleware, not a decorator, because the answer to replay is the rendered response: its
status and JSON bytes, exactly as first sent (locker/services/idempotency.py keeps them for
at least 24 hours). It runs after the body check (a cut body never reaches it) and resolves
the bearer token itself; a request without a valid token passes through to the API, which
answers 401. POST /api/tokens is left out on purpose: replaying it would mean keeping the
new token's secret, of which only a hash is ever stored; POST /api/verify creates nothing."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation

from locker.api.auth import live_token_of
from locker.infra.http import api_language
from locker.services import idempotency

HEADER = "Idempotency-Key"
NOT_CREATING = frozenset({"/api/tokens", "/api/verify"})


def _fingerprint(request: HttpRequest) -> str:
    if request.content_type == "multipart/form-data":
        return idempotency.multipart_fingerprint(
            method=request.method or "POST",
            path=request.path,
            fields=[(name, value) for name, values in request.POST.lists() for value in values],
            files=[
                (field, upload.name or "", upload)
                for field, uploads in request.FILES.lists()
                for upload in uploads
            ],
        )
    return idempotency.request_fingerprint(
        method=request.method or "POST", path=request.path, body=request.body
    )


def _bearer_user(request: HttpRequest) -> object | None:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    token = live_token_of(request, raw.strip())
    return token.user if token is not None else None


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if (
            key is None
            or request.method != "POST"
            or not request.path.startswith("/api/")
            or request.path in NOT_CREATING
        ):
            return self.get_response(request)
        user = _bearer_user(request)
        if user is None:
            return self.get_response(request)
        first: list[HttpResponse] = []

        def answer() -> tuple[int, bytes]:
            response = self.get_response(request)
            first.append(response)
            return response.status_code, response.content

        try:
            status, body, replayed = idempotency.run_once(
                user=user, key=key, fingerprint=_fingerprint(request), action=answer
            )
        except idempotency.IdempotencyError as exc:
            status = 400 if isinstance(exc, idempotency.InvalidIdempotencyKey) else 422
            with translation.override(api_language(request)):
                return JsonResponse({"detail": str(exc)}, status=status)
        if not replayed:
            return first[0]
        response = HttpResponse(body, status=status, content_type="application/json")
        response["Idempotent-Replayed"] = "true"
        response["Cache-Control"] = "no-store"
        return response
