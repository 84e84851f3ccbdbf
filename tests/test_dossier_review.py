"""Issue 13 read as the receiving regulator or court (docs/dossier-review.md): what a page by
page reading of the eight dossiers found and what now holds. Loan payments and corrected
times in the timeline worded as people read them, a corrected record marked; the 12321
report lists what was received, as corrected, and points a screenshot-only message to its
picture; the number of different numbers counts every number that called or wrote;
English counts in the singular when there is one; the cn_regulator basis cites the rules
as they are; the loan-cost audit draws no conclusion from a loan not yet repaid; the
translator's certificate covers Chinese read in a picture."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from locker import services
from locker.core import loan_cost as lc
from locker.dossier import court
from locker.dossier.build import gather
from locker.models import Case, Dossier
from locker.services import analysis as analysis_services

from .conftest import needs
from .dossier_helpers import has, make_dossier, pdf_text, screenshot_png
from .factories import add_entry, make_case

pytestmark = pytest.mark.django_db
needs_pdftotext = needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed")


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def text_of(tmp_path: Path, case: Case, template: str, language: str) -> str:
    _dossier, data = make_dossier(case, template, language)
    path = tmp_path / f"{template}-{language}.pdf"
    path.write_bytes(data)
    return flat(pdf_text(str(path)))


def loan_case(**options: Any) -> Case:
    """A case of a 5,000 loan (3,500 received on 2025-11-01) with 2,000 repaid on
    2025-11-15."""
    case = make_case(
        principal_minor=500000, received_minor=350000, loan_start="2025-11-01", **options
    )
    analysis_services.record_loan_payment(
        case=case,
        author=f"user:{case.owner_id}",
        amount_minor=200000,
        day=date(2025, 11, 15),
        what="repayment",
        status="paid",
    )
    return case


def corrected_call(
    case: Case, body: dict[str, Any], *, logged_at: str, corrected_to: str, reason: str
) -> None:
    """A call logged at `logged_at`, then a correction of its time to `corrected_to`."""
    wrong = add_entry(case, "call", body, occurred_at=logged_at)
    add_entry(
        case,
        "correction",
        {"corrects_seq": wrong.seq, "reason": reason, "changes": {"occurred_at": corrected_to}},
    )


def reviewed_case() -> Case:
    """Calls from one number, an SMS from another and one known by its screenshot only, the
    borrower's own written request to stop, a call whose time was corrected, a payment."""
    case = loan_case(borrower_name="王𠮷")
    add_entry(
        case,
        "call",
        {"number": "17012345678", "summary": "催收"},
        occurred_at="2026-01-05T10:00:00+08:00",
    )
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "0086-10-6900-0123", "text": "再不还钱就🔪了你"},
        occurred_at="2026-01-06T22:15:00+08:00",
    )
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "10690000123", "text": ""},
        occurred_at="2026-01-07T21:30:00+08:00",
        uploads=[services.Upload("shot.png", io.BytesIO(screenshot_png(seed=5)))],
    )
    add_entry(
        case,
        "message",
        {
            "channel": "sms",
            "direction": "outgoing",
            "sender": "me",
            "text": "请停止联系我",
            "tags": ["asked_to_stop"],
        },
        occurred_at="2026-01-08T09:00:00+08:00",
    )
    corrected_call(
        case,
        {"number": "17012345678", "summary": "记错了时间"},
        logged_at="2026-01-09T03:00:00+08:00",
        corrected_to="2026-01-09T02:30:00+08:00",
        reason="时间记错了",
    )
    return case


@needs_pdftotext
def test_timeline_words_payments_and_corrections_as_people_read_them(tmp_path: Path) -> None:
    case = reviewed_case()
    case.refresh_from_db()
    correction = case.head_seq
    text = text_of(tmp_path, case, "cn_regulator", "en")
    assert "amount_minor" not in text and "'status'" not in text
    dense = text.replace(" ", "")  # table cells wrap anywhere
    assert "Repayment(Paid)—CN¥2,000.00—2025-11-15" in dense
    # The correction's new time in the dossier's zone, not the chain's UTC ISO form ...
    assert "2026-01-08T18:30" not in text and "2026-01-0902:30" in dense
    # ... and the corrected record says so where it is shown as first recorded.
    assert f"记错了时间(correctedby#{correction})" in dense
    zh = text_of(tmp_path, case, "cn_regulator", "zh-hans").replace(" ", "")
    assert f"（已由#{correction}更正）" in zh and "amount_minor" not in zh


@needs_pdftotext
def test_12321_reports_what_was_received_as_corrected(tmp_path: Path) -> None:
    text = text_of(tmp_path, reviewed_case(), "cn_12321", "en")
    # The borrower's own request to stop is no harassing SMS, and "me" is no number.
    assert "请停止联系我" not in text.split("Each call and text message")[1].split("Summary")[0]
    assert "Numbers reported 3" in text
    # The corrected time, as the counts beside it use.
    report = text.split("Each call and text message")[1]
    assert "2026-01-09 02:30 Phone call 17012345678" in report
    assert "2026-01-09 03:00 Phone call" not in report
    # A message known by its screenshot only points to it.
    assert "see the screenshot E-" in report
    zh = text_of(tmp_path, reviewed_case(), "cn_12321", "zh-hans")
    assert "见截图 E-" in zh and "被举报号码数 3" in zh


@needs_pdftotext
def test_different_numbers_count_every_number_that_called_or_wrote(tmp_path: Path) -> None:
    case = reviewed_case()
    cfpb = text_of(tmp_path, case, "us_cfpb", "en")
    assert "calls and messages from 3 different numbers" in cfpb
    assert "Collector numbers 17012345678, 01069000123, 10690000123" in cfpb
    # English says one record, not "1 records".
    assert "1 records" not in cfpb and "1 contacts" not in cfpb
    regulator = text_of(tmp_path, case, "cn_regulator", "en")
    assert "using 3 different numbers" in regulator
    # The summary's figure is the case page's: numbers that called.
    assert "Distinct numbers that called 1" in regulator
    zh = text_of(tmp_path, case, "cn_regulator", "zh-hans")
    assert "使用了 3 个不同号码" in zh and "不同的来电号码数 1" in zh


@needs_pdftotext
def test_cfpb_examples_are_told_in_the_order_they_happened(tmp_path: Path) -> None:
    case = reviewed_case()
    text = text_of(tmp_path, case, "us_cfpb", "en")
    narrative = text.split("What happened")[1].split("Regulation F findings")[0]
    times = re.findall(r"#\d+ (\d{4}-\d\d-\d\d \d\d:\d\d) ", narrative)
    assert len(times) >= 3 and times == sorted(times)
    assert "2026-01-09 03:00" not in narrative  # corrected to 02:30
    assert "see the screenshot E-" in narrative


@needs_pdftotext
def test_regulator_basis_cites_the_collection_rules_as_they_are(tmp_path: Path) -> None:
    case = reviewed_case()
    en = text_of(tmp_path, case, "cn_regulator", "en")
    assert "collection only between 08:00 and 21:00" not in en
    assert "Self-Regulatory Convention on the Collection of Overdue Internet Finance Debts" in en
    assert "no collection between 22:00 and 08:00" in en and "(approved 2025)" in en
    assert "art. 42 of the text in force until 31 December 2025" in en
    zh = text_of(tmp_path, case, "cn_regulator", "zh-hans")
    assert "催收时间限于 08:00 至 21:00" not in zh
    assert "《互联网金融逾期债务催收自律公约（试行）》" in zh
    assert "每日 22:00 至次日 08:00 不得催收" in zh
    assert "修订文本对条文重新编号" in zh


def test_loan_cost_draws_no_conclusion_from_a_loan_not_yet_repaid() -> None:
    def repaid_on_day_14(amount_minor: int) -> lc.LoanFacts:
        return lc.LoanFacts(
            principal_minor=500000,
            received_minor=350000,
            disbursed=date(2026, 1, 1),
            stated_rate_bp=None,
            payments=(lc.Payment(date(2026, 1, 15), amount_minor, seq=3),),
        )

    audit = lc.audit(repaid_on_day_14(200000), lpr_bp=300, lpr_date=date(2025, 5, 20))
    assert audit.apr < 0
    for language, not_above in (("en", "Not above"), ("zh-hans", "未超过")):
        with translation.override(language):
            words = " ".join(lc.plain_words(audit))
        assert not_above not in words
    with translation.override("en"):
        words = " ".join(lc.plain_words(audit))
    assert "the loan is not repaid" in words and "3,500.00" in words and "2,000.00" in words
    # A repaid loan is still compared with the lines.
    repaid_audit = lc.audit(repaid_on_day_14(400000), lpr_bp=300, lpr_date=None)
    with translation.override("en"):
        words = " ".join(lc.plain_words(repaid_audit))
    assert "Above the line" in words and Decimal(0) < repaid_audit.apr


def test_translator_certificate_covers_chinese_read_in_a_picture() -> None:
    case = make_case(title="Collector calls", lender="Quick Cash", borrower_name="Jane Roe")
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "+12025550143", "text": ""},
        occurred_at="2026-01-05T22:10:00-05:00",
        uploads=[services.Upload("shot.png", io.BytesIO(screenshot_png(seed=9)))],
    )
    dossier = Dossier.objects.create(
        case=case, requested_by=case.owner, template="court", language="en", time_zone="UTC"
    )
    data = gather(dossier)
    with translation.override("en"):
        assert not court.needs_translator(data)  # nothing Chinese shown or read
        exhibit = next(row for row in data.rows if row.exhibits).exhibits[0]
        data.read_texts = {exhibit.sha256: "最后通知：明天不还款将起诉你"}
        assert court.needs_translator(data)
        section = court.translator_certificate(data)
    said = " ".join(str(getattr(block, "text", "")) for block in section.blocks)
    assert f"text in the picture {exhibit.label} (machine-read" in said
    assert "最后通知：明天不还款将起诉你" in said
