"""Erasing one record's content through the JSON API (the case's owner only): the entry keeps
its seq, prev and hash and is listed and exported as an omitted line from then on, and a new
`redaction` entry records the erasure (locker/services/erasure.py). Grouped under "cases"
like the other chain routes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from locker import services
from locker.api.auth import author_of
from locker.api.errors import api_message
from locker.api.tokens import Detail
from locker.core import kinds
from locker.infra.http import request_user
from locker.permissions import case_access_or_404
from locker.selectors.entries import entry_at

router = Router(tags=["cases"])


class EraseIn(Schema):
    reason: str | None = Field(
        default=None,
        description="optional: why, as a category (never free text): "
        + ", ".join(reason.value for reason in kinds.RedactionReason),
    )


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
    response={200: EraseOut, 404: Detail, 409: Detail, 422: Detail},
    summary="Erase one record's content (the owner only); the chain keeps its links",
)
def erase_entry(
    request: HttpRequest, case_id: str, seq: int, payload: EraseIn | None = None
) -> Status[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    if entry_at(case, seq) is None:
        raise HttpError(404, "No such entry")
    reason = payload.reason if payload is not None else None
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
    redaction = result.redaction
    return Status(
        200,
        {
            "seq": redaction.seq,
            "hash": redaction.hash,
            "prev": redaction.prev,
            "recorded_at": redaction.as_entry()["recorded_at"],
            "entry": redaction.as_entry(),
            "erased": result.erased.as_omitted_line()["omitted"],
            "receipt": result.receipt,
        },
    )
