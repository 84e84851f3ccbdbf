"""API tokens: exchange a username and password for one (the only route without a token), list
mine, revoke one. Only a token's hash is stored; the raw value is shown once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import authenticate
from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from locker import services
from locker.api.auth import LoginThrottle
from locker.api.errors import refusals
from locker.infra import login_throttle
from locker.infra.http import request_user
from locker.selectors.accounts import token_of, tokens_of
from locker.selectors.second_factor import has_second_factor, missing_required_second_factor
from locker.services import second_factor as factor_services

# No tags: the OpenAPI document has always listed the token routes untagged.
router = Router()


class Credentials(Schema):
    username: str
    password: str
    name: str = ""
    # The authenticator's current code (or a recovery code), for an account with a second
    # factor.
    otp: str = ""


def too_many_attempts(retry_after_s: int) -> JsonResponse:
    """429 with Retry-After: this account or address must wait before the next guess."""
    response = JsonResponse(
        {"detail": f"too many log-in attempts; try again in {retry_after_s} seconds"},
        status=429,
    )
    response["Retry-After"] = str(retry_after_s)
    return response


class NewToken(Schema):
    id: int
    token: str
    name: str
    expires_at: datetime


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime


@router.post(
    "/tokens",
    auth=None,
    response={201: NewToken, **refusals(401, 403, 429)},
    throttle=[LoginThrottle()],
    summary="Exchange a username and password for an API token",
)
def create_token(request: HttpRequest, credentials: Credentials) -> Any:
    user = authenticate(request, username=credentials.username, password=credentials.password)
    if user is None:
        refused = login_throttle.refusal_of(request)
        if refused is not None:
            return too_many_attempts(refused.retry_after_s)
        raise HttpError(401, "wrong username or password")
    if missing_required_second_factor(user):
        raise HttpError(403, "this site requires lawyers to set up a second factor first")
    if has_second_factor(user):
        if not credentials.otp:
            # A passkey cannot answer here: an account with only passkeys sends a recovery
            # code (or adds an authenticator app for the API).
            raise HttpError(
                401,
                "this account has a second factor: send its authenticator's current code"
                ' or a recovery code as "otp"',
            )
        if not factor_services.code_guess_admitted(user):
            return too_many_attempts(factor_services.CODE_GUESS_WINDOW_S)
        if not factor_services.verify_code(user=user, code=credentials.otp, request=request):
            raise HttpError(401, "wrong second-factor code")
    token, raw = services.issue_token(user=user, name=credentials.name, request=request)
    return Status(
        201, {"id": token.pk, "token": raw, "name": token.name, "expires_at": token.expires_at}
    )


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
def list_tokens(request: HttpRequest) -> Any:
    return tokens_of(request_user(request))


@router.delete(
    "/tokens/{token_id}", response={204: None, **refusals(404)}, summary="Revoke one of my tokens"
)
def revoke_token(request: HttpRequest, token_id: int) -> Status[None]:
    token = token_of(request_user(request), token_id)
    if token is None:
        raise HttpError(404, "Not Found")
    services.revoke_token(token=token, request=request)
    return Status(204, None)
