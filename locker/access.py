"""The one way views and the API get a case: it is returned only to someone allowed to do
what they ask, and everyone else gets a 404 (never a 403 that would confirm it exists)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from django.http import Http404, HttpRequest

from .models import Case

Need = Literal["read", "annotate", "write"]


def request_user(request: HttpRequest) -> Any:
    """The API's token user (request.auth) or the browser session's user."""
    auth = getattr(request, "auth", None)
    if auth is not None and getattr(auth, "is_authenticated", False):
        return auth
    return getattr(request, "user", None)


def get_case_or_404(
    request: HttpRequest,
    case_id: Any,
    *,
    need: Need = "read",
    action: str = "view",
    detail: str = "",
) -> Case:
    """The case, if the requester may `need` it. `action` and `detail` describe the access
    for the access log ("view", "download", "export", …)."""
    user = request_user(request)
    if user is None or not getattr(user, "is_authenticated", False):
        raise Http404("No such case")
    try:
        key = uuid.UUID(str(case_id))
    except ValueError:
        raise Http404("No such case") from None
    case = Case.objects.filter(pk=key, owner=user).first()
    if case is None:
        raise Http404("No such case")
    return case
