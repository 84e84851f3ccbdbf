"""The court exhibit bundle (issue 13): the SPC Provisions on Evidence arts. 14, 15, 93 and 94
stated as they are (art. 94 not overstated), the RFC 3161 time-stamps per range of records,
the FRE 902(11)/(13)/(14) certification in English, the translator's certificate exactly when
an English bundle shows Chinese text; and in every template each record and each exhibit page
with its author, claimed, recorded and time-stamped times. pdftotext reads every element."""

from __future__ import annotations

import io
import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from locker import services
from locker.core.anchors import AttestationReport, AttestedRange
from locker.dossier import court
from locker.dossier.blocks import Grid

from .conftest import needs
from .dossier_helpers import has, make_dossier, pdf_text, screenshot_png, small_case
from .factories import add_entry, make_case
from .tsa import anchored_round, tsa_pair  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

needs_poppler = needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed")
TEMPLATES = ("cn_regulator", "cn_12321", "us_cfpb", "court")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def text_of(tmp_path: Path, data: bytes, name: str = "dossier.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return re.sub(r"\s+", " ", pdf_text(str(path)))


def english_case():  # type: ignore[no-untyped-def]
    """A case with no Chinese text anywhere (facts, records, file names)."""
    case = make_case(title="Collector calls", lender="Quick Cash", borrower_name="Jane Roe")
    add_entry(
        case,
        "call",
        {"number": "+12025550143", "summary": "Threatened to call my employer"},
        occurred_at="2026-01-05T22:10:00-05:00",
    )
    return case


def contact_statement(case, name: str = "王阿姨") -> int:  # type: ignore[no-untyped-def]
    """A contact's own statement through their one-time link, with a screenshot."""
    link, _raw = services.create_contact_link(case=case, user=case.owner)
    result = services.submit_contact_report(
        link=link,
        body={"contact_name": name, "relation": "neighbour", "summary": "They called me"},
        occurred_at="2026-01-07T09:30:00+08:00",
        uploads=[services.Upload("contact.png", io.BytesIO(screenshot_png(seed=7)))],
    )
    return result.entry.seq


# -- the Chinese rules and the certification ------------------------------------------------


@needs_poppler
def test_english_court_bundle_states_the_spc_articles_and_the_fre_certification(
    tmp_path: Path,
) -> None:
    _dossier, data = make_dossier(small_case(), "court", "en")
    text = text_of(tmp_path, data)
    # Arts. 14 and 15: what electronic data is; printouts treated as originals.
    assert "in force since 1 May 2020" in text
    assert "Art. 14: electronic data includes information published on web pages" in text
    assert "login logs" in text and "computer programs" in text
    assert "Art. 15 (2)" in text and "is treated as the original" in text
    # Art. 93's factors, art. 94's circumstances with the court's discretion ("may").
    assert "Art. 93: the court judges the authenticity of electronic data by weighing" in text
    assert "(6) whether those who stored, transmitted or extracted it were appropriate" in text
    assert "Art. 94: unless there is sufficient evidence to the contrary, the court may" in text
    assert "(2) provided or confirmed by a neutral third-party platform" in text
    assert "whose content has been notarised" in text
    # The bundle does not claim to be that platform: the weighing is the court's.
    assert "speak to art. 93 (3) and (4)" in text and "is for the court" in text
    assert "presume" not in text and "Nothing here is notarised" in text
    # FRE 902(11) through 803(6)(A)-(C), 902(13), 902(14), notice, § 1746.
    assert "Federal Rules of Evidence 902(11), 902(13), 902(14)" in text
    for element in (
        "Rule 803(6)(A)",
        "at or near the time",
        "someone with knowledge",
        "Rule 803(6)(B), (C)",
        "regularly conducted activity",
        "regular practice of that activity",
        "902(13)). On receipt",
        "produces an accurate result",
        "process of digital identification",
        "reasonable written notice",
        "available for inspection",
        "28 U.S.C. § 1746",
        "under penalty of perjury",
        "(name)",
        "(title or role)",
        "Signature:",
        "Executed on (date)",
        "the borrower's records",
    ):
        assert element in text, element


@needs_poppler
def test_chinese_court_bundle_states_the_articles_in_chinese(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "court", "zh-hans")
    text = text_of(tmp_path, data)
    for element in (
        "第十四条",
        "第十五条第二款",
        "第九十三条",
        "第九十四条",
        "中立第三方平台",
        "可以确认其真实性",
        "公证",
        "由法院",
        "签名：",
    ):
        assert element in text, element
    # The FRE certification and a translator's certificate are for English bundles.
    assert "902(13)" not in text and "译者" not in text


# -- the translator's certificate ---------------------------------------------------------------


@needs_poppler
def test_translator_certificate_exactly_when_english_shows_chinese(tmp_path: Path) -> None:
    case = small_case()
    _dossier, data = make_dossier(case, "court", "en")
    text = text_of(tmp_path, data, "with.pdf")
    assert "Translator's certificate" in text
    for element in ("(qualification", "(source language", "competent in both languages"):
        assert element in text, element
    assert "complete and accurate" in text and "Date:" in text
    # The original Chinese stays, with the translation's place beside it.
    assert "original: 自称律师 — 威胁要爆通讯录" in text and "translation:" in text
    # The English case has none, and neither has a Chinese bundle.
    _d, plain = make_dossier(english_case(), "court", "en")
    assert "Translator's certificate" not in text_of(tmp_path, plain, "plain.pdf")
    _d, chinese = make_dossier(case, "court", "zh-hans")
    assert "Translator" not in text_of(tmp_path, chinese, "zh.pdf")


# -- authors and times in every template ----------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_record_and_exhibit_shows_its_author_and_times(
    tmp_path: Path, template: str, language: str
) -> None:
    case = small_case()
    contact_statement(case, name="王阿姨")
    _dossier, data = make_dossier(case, template, language)
    text = text_of(tmp_path, data)
    if language == "en":
        by_contact = "王阿姨 (name as given), a contact, via one-time link"
        # The contact's statement in full, under its heading; the borrower's own note.
        assert f"By: {by_contact} · Claimed time: 2026-01-07 09:30 · Recorded:" in text
        assert "By: the borrower · Claimed time: 2026-01-08 12:00 · Recorded:" in text
        # Each screenshot's caption: its record's author and both times.
        assert "By: the borrower Claimed time: 2026-01-06 09:00 Recorded:" in text
        assert f"By: {by_contact} Claimed time: 2026-01-07 09:30 Recorded:" in text
        # Not time-stamped: no TSA is configured, and no row pretends otherwise.
        assert "Time-stamp (TSA)" not in text
    else:
        by_contact = "王阿姨（自报姓名），亲友，通过一次性链接"
        assert f"记录人：{by_contact} · 自述时间：2026-01-07 09:30 · 记录时间：" in text
        assert "记录人：借款人 自述时间：2026-01-06 09:00 记录时间：" in text
        assert f"记录人：{by_contact} 自述时间：2026-01-07 09:30 记录时间：" in text
        assert "时间戳（TSA）" not in text
    # The timeline row names the contact as its author too (beside the kind, wrapped in its
    # narrow column): statement, caption and row.
    squeezed = re.sub(r"\s+", "", text)
    assert squeezed.count(by_contact.replace(" ", "")) == 3


# -- third-party times --------------------------------------------------------------------------


@pytest.fixture
def tsas(settings, tsa_pair):  # noqa: F811
    first, second = tsa_pair
    settings.LOCKER_TSA_URLS = [first.url, second.url]
    return first, second


@needs_poppler
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_tsa_times_per_record_and_range(tmp_path: Path, tsas, language: str) -> None:
    with time_machine.travel(START, tick=False):
        case = make_case(title="Anchored")
    anchored_round(tsas, START)
    moment = START + timedelta(minutes=10)
    with time_machine.travel(moment, tick=False):
        add_entry(case, body={"text": "first note"})
    anchored_round(tsas, moment)
    # Recorded after the last round, so only the dossier's own anchoring covers it.
    later = START + timedelta(minutes=20)
    with time_machine.travel(later, tick=False):
        add_entry(
            case,
            body={"text": "with a picture"},
            uploads=[services.Upload("shot.png", io.BytesIO(screenshot_png(seed=3)))],
        )
    # The dossier is made now, on the TSAs' real clocks: its signature's time-stamp is
    # checked against their current revocation lists.
    for tsa in tsas:
        tsa.set_clock(None)
    before = datetime.now(UTC)
    _dossier, data = make_dossier(case, "court", language, time_zone="UTC")
    text = text_of(tmp_path, data)
    # Each TSA is named; each range has its attested time (the rounds' TSA clocks: + 1 min).
    assert "Loopback TSA A" in text and "Loopback TSA B" in text
    assert "2026-03-02 01:01:00" in text and "2026-03-02 01:11:00" in text
    days = {f"{before:%Y-%m-%d}", f"{datetime.now(UTC):%Y-%m-%d}"}
    if language == "en":
        assert "Third-party time (RFC 3161 time-stamps)" in text
        # The screenshot's record (seq 3) was time-stamped only when the dossier was made.
        assert any(f"Time-stamp (TSA): {day}" in text for day in days)
        assert "TSA 2026-03-02 01:01" in text  # the first record's timeline row
        assert "not yet time-stamped" not in text
    else:
        assert "第三方时间（RFC 3161 时间戳）" in text
        assert any(f"时间戳（TSA）：{day}" in text for day in days)


@needs_poppler
def test_without_a_tsa_the_court_bundle_says_no_record_is_time_stamped(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "court", "en")
    text = text_of(tmp_path, data)
    assert "No record in this bundle is time-stamped by a time-stamp authority yet" in text


def test_a_record_not_yet_time_stamped_says_so() -> None:
    report = AttestationReport(
        ranges=(
            AttestedRange(1, 1, START, START, START + timedelta(minutes=1), ("TSA A",)),
            AttestedRange(2, 2, START, START, None),
        )
    )
    view = SimpleNamespace(attestation=report, zone=zoneinfo.ZoneInfo("UTC"))
    grid = court.third_party_time(view)[-1]  # type: ignore[arg-type]
    assert isinstance(grid, Grid)
    assert grid.rows[0] == ["1", "2026-03-02 01:01:00", "TSA A"]
    assert grid.rows[1][0] == "2" and grid.rows[1][1].startswith("not yet time-stamped")


# -- the web page shows the contact as author ---------------------------------------------------


def test_timeline_page_shows_a_contact_as_the_records_author() -> None:
    case = small_case()
    seq = contact_statement(case, name="王阿姨")
    client = Client(headers={"accept-language": "en"})
    client.force_login(case.owner)
    page = client.get(reverse("timeline", args=[case.pk])).content.decode()
    assert "Recorded by: 王阿姨 (name as given), a contact, via one-time link" in page
    # The borrower's own rows are not marked; the entry page names the author either way.
    assert page.count('class="entry-author"') == 1
    detail = client.get(reverse("entry_detail", args=[case.pk, seq])).content.decode()
    assert "王阿姨 (name as given), a contact, via one-time link" in detail
    own = client.get(reverse("entry_detail", args=[case.pk, 2])).content.decode()
    assert "<dd>you</dd>" in own
