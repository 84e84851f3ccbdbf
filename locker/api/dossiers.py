"""Dossier endpoints of the JSON API (mounted on locker.api.site's NinjaAPI, which supplies the
bearer-token auth): request a dossier, watch its progress, download it. Checking a dossier
someone hands you, POST /api/verify, is in locker.api.verification."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field, StrictBool

from locker.api.errors import api_message, refusals
from locker.infra.http import pack_attachment, pdf_attachment, public_url
from locker.models import Dossier
from locker.permissions import case_access_or_404
from locker.selectors import access_wording
from locker.selectors import dossiers as dossier_selectors
from locker.services import dossiers as dossier_services

router = Router(tags=["dossiers"])


class DossierIn(Schema):
    template: str = Field(description="cn_regulator, cn_12321, us_cfpb or court")
    language: str = Field(description="zh-hans or en (independent of the template)")
    from_: date | None = Field(None, alias="from", description="first day shown (YYYY-MM-DD)")
    to: date | None = Field(None, description="last day shown (YYYY-MM-DD)")
    kinds: list[str] = Field(default_factory=list, description="only these kinds (all if empty)")
    time_zone: str | None = Field(None, description="IANA zone for dates and hours")
    include_access_log: StrictBool = Field(
        False,
        description="court template only, case owner only: add who has seen the case "
        "(the access log up to the request)",
    )
    attachment_pack: StrictBool = Field(
        False,
        description="also make an attachment pack: a ZIP of signed PDF parts of at most "
        "2,000,000 bytes each (NIFA's attachment limit), at /api/dossiers/{id}/pack",
    )


class DossierCreated(Schema):
    id: str
    status: str


class DossierStatus(Schema):
    id: str
    status: str
    progress: int
    error: str | None = None
    template: str
    language: str
    include_access_log: bool
    created_at: datetime
    finished_at: datetime | None = None
    pages: int | None = None
    sha256: str | None = None
    chain_length: int | None = None
    chain_head: str | None = None
    attachment_pack: bool = False
    pack_parts: int | None = None
    pack_sha256: str | None = None


def dossier_or_404(request: HttpRequest, dossier_id: Any, action: str) -> Dossier:
    """The dossier, if its case may be read by the requester; 404 otherwise."""
    dossier = dossier_selectors.dossier_by_id(dossier_id)
    if dossier is None:
        raise HttpError(404, "Not Found")
    case_access_or_404(
        request,
        dossier.case_id,
        need="read",
        action=action,
        detail=access_wording.dossier_detail(dossier.id),
    )
    return dossier


@router.post(
    "/cases/{case_id}/dossiers",
    response={202: DossierCreated, **refusals(403, 404)},
    summary="Request a signed PDF dossier; a worker renders it (owner and reviewers; a "
    "viewer gets 403)",
)
def request_dossier(request: HttpRequest, case_id: str, payload: DossierIn) -> Status[Any]:
    try:
        case = case_access_or_404(
            request, case_id, need="render", action="export", detail="dossier"
        ).case
        dossier = dossier_services.request_dossier(
            case=case,
            user=request.auth,  # type: ignore[attr-defined]
            template=payload.template,
            language=payload.language,
            date_from=payload.from_,
            date_to=payload.to,
            kinds=payload.kinds,
            time_zone=payload.time_zone,
            verify_url=public_url(request, "/verify"),
            include_access_log=payload.include_access_log,
            attachment_pack=payload.attachment_pack,
        )
    except PermissionError as exc:
        return Status(403, {"detail": api_message(request, exc)})
    return Status(202, {"id": str(dossier.id), "status": dossier.state})


@router.get(
    "/cases/{case_id}/dossiers",
    response={200: list[DossierStatus], **refusals(404)},
    summary="Dossiers of a case",
)
def list_dossiers(request: HttpRequest, case_id: str) -> list[dict[str, Any]]:
    case = case_access_or_404(
        request, case_id, need="read", action="view", detail=f"GET {request.path}"
    ).case
    dossiers = dossier_selectors.recent_dossiers_of(case, limit=100)
    return [dossier_selectors.dossier_status(dossier) for dossier in dossiers]


@router.get(
    "/dossiers/{dossier_id}",
    response={200: DossierStatus, **refusals(404)},
    summary="Progress of a dossier",
)
def dossier_status(request: HttpRequest, dossier_id: str) -> dict[str, Any]:
    return dossier_selectors.dossier_status(dossier_or_404(request, dossier_id, "view"))


@router.get(
    "/dossiers/{dossier_id}/pdf",
    response={200: None, **refusals(404, 409)},
    summary="Download a ready dossier",
    openapi_extra={
        "responses": {200: {"content": {"application/pdf": {}}, "description": "signed PDF"}}
    },
)
def dossier_pdf(request: HttpRequest, dossier_id: str) -> Any:
    dossier = dossier_or_404(request, dossier_id, "export")
    if dossier.state != Dossier.State.READY:
        return Status(409, {"detail": f"the dossier is {dossier.state}, not ready"})
    return pdf_attachment(dossier)


@router.get(
    "/dossiers/{dossier_id}/pack",
    response={200: None, **refusals(404, 409)},
    summary="Download a ready dossier's attachment pack",
    openapi_extra={
        "responses": {
            200: {"content": {"application/zip": {}}, "description": "ZIP of signed PDF parts"}
        }
    },
)
def dossier_pack(request: HttpRequest, dossier_id: str) -> Any:
    dossier = dossier_or_404(request, dossier_id, "export")
    if dossier.state != Dossier.State.READY or not dossier.pack_file_name:
        return Status(409, {"detail": f"the dossier has no attachment pack ({dossier.state})"})
    return pack_attachment(dossier)
