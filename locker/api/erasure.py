"""Erasing one record's content through the JSON API (the case's owner only): the entry keeps
its seq, prev and hash and is listed and exported as an omitted line from then on, and a new
`redaction` entry records the erasure (locker/services/erasure.py). Grouped under "cases"
like the other chain routes."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from locker import services
from locker.api.auth import author_of
from locker.api.entries import appended_out
from locker.api.errors import api_message, refusals
from locker.core import chain, kinds
from locker.infra.http import request_user
from locker.permissions import case_access_or_404
from locker.selectors.entries import entry_at

router = Router(tags=["cases"])


REASONS = [reason.value for reason in kinds.RedactionReason]
ERASE_REQUEST_DOC = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "reason": {
                            "type": "string",
                            "enum": REASONS,
                            "nullable": True,
                            "description": "optional: why, as a category (never free text)",
                        }
                    },
                    "additionalProperties": False,
                }
            }
        },
    }
}


def _reason_of(request: HttpRequest) -> Any:
    """The optional reason: from a JSON body, or a form field; no body at all is no reason."""
    if request.content_type != "application/json":
        return request.POST.get("reason") or None
    if not request.body.strip():
        return None
    try:
        document = json.loads(request.body, parse_constant=chain.reject_json_constant)
    except (ValueError, RecursionError) as exc:
        message = format_lazy(_("request body is not valid JSON: {error}"), error=exc)
        raise HttpError(400, api_message(request, message)) from exc
    # Refused as the services refuse (InputError: 422 in the API's language).
    if not isinstance(document, dict):
        raise services.InputError(_('the body must be a JSON object, {"reason": …} or {}'))
    unknown = set(document) - {"reason"}
    if unknown:
        raise services.InputError(
            format_lazy(_("unknown members {members}; expected reason"), members=sorted(unknown))
        )
    reason = document.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise services.InputError(_("reason must be a string"))
    return reason


class ErasedOut(Schema):
    seq: int
    prev: str
    hash: str


class EraseOut(Schema):
    seq: int = Field(description="the redaction entry's seq")
    hash: str
    prev: str
    recorded_at: str
    entry: dict[str, Any] = Field(description="the redaction entry (the spec's entry object)")
    erased: ErasedOut = Field(description="the erased entry's omitted line, as exported now")
    receipt: dict[str, Any] = Field(description="the signed checkpoint of the new head")


@router.post(
    "/cases/{case_id}/entries/{seq}/erase",
    response={200: EraseOut, **refusals(404, 409, 422)},
    openapi_extra=ERASE_REQUEST_DOC,
    summary="Erase one record's content (the owner only); the chain keeps its links",
)
def erase_entry(request: HttpRequest, case_id: str, seq: int) -> Status[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    if entry_at(case, seq) is None:
        # The 404 of every route, word for word: no such entry reads like no such case.
        raise Http404("No such entry")
    reason = _reason_of(request)
    try:
        result = services.erase_entry(
            case=case,
            seq=seq,
            user=request_user(request),
            author=author_of(request),
            reason=reason,
            request=request,
        )
    except services.AlreadyErased as exc:
        return Status(409, {"detail": api_message(request, exc)})
    return Status(
        200,
        {
            **appended_out(result.redaction, result.receipt),
            "entry": result.redaction.as_entry(),
            "erased": result.erased.as_omitted_line()["omitted"],
        },
    )
