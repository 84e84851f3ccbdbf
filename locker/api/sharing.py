"""Sharing routes of the JSON API: the owner shares a case, sees and ends its shares and reads
its access log; the lawyer lists shared cases, accepts or leaves shares, keeps a profile and
annotates cases they review. Mounted on the main API, whose bearer auth applies here too."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from locker import services
from locker.api.errors import api_message, refusals
from locker.api.pagination import BoundedLimitOffset
from locker.infra.http import client_ip, public_url, request_user
from locker.models import Case, ProfessionalProfile, Share
from locker.permissions import case_access_or_404
from locker.selectors import sharing
from locker.selectors.accounts import professional_profile_of

# No auth here on purpose: the router inherits the API's default (bearer token) when mounted.
router = Router(tags=["sharing"])


# Owner: shares of a case -------------------------------------------------------------------


class ShareIn(Schema):
    user: str = Field(description="the person's username or email address")
    role: Literal["viewer", "reviewer"]


class ShareOut(Schema):
    id: int
    case: uuid.UUID
    grantee: str
    role: str
    status: Literal["pending", "active", "ended"]
    created_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    ended_by: Literal["owner", "grantee"] | None


class NewShareOut(ShareOut):
    email_sent: bool


def share_out(share: Share) -> dict[str, Any]:
    ended_by = None
    if share.ended_by_id is not None:
        ended_by = "owner" if share.ended_by_id == share.case.owner_id else "grantee"
    return {
        "id": share.pk,
        "case": share.case_id,
        "grantee": sharing.grantee_label(share),
        "role": share.role,
        "status": share.status,
        "created_at": share.created_at,
        "accepted_at": share.accepted_at,
        "ended_at": share.ended_at,
        "ended_by": ended_by,
    }


@router.post(
    "/cases/{case_id}/shares",
    response={201: NewShareOut, **refusals(404, 409)},
    summary="Share a case with a person (by username or email) as viewer or reviewer",
)
def create_share(request: HttpRequest, case_id: str, payload: ShareIn) -> Status[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    try:
        result = services.share_case(
            case=case,
            by=request_user(request),
            grantee=payload.user,
            role=payload.role,
            site_url=public_url(request),
        )
    except services.ShareConflict as exc:
        raise HttpError(409, api_message(request, exc)) from exc
    return Status(201, {**share_out(result.share), "email_sent": result.email_sent})


@router.get(
    "/cases/{case_id}/shares",
    response={200: list[ShareOut], **refusals(404)},
    summary="Who the case is shared with",
)
def list_shares(request: HttpRequest, case_id: str) -> list[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    return [share_out(share) for share in sharing.shares_of_case(case)]


@router.delete(
    "/cases/{case_id}/shares/{share_id}",
    response={204: None, **refusals(404)},
    summary="End a share: the person loses access on their next request",
)
def delete_share(request: HttpRequest, case_id: str, share_id: int) -> Status[None]:
    case = case_access_or_404(request, case_id, need="write").case
    share = sharing.share_of_case(case, share_id)
    if share is None:
        raise Http404("No such share")
    services.end_share(share=share, by=request_user(request))
    return Status(204, None)


class AccessOut(Schema):
    id: int
    who: str
    action: str
    detail: str
    via: str
    ip: str | None
    at: datetime


@router.get(
    "/cases/{case_id}/access-log",
    response={200: list[AccessOut], **refusals(404)},
    summary="Every access to the case by someone other than its owner, newest first",
)
@paginate(BoundedLimitOffset)
def access_log(request: HttpRequest, case_id: str) -> Any:
    case = case_access_or_404(request, case_id, need="write").case
    return sharing.access_log_rows(case)


# Grantee: cases shared with me ------------------------------------------------------------


class SharedCaseOut(Schema):
    case: uuid.UUID
    share: int
    title: str
    client: str
    lender: str
    role: str
    shared_at: datetime
    last_activity: datetime | None
    entries: int
    counts_by_kind: dict[str, int]
    chain_ok: bool
    chain_length: int
    first_bad_seq: int | None
    chain_problem: str | None
    # True while the worker checks a long chain that no page has verified lately: chain_ok
    # is then False with no first_bad_seq (not verified yet, not broken).
    chain_checking: bool = False
    unread: int
    last_visited: datetime | None


@router.get(
    "/shared-cases",
    response=list[SharedCaseOut],
    summary="Cases shared with me (accepted, not ended), with their chain status",
)
def shared_cases(request: HttpRequest) -> list[dict[str, Any]]:
    user = request_user(request)
    rows = sharing.dashboard_rows(user)
    # Listing shows each case's title, lender and activity: that is an access too.
    services.record_listing(
        case_ids=[row.case_id for row in rows],
        user=user,
        detail=f"{request.method} {request.path}",
        via="api",
        ip=client_ip(request),
    )
    items = []
    for row in rows:
        item = row.__dict__ | {"case": row.case_id, "share": row.share_id}
        item.pop("case_id")
        items.append(item)
    return items


class ReceivedShareOut(Schema):
    id: int
    case: uuid.UUID | None = Field(description="present once the share is accepted")
    invited_by: str
    role: str
    status: Literal["pending", "active", "ended"]
    created_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None


def received_out(share: Share) -> dict[str, Any]:
    return {
        "id": share.pk,
        "case": share.case_id if share.status == "active" else None,
        "invited_by": sharing.display_name(share.invited_by),
        "role": share.role,
        "status": share.status,
        "created_at": share.created_at,
        "accepted_at": share.accepted_at,
        "ended_at": share.ended_at,
    }


@router.get(
    "/shares",
    response=list[ReceivedShareOut],
    summary="Shares addressed to me: pending ones to accept, active and ended ones",
)
def received_shares(request: HttpRequest) -> list[dict[str, Any]]:
    return [received_out(share) for share in sharing.shares_received_by(request_user(request))]


def _my_share(request: HttpRequest, share_id: int) -> Share:
    share = sharing.share_received_by(request_user(request), share_id)
    if share is None:
        raise Http404("No such share")
    return share


@router.post(
    "/shares/{share_id}/accept",
    response={200: ReceivedShareOut, **refusals(404)},
    summary="Accept a share",
)
def accept_share(request: HttpRequest, share_id: int) -> dict[str, Any]:
    share = services.accept_share(share=_my_share(request, share_id), user=request_user(request))
    return received_out(share)


@router.delete(
    "/shares/{share_id}",
    response={204: None, **refusals(404)},
    summary="Leave a share (the grantee's side)",
)
def leave_share(request: HttpRequest, share_id: int) -> Status[None]:
    services.end_share(share=_my_share(request, share_id), by=request_user(request))
    return Status(204, None)


class InvitationIn(Schema):
    token: str


@router.post(
    "/invitations/accept",
    response=ReceivedShareOut,
    summary="Accept an emailed invitation (its token) as the signed-in user",
)
def accept_invitation(request: HttpRequest, payload: InvitationIn) -> dict[str, Any]:
    share = services.accept_invitation(token=payload.token, user=request_user(request))
    return received_out(share)


# Professional profile ----------------------------------------------------------------------


class ProfileIn(Schema):
    name: str
    organisation: str = ""
    jurisdiction: str = ""


class ProfileOut(Schema):
    name: str
    organisation: str
    jurisdiction: str


@router.get(
    "/profile", response={200: ProfileOut, **refusals(404)}, summary="My professional profile"
)
def get_profile(request: HttpRequest) -> ProfessionalProfile:
    profile = professional_profile_of(request_user(request))
    if profile is None:
        raise Http404("No profile yet")
    return profile


@router.put("/profile", response=ProfileOut, summary="Create or change my professional profile")
def put_profile(request: HttpRequest, payload: ProfileIn) -> ProfessionalProfile:
    return services.upsert_profile(user=request_user(request), **payload.dict())


# Annotations (reviewers only) --------------------------------------------------------------


class AnnotationIn(Schema):
    text: str
    entry_seq: int | None = None


class AnnotationOut(Schema):
    id: int
    entry_seq: int | None
    author: str
    created_at: datetime
    text: str


def _reviewed_case(request: HttpRequest, case_id: str, *, action: str, detail: str) -> Case:
    """The case, for one of its reviewers. Annotations are private to the reviewers: the owner
    and viewers get the same 404 as strangers."""
    case = case_access_or_404(request, case_id, need="annotate", action=action, detail=detail).case
    if not sharing.is_reviewer(case, request_user(request)):
        raise Http404("No such case")
    return case


def annotation_out(annotation: Any) -> dict[str, Any]:
    return {
        "id": annotation.pk,
        "entry_seq": annotation.entry_seq,
        "author": sharing.display_name(annotation.author),
        "created_at": annotation.created_at,
        "text": annotation.text,
    }


@router.get(
    "/cases/{case_id}/annotations",
    response={200: list[AnnotationOut], **refusals(404)},
    summary="The reviewers' private annotations on a case",
)
def list_annotations(request: HttpRequest, case_id: str) -> list[dict[str, Any]]:
    case = _reviewed_case(request, case_id, action="view", detail="annotations")
    return [annotation_out(a) for a in sharing.annotations_for(case)]


@router.post(
    "/cases/{case_id}/annotations",
    response={201: AnnotationOut, **refusals(404)},
    summary="Annotate a case (reviewers only; never part of the chain)",
)
def create_annotation(
    request: HttpRequest, case_id: str, payload: AnnotationIn
) -> Status[dict[str, Any]]:
    detail = f"annotation on seq {payload.entry_seq}" if payload.entry_seq else "annotation"
    case = _reviewed_case(request, case_id, action="annotate", detail=detail)
    annotation = services.add_annotation(
        case=case, author=request_user(request), text=payload.text, entry_seq=payload.entry_seq
    )
    return Status(201, annotation_out(annotation))


@router.get(
    "/cases/{case_id}/annotations/export",
    summary="The annotations as a file: JSON (default) or CSV",
    response={200: None, **refusals(404)},
    openapi_extra={
        "responses": {
            200: {  # ninja's own key for it: an int (see entries.export)
                "description": "annotations file",
                "content": {"application/json": {}, "text/csv": {}},
            }
        }
    },
)
def export_annotations(
    request: HttpRequest, case_id: str, format: Literal["json", "csv"] = "json"
) -> HttpResponse:
    case = _reviewed_case(request, case_id, action="export", detail=f"annotations.{format}")
    annotations = sharing.annotations_for(case)
    if format == "csv":
        # A byte-order mark so that spreadsheet programs read the Chinese text as UTF-8.
        body = "\ufeff" + sharing.annotations_csv(annotations)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            sharing.annotations_json(case, annotations),
            content_type="application/json; charset=utf-8",
        )
    response["Content-Disposition"] = f'attachment; filename="annotations-{case.id}.{format}"'
    response["Cache-Control"] = "no-store"
    return response
