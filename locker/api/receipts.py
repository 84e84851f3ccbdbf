"""Receipts the client kept, through the JSON API: the owner uploads one (the signed checkpoint
document as the request body), and the owner and the lawyers the case is shared with list
them with their status against the chain now. Mounted on the main API (bearer auth)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from locker import services
from locker.api.errors import refusals
from locker.api.verification import SignerOut
from locker.core import chain
from locker.infra.http import request_user
from locker.permissions import case_access_or_404
from locker.selectors.receipts import KeptReceiptStatus, kept_receipts_of, status_of

router = Router(tags=["receipts"])


class KeptReceiptOut(Schema):
    id: int
    length: int
    head: str
    signed_at: str = Field(description="as in the receipt: YYYY-MM-DDTHH:MM:SS.ffffffZ")
    uploaded_at: datetime
    signer_fingerprint: str
    signer_trusted: bool
    signer: SignerOut
    status: Literal["holds", "removed", "rewritten"]
    attested_at: str | None = Field(
        description="for a receipt with an anchor: the earliest time a time-stamp authority "
        "this server trusts vouches the head existed (YYYY-MM-DDTHH:MM:SS.ffffffZ); "
        "null without one"
    )
    attested_by: list[str] = Field(description="those authorities' certificate subjects")


def kept_out(row: KeptReceiptStatus) -> dict[str, Any]:
    receipt = row.receipt
    return {
        "id": receipt.pk,
        "length": receipt.length,
        "head": receipt.head,
        "signed_at": chain.format_timestamp(receipt.signed_at),
        "uploaded_at": receipt.uploaded_at,
        "signer_fingerprint": receipt.signer_fingerprint,
        "signer_trusted": row.signer_trusted,
        "signer": row.signer.as_json(),
        "status": row.status,
        "attested_at": chain.format_timestamp(row.attested_at) if row.attested_at else None,
        "attested_by": list(row.attested_by),
    }


RECEIPT_REQUEST_DOC = {
    "requestBody": {
        "required": True,
        "description": "the receipt exactly as downloaded or mailed: a signed checkpoint "
        "(spec section 4), with its anchor member if it has one",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["checkpoint", "signature", "certificate"],
                    "properties": {
                        "checkpoint": {"type": "object"},
                        "signature": {"type": "string"},
                        "certificate": {"type": "string"},
                        "anchor": {
                            "type": "object",
                            "description": "third-party time (docs/chain-format.md, "
                            "“Anchors”); a receipt with one is kept only if it holds",
                        },
                    },
                }
            }
        },
    }
}


@router.get(
    "/cases/{case_id}/receipts",
    response={200: list[KeptReceiptOut], **refusals(404)},
    summary="Receipts the client kept, each checked against the chain now",
)
def list_kept_receipts(request: HttpRequest, case_id: str) -> list[dict[str, Any]]:
    case = case_access_or_404(request, case_id).case
    return [kept_out(row) for row in kept_receipts_of(case)]


@router.post(
    "/cases/{case_id}/receipts",
    response={200: KeptReceiptOut, 201: KeptReceiptOut, **refusals(404, 415)},
    openapi_extra=RECEIPT_REQUEST_DOC,
    summary="Upload a receipt you kept (201; 200 when it was already uploaded)",
)
def upload_kept_receipt(request: HttpRequest, case_id: str) -> Status[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    if request.content_type != "application/json":
        raise HttpError(415, "send the receipt as application/json")
    result = services.add_kept_receipt(case=case, user=request_user(request), data=request.body)
    return Status(201 if result.created else 200, kept_out(status_of(result.receipt)))
