"""Who is calling the API: the bearer token that authenticates every call but the public ones,
the author a write is recorded under, and the per-address throttles of the public calls."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.throttling import AnonRateThrottle

from locker import services
from locker.infra.http import client_ip
from locker.models import ApiToken
from locker.services.accounts import token_has_expired

_FOUND = "_locker_bearer_found"


def live_token_of(request: HttpRequest, raw: str) -> ApiToken | None:
    """services.find_token(raw), once per request: the idempotency middleware
    (locker/api/idempotency.py) needs the token's user before the API authenticates the
    same header, and one look-up serves both."""
    found: tuple[str, ApiToken | None] | None = getattr(request, _FOUND, None)
    if found is None or found[0] != raw:
        found = (raw, services.find_token(raw))
        setattr(request, _FOUND, found)
    return found[1]


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`; the token's user becomes request_user(request)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = live_token_of(request, token)
        if found is None:
            if token_has_expired(token):
                raise HttpError(
                    401, "this API token has expired; get a new one at POST /api/tokens"
                )
            return None
        request.api_token = found  # type: ignore[attr-defined]
        services.note_token_use(token=found, request=request)
        return found.user


# The API's default auth (locker.api.site); routes without a token say auth=None.
bearer = BearerToken()


def author_of(request: HttpRequest) -> str:
    """The author recorded on the entries a request writes: its token, else its user."""
    token = getattr(request, "api_token", None)
    return f"token:{token.pk}" if token is not None else f"user:{request.user.pk}"


class TrustedAddressThrottle(AnonRateThrottle):
    """ninja's throttle keyed on the address we trust (access.client_ip), not on an
    X-Forwarded-For header any client can vary to escape the limit."""

    def get_ident(self, request: HttpRequest) -> str | None:
        return client_ip(request) or "unknown"


class LoginThrottle(TrustedAddressThrottle):
    """POST /api/tokens: password guesses per address."""

    def __init__(self) -> None:
        super().__init__(settings.LOCKER_LOGIN_RATE)


class VerifyThrottle(TrustedAddressThrottle):
    """POST /api/verify: verifications per address (the instance-wide limit is separate)."""

    def __init__(self) -> None:
        super().__init__(settings.LOCKER_VERIFY_RATE)
