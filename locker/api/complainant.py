"""The complainant's details through the JSON API (docs/complainant-details.md): my identity
and contact details, a case's complaint details and the agent's authorisation, the owner's
alone. Answers are masked (1101**********1234) unless `?reveal=true` asks for the values,
as the web page's edit form does."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status

from locker.api.errors import Invalid, api_message, refusals
from locker.core import identity
from locker.infra.http import request_user
from locker.models import Case
from locker.permissions import case_access_or_404
from locker.selectors import complainant as selectors
from locker.services import complainant as services

router = Router(tags=["complainant"])


class ComplainantIn(Schema):
    legal_name: str = ""
    id_type: str = ""
    id_type_other: str = ""
    id_number: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""


class ComplainantOut(ComplainantIn):
    masked: bool


class ComplaintIn(Schema):
    receiving_numbers: list[str] = []
    typed_signature: bool = False
    agent_name: str = ""
    agent_relationship: str = ""
    agent_contact: str = ""


class AuthorisationOut(Schema):
    sha256: str
    size: int
    media_type: str


class ComplaintOut(ComplaintIn):
    masked: bool
    authorisation: AuthorisationOut | None
    # Per template (cn_regulator, cn_12321), the elements a dossier made now would lack.
    missing: dict[str, list[str]]


class Refused(Schema):
    detail: str
    field: str = Field(description="the member the refused value was sent in")


# A value the services refuse is Refused; input that does not fit the body at all (a number
# for a name) is ninja's validation answer, and a reused Idempotency-Key a plain Detail: the
# 422 of these routes is either shape.
REFUSED_OR_INVALID = {422: Refused | Invalid}

AUTHORISATION_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "a photo or scan: JPEG, PNG, WebP or HEIC",
                        }
                    },
                }
            }
        },
    }
}


def _refused(request: HttpRequest, exc: services.DetailRefused) -> Status[dict[str, str]]:
    return Status(422, {"detail": f"{exc.field}: {api_message(request, exc)}", "field": exc.field})


def _person_out(person: identity.Complainant, reveal: bool) -> dict[str, Any]:
    values = {name: getattr(person, name) for name in identity.COMPLAINANT_FIELDS}
    if not reveal:
        masked = person.masked()
        values.update({k: masked[k] for k in ("legal_name", "id_number", "phone", "email")})
        values["address"] = masked["address"]
    return {**values, "masked": not reveal}


def _complaint_out(case: Case, complaint: identity.Complaint, reveal: bool) -> dict[str, Any]:
    contact = complaint.agent_contact if reveal else identity.mask_contact(complaint.agent_contact)
    authorisation = complaint.authorisation
    return {
        "receiving_numbers": [
            n if reveal else identity.mask_phone(n) for n in complaint.receiving_numbers
        ],
        "typed_signature": complaint.typed_signature,
        "agent_name": complaint.agent_name if reveal else identity.mask_name(complaint.agent_name),
        "agent_relationship": complaint.agent_relationship,
        "agent_contact": contact,
        "masked": not reveal,
        "authorisation": (
            {
                "sha256": authorisation.sha256,
                "size": authorisation.size,
                "media_type": authorisation.media_type,
            }
            if authorisation
            else None
        ),
        "missing": {
            template: identity.missing_elements(
                template, selectors.complainant_of(case.owner), complaint, case.facts()
            )
            for template in identity.TEMPLATE_ELEMENTS
        },
    }


@router.get("/complainant", response=ComplainantOut, summary="My details for complaints")
def get_complainant(request: HttpRequest, reveal: bool = False) -> dict[str, Any]:
    return _person_out(selectors.complainant_of(request_user(request)), reveal)


@router.put(
    "/complainant",
    response={200: ComplainantOut, **REFUSED_OR_INVALID},
    summary="Set my details for complaints (all of them; an empty value clears one)",
)
def put_complainant(request: HttpRequest, payload: ComplainantIn) -> Any:
    try:
        person = services.save_complainant_details(user=request_user(request), **payload.dict())
    except services.DetailRefused as exc:
        return _refused(request, exc)
    return _person_out(person, reveal=False)


@router.get(
    "/cases/{case_id}/complaint",
    response={200: ComplaintOut, **refusals(404)},
    summary="A case's complaint",
)
def get_complaint(request: HttpRequest, case_id: str, reveal: bool = False) -> dict[str, Any]:
    case = case_access_or_404(request, case_id, need="write").case
    return _complaint_out(case, selectors.complaint_of(case), reveal)


@router.put(
    "/cases/{case_id}/complaint",
    response={200: ComplaintOut, **refusals(404), **REFUSED_OR_INVALID},
    summary="Set a case's complaint details (the authorisation file is kept)",
)
def put_complaint(request: HttpRequest, case_id: str, payload: ComplaintIn) -> Any:
    case = case_access_or_404(request, case_id, need="write").case
    try:
        services.save_case_complaint(case=case, **payload.dict())
    except services.DetailRefused as exc:
        return _refused(request, exc)
    return _complaint_out(case, selectors.complaint_of(case), reveal=False)


@router.post(
    "/cases/{case_id}/complaint/authorisation",
    response={201: AuthorisationOut, **refusals(404, 507), **REFUSED_OR_INVALID},
    openapi_extra=AUTHORISATION_UPLOAD_DOC,
    summary="Upload the agent's written authorisation (a picture; multipart field `file`)",
)
def post_authorisation(request: HttpRequest, case_id: str) -> Any:
    # The file is read here, after the case is found: a non-owner gets the 404 of any case
    # route, not a complaint about the body.
    case = case_access_or_404(request, case_id, need="write").case
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise services.DetailRefused(
                "file", _("Send the picture as the multipart field `file`.")
            )
        stored = services.store_authorisation(case=case, upload=upload)
    except services.DetailRefused as exc:
        return _refused(request, exc)
    return Status(
        201, {"sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type}
    )


@router.delete(
    "/cases/{case_id}/complaint/authorisation",
    response={204: None, **refusals(404)},
    summary="Remove the agent's written authorisation",
)
def delete_authorisation(request: HttpRequest, case_id: str) -> Status[None]:
    case = case_access_or_404(request, case_id, need="write").case
    services.remove_authorisation(case=case)
    return Status(204, None)
