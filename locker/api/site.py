"""The JSON API under /api/ (django-ninja: typed endpoints with a generated OpenAPI document
and interactive docs at /api/docs, served from the package's own assets)."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import NinjaAPI, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from ninja.security import HttpBearer
from ninja.throttling import AnonRateThrottle
from pydantic import StrictInt

from locker import services
from locker.api.errors import api_message, english
from locker.api.pagination import BoundedLimitOffset
from locker.core import chain
from locker.exports import bundle
from locker.infra.http import client_ip, request_user
from locker.models import Case
from locker.permissions import case_access_or_404
from locker.selectors.accounts import token_of, tokens_of
from locker.selectors.cases import cases_owned_by, chain_head
from locker.selectors.chain import verify_case
from locker.selectors.entries import chain_entries


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`; the token's user becomes request_user(request)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = services.find_token(token)
        if found is None:
            return None
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


bearer = BearerToken()
api = NinjaAPI(
    title="Evidence Locker API",
    version="1",
    description="Tamper-evident records of debt-collection harassment. "
    "Every call but POST /api/tokens needs `Authorization: Bearer <token>`.",
    auth=bearer,
    urls_namespace="api",
)


def author_of(request: HttpRequest) -> str:
    token = getattr(request, "api_token", None)
    return f"token:{token.pk}" if token is not None else f"user:{request.user.pk}"


@api.exception_handler(services.InputError)
def input_error(request: HttpRequest, exc: services.InputError) -> HttpResponse:
    status = 413 if "larger than the limit" in english(exc) else 422
    return api.create_response(request, {"detail": api_message(request, exc)}, status=status)


# Tokens ------------------------------------------------------------------------------------


class Credentials(Schema):
    username: str
    password: str
    name: str = ""


class NewToken(Schema):
    id: int
    token: str
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TrustedAddressThrottle(AnonRateThrottle):
    """ninja's throttle keyed on the address we trust (access.client_ip), not on an
    X-Forwarded-For header any client can vary to escape the limit."""

    def get_ident(self, request: HttpRequest) -> str | None:
        return client_ip(request) or "unknown"


class LoginThrottle(TrustedAddressThrottle):
    def __init__(self) -> None:
        super().__init__(settings.LOCKER_LOGIN_RATE)


@api.post(
    "/tokens",
    auth=None,
    response={201: NewToken},
    throttle=[LoginThrottle()],
    summary="Exchange a username and password for an API token",
)
def create_token(request: HttpRequest, credentials: Credentials) -> Status[dict[str, Any]]:
    user = authenticate(request, username=credentials.username, password=credentials.password)
    if user is None:
        raise HttpError(401, "wrong username or password")
    token, raw = services.issue_token(user=user, name=credentials.name)
    return Status(201, {"id": token.pk, "token": raw, "name": token.name})


@api.get("/tokens", response=list[TokenOut], summary="My API tokens")
def list_tokens(request: HttpRequest) -> Any:
    return tokens_of(request_user(request))


@api.delete("/tokens/{token_id}", response={204: None}, summary="Revoke one of my tokens")
def revoke_token(request: HttpRequest, token_id: int) -> Status[None]:
    token = token_of(request_user(request), token_id)
    if token is None:
        raise HttpError(404, "Not Found")
    services.revoke_token(token=token)
    return Status(204, None)


# Cases -------------------------------------------------------------------------------------


class CaseIn(Schema):
    title: str
    borrower_name: str = ""
    lender: str = ""
    lending_app: str = ""
    currency: str = "CNY"
    principal_minor: StrictInt | None = None
    received_minor: StrictInt | None = None
    demanded_minor: StrictInt | None = None
    loan_start: date | None = None
    loan_due: date | None = None
    collector_agency: str = ""


class CasePatch(Schema):
    title: str | None = None
    borrower_name: str | None = None
    lender: str | None = None
    lending_app: str | None = None
    currency: str | None = None
    principal_minor: StrictInt | None = None
    received_minor: StrictInt | None = None
    demanded_minor: StrictInt | None = None
    loan_start: date | None = None
    loan_due: date | None = None
    collector_agency: str | None = None


class CaseOut(Schema):
    id: uuid.UUID
    title: str
    borrower_name: str
    lender: str
    lending_app: str
    currency: str
    principal_minor: int | None
    received_minor: int | None
    demanded_minor: int | None
    loan_start: date | None
    loan_due: date | None
    collector_agency: str
    created_at: datetime
    length: int
    head: str


def case_out(case: Case) -> dict[str, Any]:
    length, head = chain_head(case)
    return {
        **{name: getattr(case, name) for name in Case.FACT_FIELDS},
        "id": case.id,
        "created_at": case.created_at,
        "length": length,
        "head": head,
    }


cases = Router(tags=["cases"])


@cases.post("/cases", response={201: CaseOut}, summary="Open a case")
def create_case(request: HttpRequest, payload: CaseIn) -> Status[dict[str, Any]]:
    facts = payload.dict()
    case = services.create_case(owner=request_user(request), author=author_of(request), **facts)
    return Status(201, case_out(case))


@cases.get("/cases", response=list[CaseOut], summary="My cases")
def list_cases(request: HttpRequest) -> list[dict[str, Any]]:
    return [case_out(case) for case in cases_owned_by(request_user(request))]


@cases.get("/cases/{case_id}", response=CaseOut)
def get_case(request: HttpRequest, case_id: str) -> dict[str, Any]:
    return case_out(case_access_or_404(request, case_id).case)


@cases.patch(
    "/cases/{case_id}",
    response=CaseOut,
    summary="Change case facts (recorded as a case_update entry)",
)
def patch_case(request: HttpRequest, case_id: str, payload: CasePatch) -> dict[str, Any]:
    case = case_access_or_404(request, case_id, need="write").case
    services.update_case_facts(
        case=case, author=author_of(request), changes=payload.dict(exclude_unset=True)
    )
    return case_out(case)


# Entries -----------------------------------------------------------------------------------

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
                        "body": {"type": "object"},
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
    unknown = set(document) - {"kind", "occurred_at", "body"}
    if unknown:
        raise HttpError(422, f"unknown members {sorted(unknown)}; expected kind, occurred_at, body")
    if "kind" not in document or "body" not in document:
        raise HttpError(422, "the entry needs kind and body")
    return document, uploads


@cases.post(
    "/cases/{case_id}/entries",
    response={201: AppendOut},
    openapi_extra=ENTRY_REQUEST_DOC,
    summary="Add a record to the case's chain",
)
def append_entry(request: HttpRequest, case_id: str) -> Status[dict[str, Any]]:
    case = case_access_or_404(request, case_id, need="write").case
    document, uploads = _decode_entry_request(request)
    kind = document["kind"]
    if not isinstance(kind, str):
        raise HttpError(422, "kind must be a string")
    result = services.append_entry(
        case=case,
        author=author_of(request),
        kind=kind,
        body=document["body"],
        occurred_at=document.get("occurred_at"),
        uploads=uploads,
    )
    entry = result.entry
    return Status(
        201,
        {
            "seq": entry.seq,
            "hash": entry.hash,
            "prev": entry.prev,
            "recorded_at": entry.as_entry()["recorded_at"],
            "receipt": result.receipt,
        },
    )


@cases.get(
    "/cases/{case_id}/entries",
    response=list[dict[str, Any]],
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


class VerifyOut(Schema):
    ok: bool
    length: int
    head: str
    first_bad_seq: int | None = None
    problem: str | None = None


@cases.get(
    "/cases/{case_id}/verify",
    response=VerifyOut,
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


@cases.get(
    "/cases/{case_id}/export",
    summary="The case as the spec's ZIP bundle, streamed",
    openapi_extra={
        "responses": {"200": {"content": {"application/zip": {}}, "description": "ZIP bundle"}}
    },
)
def export(request: HttpRequest, case_id: str) -> StreamingHttpResponse:
    case = case_access_or_404(request, case_id, action="export", detail="bundle").case
    response = StreamingHttpResponse(bundle.stream_bundle(case), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="case-{case.id}.zip"'
    response["Cache-Control"] = "no-store"
    return response


api.add_router("", cases)

# Sharing routes (locker/api_sharing.py) inherit the bearer auth above.
from locker.api.sharing import router as sharing_router  # noqa: E402

api.add_router("", sharing_router)

# Kept receipts (locker/api_receipts.py), likewise.
from locker.api.receipts import router as receipts_router  # noqa: E402

api.add_router("", receipts_router)
