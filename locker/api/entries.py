"""A case's chain through the JSON API: add a record (JSON, or multipart with evidence files),
read the chain as the spec's line objects, verify it as stored, and export it as the spec's
ZIP bundle. Grouped under the "cases" tag in the OpenAPI document, as they always were."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from locker import services
from locker.api.auth import author_of
from locker.api.errors import refusals
from locker.api.pagination import BoundedLimitOffset
from locker.core import chain
from locker.exports import bundle
from locker.models import Entry
from locker.permissions import case_access_or_404
from locker.selectors.chain import verify_case
from locker.selectors.entries import chain_entries

router = Router(tags=["cases"])

ENTRY_REQUEST_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["kind", "body"],
                    "properties": {
                        "kind": {
                            "type": "string",
                            "enum": ["call", "message", "contact_report", "note", "correction"],
                        },
                        "occurred_at": {
                            "type": "string",
                            "format": "date-time",
                            "nullable": True,
                        },
                        "body": {
                            "type": "object",
                            "description": (
                                "the kind's members, as docs/chain-format.md lists them "
                                '("Kinds of record"); unknown members are refused'
                            ),
                        },
                        "files": {
                            "type": "array",
                            "description": (
                                "optional, multipart only: what you send, one object per file "
                                "in order; an entry whose files are not this is refused"
                            ),
                            "items": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer", "minimum": 0},
                                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                    "name": {"type": "string"},
                                },
                                "additionalProperties": False,
                            },
                        },
                    },
                    "additionalProperties": False,
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["entry"],
                    "properties": {
                        "entry": {
                            "type": "string",
                            "description": "the JSON object above, as a string",
                        },
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            },
        },
    }
}


class AppendOut(Schema):
    seq: int
    hash: str
    prev: str
    recorded_at: str
    receipt: dict[str, Any]


def appended_out(entry: Entry, receipt: dict[str, Any]) -> dict[str, Any]:
    """What the API answers about an entry it just appended, with the new head's receipt."""
    return {
        "seq": entry.seq,
        "hash": entry.hash,
        "prev": entry.prev,
        "recorded_at": entry.as_entry()["recorded_at"],
        "receipt": receipt,
    }


def _decode_entry_request(request: HttpRequest) -> tuple[dict[str, Any], list[services.Upload]]:
    uploads: list[services.Upload] = []
    if request.content_type == "multipart/form-data":
        raw: bytes | str | None = request.POST.get("entry")
        if raw is None:
            raise HttpError(400, "multipart request needs a field 'entry' holding the entry JSON")
        uploads = [services.Upload(f.name or "file", f) for f in request.FILES.getlist("files")]
        unexpected = set(request.FILES) - {"files"}
        if unexpected:
            raise HttpError(400, f"unexpected file fields {sorted(unexpected)}; use 'files'")
    elif request.content_type == "application/json":
        raw = request.body
    else:
        raise HttpError(415, "send application/json or multipart/form-data")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        document = json.loads(text, parse_constant=chain.reject_json_constant)
    except UnicodeDecodeError as exc:
        raise HttpError(400, f"request body is not valid UTF-8: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise HttpError(400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise HttpError(400, "the entry must be a JSON object")
    unknown = set(document) - {"kind", "occurred_at", "body", "files"}
    if unknown:
        raise HttpError(
            422, f"unknown members {sorted(unknown)}; expected kind, occurred_at, body, files"
        )
    if "kind" not in document or "body" not in document:
        raise HttpError(422, "the entry needs kind and body")
    return document, uploads


@router.post(
    "/cases/{case_id}/entries",
    response={201: AppendOut, **refusals(404, 413, 415, 507)},
    openapi_extra=ENTRY_REQUEST_DOC,
    summary="Add a record to the case's chain",
)
def append_entry(request: HttpRequest, case_id: str) -> Status[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    document, uploads = _decode_entry_request(request)
    kind = document["kind"]
    if not isinstance(kind, str):
        raise HttpError(422, "kind must be a string")
    declared = document.get("files")
    result = services.append_entry(
        case=case,
        author=author_of(request),
        kind=kind,
        body=document["body"],
        occurred_at=document.get("occurred_at"),
        uploads=uploads,
        declared_files=None if declared is None else services.parse_declared_files(declared),
    )
    return Status(201, appended_out(result.entry, result.receipt))


@router.get(
    "/cases/{case_id}/entries",
    response={200: list[dict[str, Any]], **refusals(404)},
    summary="The case's chain as the spec's line objects, in seq order",
)
@paginate(BoundedLimitOffset)
def list_entries(request: HttpRequest, case_id: str) -> Any:
    case = case_access_or_404(request, case_id).case
    return _LineView(chain_entries(case))


class _LineView:
    """A lazily sliced queryset that yields line objects, so pagination stays in SQL."""

    def __init__(self, queryset: Any) -> None:
        self.queryset = queryset

    def count(self) -> int:
        return int(self.queryset.count())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [entry.as_line() for entry in self.queryset[index]]


# Not named VerifyOut: the OpenAPI document keeps one schema per name, and showed POST
# /api/verify's for this route too, whose answers it then said were wrong.
class ChainVerifyOut(Schema):
    ok: bool
    length: int
    head: str
    first_bad_seq: int | None = None
    problem: str | None = None


@router.get(
    "/cases/{case_id}/verify",
    response={200: ChainVerifyOut, **refusals(404)},
    exclude_none=True,
    summary="Recompute every hash and re-hash every evidence file",
)
def verify(request: HttpRequest, case_id: str) -> dict[str, Any]:
    case = case_access_or_404(request, case_id, action="verify").case
    report = verify_case(case)
    result: dict[str, Any] = {"ok": report.ok, "length": report.length, "head": report.head}
    if not report.ok:
        result.update(first_bad_seq=report.first_bad_seq, problem=report.problem)
    return result


@router.get(
    "/cases/{case_id}/export",
    summary="The case as the spec's ZIP bundle, streamed",
    # 200 as ninja keys it (an int): a "200" beside it made the JSON have the key twice,
    # which Swagger UI refuses to read.
    response={200: None, **refusals(404)},
    openapi_extra={
        "responses": {200: {"content": {"application/zip": {}}, "description": "ZIP bundle"}}
    },
)
def export(request: HttpRequest, case_id: str) -> StreamingHttpResponse:
    case = case_access_or_404(request, case_id, action="export", detail="bundle").case
    response = StreamingHttpResponse(bundle.stream_bundle(case), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="case-{case.id}.zip"'
    response["Cache-Control"] = "no-store"
    return response
