"""The one way views and the API get a case: it is returned, with the requester's role in
it, only to someone allowed to do
what they ask, and everyone else gets a 404 (never a 403 that would confirm it exists).

The owner may do everything. An accepted share that has not ended lets a viewer read and a
reviewer read, annotate and have dossiers rendered; nobody but the owner writes. A viewer who
asks for a dossier gets a 403 (RoleRefused), not a 404: they already know the case exists,
and the answer should tell them why. Every access by someone other than
the owner is appended to the case's access log in the same call. Permissions are read from
the database on every call, so ending a share takes effect on the very next request."""

from __future__ import annotations

import uuid
from typing import Any, Literal, NamedTuple

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from locker import services
from locker.infra.http import client_ip, request_user, via_of
from locker.models import Case, Share
from locker.selectors import sharing
from locker.selectors.cases import case_with_id
from locker.services.dossiers import VIEWER_CANNOT_RENDER

Need = Literal["read", "annotate", "render", "write"]
Role = Literal["owner", "viewer", "reviewer"]


class RoleRefused(PermissionError):
    """The requester may read the case but their role does not allow what they asked."""


class CaseAccess(NamedTuple):
    """A case and who the requester is to it."""

    case: Case
    role: Role

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def case_access_or_404(
    request: HttpRequest,
    case_id: Any,
    *,
    need: Need = "read",
    action: str = "view",
    detail: str = "",
    cases: QuerySet[Case] | None = None,
) -> CaseAccess:
    """The case and the requester's role in it, if the requester may `need` it. `action` and
    `detail` describe the access for the access log ("view", "download", "export", …).
    `cases` is the query the case is read from (a page may read more with it in the same
    statement: selectors.chain.with_chain_head); the checks are the same."""
    user = request_user(request)
    if user is None or not getattr(user, "is_authenticated", False):
        raise Http404("No such case")
    try:
        key = uuid.UUID(str(case_id))
    except ValueError:
        raise Http404("No such case") from None
    case = case_with_id(key) if cases is None else cases.filter(pk=key).first()
    if case is None:
        raise Http404("No such case")
    if case.owner_id == user.pk:
        return CaseAccess(case, "owner")
    if need == "write":
        raise Http404("No such case")
    share = sharing.active_share(case, user)
    if share is None or (need == "annotate" and share.role != Share.REVIEWER):
        raise Http404("No such case")
    if need == "render" and share.role != Share.REVIEWER:
        # Refused before the access log is written: nothing was rendered or seen.
        raise RoleRefused(VIEWER_CANNOT_RENDER)
    services.record_access(
        case=case,
        user=user,
        action=action,
        detail=detail or f"{request.method} {request.path}",
        via=via_of(request),
        ip=client_ip(request),
    )
    return CaseAccess(case, "reviewer" if share.role == Share.REVIEWER else "viewer")


def cases_shared_with(user: Any) -> QuerySet[Case]:
    """Cases the user may read through a share (not their own)."""
    return sharing.shared_cases_for(user)
