"""The account's security log in the JSON API: my own events, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from locker.api.pagination import BoundedLimitOffset
from locker.infra.http import request_user
from locker.selectors.security import security_events_of

# No auth here on purpose: the router inherits the API's default (bearer token) when mounted.
router = Router(tags=["account"])


class SecurityEventOut(Schema):
    id: int
    kind: str
    at: datetime
    ip: str | None
    user_agent: str
    detail: str


@router.get(
    "/account/security-events",
    response=list[SecurityEventOut],
    summary="My account's security log (log-ins, failed log-ins, tokens, password and second-"
    "factor changes, admin actions), newest first",
)
@paginate(BoundedLimitOffset)
def security_events(request: HttpRequest) -> Any:
    return security_events_of(request_user(request))
