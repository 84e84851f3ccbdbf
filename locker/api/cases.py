"""Cases through the JSON API: open one, list mine, read one, change its facts (each change is
recorded in the chain as a case_update entry). The chain itself is in locker.api.entries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import StrictInt

from locker import services
from locker.api.auth import author_of
from locker.api.errors import refusals
from locker.infra.http import request_user
from locker.models import Case
from locker.permissions import case_access_or_404
from locker.selectors.cases import cases_owned_by
from locker.selectors.chain import chain_head

router = Router(tags=["cases"])


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
    stated_rate_bp: StrictInt | None = None
    collector_agency: str = ""
    funding_institution: str = ""
    staff_involved: str = ""


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
    stated_rate_bp: StrictInt | None = None
    collector_agency: str | None = None
    funding_institution: str | None = None
    staff_involved: str | None = None


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
    stated_rate_bp: int | None
    collector_agency: str
    funding_institution: str
    staff_involved: str
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


@router.post("/cases", response={201: CaseOut}, summary="Open a case")
def create_case(request: HttpRequest, payload: CaseIn) -> Status[dict[str, Any]]:
    facts = payload.dict()
    case = services.create_case(owner=request_user(request), author=author_of(request), **facts)
    return Status(201, case_out(case))


@router.get("/cases", response=list[CaseOut], summary="My cases")
def list_cases(request: HttpRequest) -> list[dict[str, Any]]:
    return [case_out(case) for case in cases_owned_by(request_user(request))]


@router.get("/cases/{case_id}", response={200: CaseOut, **refusals(404)})
def get_case(request: HttpRequest, case_id: str) -> dict[str, Any]:
    return case_out(case_access_or_404(request, case_id).case)


@router.patch(
    "/cases/{case_id}",
    response={200: CaseOut, **refusals(404)},
    summary="Change case facts (recorded as a case_update entry)",
)
def patch_case(request: HttpRequest, case_id: str, payload: CasePatch) -> dict[str, Any]:
    case = case_access_or_404(request, case_id, need="write").case
    services.update_case_facts(
        case=case, author=author_of(request), changes=payload.dict(exclude_unset=True)
    )
    return case_out(case)
