"""The analysis page (conduct analysis, suggested tags, loan-cost audit) as each persona
sees it; confirming tags and recording payments append entries, idempotently; every dossier
template carries both sections in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from locker import services
from locker.models import Entry
from locker.services import analysis as analysis_services

from .conftest import needs
from .dossier_helpers import has, make_dossier, run_tool, small_case
from .factories import add_entry
from .personas import Personas

pytestmark = pytest.mark.django_db
needs_pdftotext = needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed")


def seven_day_loan(case: object) -> None:
    services.update_case_facts(
        case=case,  # type: ignore[arg-type]
        author="user:test",
        changes={
            "principal_minor": 500000,
            "received_minor": 350000,
            "loan_start": "2026-01-01",
            "stated_rate_bp": 1800,
        },
    )
    add_entry(
        case,
        "loan_payment",  # type: ignore[arg-type]
        {"amount_minor": 500000, "date": "2026-01-08", "what": "repayment"},
    )


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_readers_see_the_analysis_and_only_the_owner_confirms() -> None:
    w = Personas()
    seven_day_loan(w.case)
    add_entry(
        w.case,
        "message",
        {"channel": "sms", "sender": "106", "text": "再不还钱就起诉你"},
        occurred_at="2026-01-06T09:00:00+08:00",
    )
    url = reverse("case_analysis", args=[w.case.pk])
    owner_page = client_for(w.owner).get(url).content.decode()
    assert "起诉" in owner_page and 'name="tags"' in owner_page
    assert "1,908.00" in owner_page  # the APR of the seven-day loan
    assert reverse("analysis_payment", args=[w.case.pk]) in owner_page
    reviewer_page = client_for(w.user("reviewer")).get(url).content.decode()
    assert "起诉" in reviewer_page and 'name="tags"' not in reviewer_page
    assert "1,908.00" in reviewer_page
    assert client_for(w.user("stranger")).get(url).status_code == 404
    # the case page only links to it
    case_page = client_for(w.owner).get(reverse("case_detail", args=[w.case.pk]))
    assert url in case_page.content.decode()


def test_confirming_a_suggestion_appends_one_correction_and_is_idempotent() -> None:
    w = Personas()
    message = add_entry(
        w.case,
        "message",
        {"channel": "sms", "text": "法院传票明天到", "tags": ["threat"]},
        occurred_at="2026-01-06T12:00:00+08:00",
    )
    client = client_for(w.owner)
    url = reverse("analysis_confirm", args=[w.case.pk])
    before = Entry.objects.filter(case=w.case).count()
    data = {"seq": message.seq, "tags": ["impersonation", "fake_legal_document"]}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302  # the second click adds nothing
    added = list(Entry.objects.filter(case=w.case, seq__gt=before).order_by("seq"))
    corrections = [e for e in added if e.kind == "correction"]
    assert len(corrections) == 1
    body = corrections[0].body
    assert body["corrects_seq"] == message.seq and body["origin"] == "suggested_tags"
    assert body["changes"] == {"tags": ["threat", "impersonation", "fake_legal_document"]}
    page = client.get(reverse("case_analysis", args=[w.case.pk])).content.decode()
    assert f'name="seq" value="{message.seq}"' not in page  # nothing left to suggest there
    # A reviewer's POST is refused like any other write.
    reviewer = client_for(w.user("reviewer"))
    assert reviewer.post(url, {"seq": message.seq, "tags": ["insult"]}).status_code == 404
    with pytest.raises(services.InputError):
        analysis_services.confirm_suggested_tags(
            case=w.case, author="user:x", seq=1, tags=["threat"]
        )  # seq 1 is case facts


def test_a_payment_from_the_form_is_a_loan_payment_entry() -> None:
    w = Personas()
    client = client_for(w.owner)
    url = reverse("analysis_payment", args=[w.case.pk])
    response = client.post(
        url,
        {
            "amount_minor": "1,500.50",
            "day": "2026-01-08",
            "what": "extension_fee",
            "status": "demanded",
            "note": "展期",
        },
    )
    assert response.status_code == 302
    entry = Entry.objects.filter(case=w.case, kind="loan_payment").get()
    assert entry.body == {
        "amount_minor": 150050,
        "date": "2026-01-08",
        "what": "extension_fee",
        "status": "demanded",
        "note": "展期",
    }
    refused = client.post(
        url, {"amount_minor": "0", "day": "2026-01-08", "what": "fee", "status": "paid"}
    )
    assert refused.status_code == 200 and Entry.objects.filter(kind="loan_payment").count() == 1


def test_the_api_takes_loan_payments_and_the_stated_rate() -> None:
    from .personas import api_as

    w = Personas()
    api = api_as(w.owner)
    response = api.patch_json(f"/api/cases/{w.case.pk}", {"stated_rate_bp": 2400})
    assert response.status_code == 200 and response.json()["stated_rate_bp"] == 2400
    response = api.post_json(
        f"/api/cases/{w.case.pk}/entries",
        {"kind": "loan_payment", "body": {"amount_minor": 1000, "date": "2026-02-30"}},
    )
    assert response.status_code in (400, 422)


@needs_pdftotext
@pytest.mark.parametrize("template", ["cn_regulator", "cn_12321", "us_cfpb", "court"])
@pytest.mark.parametrize(
    ("language", "conduct_title", "audit_title", "apr_line"),
    [
        ("en", "Conduct analysis", "Loan-cost audit", "APR = r × 365"),
        ("zh-hans", "催收行为分析", "借款成本核算", "年化利率（APR）= r × 365"),
    ],
)
def test_every_template_carries_the_analysis_and_the_audit(
    tmp_path: Path,
    template: str,
    language: str,
    conduct_title: str,
    audit_title: str,
    apr_line: str,
) -> None:
    case = small_case()
    seven_day_loan(case)
    _dossier, pdf = make_dossier(case, template=template, language=language)
    path = tmp_path / "d.pdf"
    path.write_bytes(pdf)
    text = run_tool("pdftotext", "-enc", "UTF-8", str(path), "-")
    flat = re.sub(r"\s", "", text)
    assert re.sub(r"\s", "", conduct_title) in flat
    assert re.sub(r"\s", "", audit_title) in flat
    assert re.sub(r"\s", "", apr_line) in flat
    assert "1,908.00%" in flat  # the seven-day loan's APR
    assert "17012345678" in flat  # the per-number table
