"""Bates numbers and exhibit labels (issue 13): every dossier numbers its pages with a prefix of
its own (from its case's id and its own), and a file keeps its exhibit label in every
dossier of the case, whatever dates or kinds the dossier covers."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest

from locker import services
from locker.dossier.pdf_pages import bates, bates_prefix

from .conftest import needs
from .dossier_helpers import distinct_png, has, make_dossier, pdf_text, screenshot_png, wav_bytes
from .factories import add_entry, make_case

pytestmark = pytest.mark.django_db

needs_poppler = needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed")


def test_the_prefix_comes_from_the_case_and_the_dossier() -> None:
    case, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert bates_prefix(case, first) == f"EL-{case.hex[:8].upper()}-{first.hex[:8].upper()}-"
    assert bates_prefix(case, first) != bates_prefix(case, second)
    assert bates(bates_prefix(case, first), 12).endswith("-000012")


def files_case():  # type: ignore[no-untyped-def]
    case = make_case()
    png = screenshot_png()
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "10690001", "text": "第一条"},
        occurred_at="2026-01-05T09:00:00+08:00",
        uploads=[services.Upload("first.png", io.BytesIO(distinct_png(png, 1)))],
    )
    add_entry(
        case,
        "call",
        {"number": "17012345678", "summary": "又打来"},
        occurred_at="2026-01-10T09:00:00+08:00",
        uploads=[
            services.Upload("second.png", io.BytesIO(distinct_png(png, 2))),
            services.Upload("second.wav", io.BytesIO(wav_bytes())),
        ],
    )
    # The first picture again, in a later entry: an exhibit of that entry too.
    add_entry(
        case,
        "note",
        {"text": "同一张截图"},
        occurred_at="2026-01-12T09:00:00+08:00",
        uploads=[services.Upload("again.png", io.BytesIO(distinct_png(png, 1)))],
    )
    return case


def labels(text: str) -> dict[str, str]:
    """Exhibit label -> file name, from the evidence pages' captions ("E-3 · #3 · name")."""
    flat = re.sub(r"\s+", " ", text)
    return dict(re.findall(r"(E-\d+(?:\.\d+)?) · #\d+ · (\S+\.png)", flat))


@needs_poppler
def test_a_file_keeps_its_label_and_each_dossier_its_own_bates_prefix(tmp_path: Path) -> None:
    case = files_case()
    everything, all_pdf = make_dossier(case, "court", "en")
    later, later_pdf = make_dossier(case, "court", "en", date_from="2026-01-08")
    other, _other_pdf = make_dossier(make_case(), "court", "en")

    texts = {}
    for name, data in (("all", all_pdf), ("later", later_pdf)):
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        texts[name] = pdf_text(str(path))
    # #2 is the message with first.png, #3 the call with two files, #4 the note.
    assert labels(texts["all"]) == {"E-2": "first.png", "E-3.1": "second.png"}
    # Without the first entry the call's files keep their labels (they were E-2 and E-3
    # before issue 13 numbered them by their entry); the repeated picture is drawn at its
    # own entry now that the first is not shown.
    assert labels(texts["later"]) == {"E-3.1": "second.png", "E-4": "again.png"}
    for text in texts.values():
        assert "E-3.2" in text and "second.wav" in text
    # With both shown, the repeated picture is drawn once and listed under its own label.
    assert "E-4 #4 again.png" in re.sub(r"\s+", " ", texts["all"])
    assert "the same file as E-2" in re.sub(r"\s+", " ", texts["all"])

    prefixes = {bates_prefix(d.case_id, d.id) for d in (everything, later, other)}
    assert len(prefixes) == 3
    for prefix, text in (
        (bates_prefix(everything.case_id, everything.id), texts["all"]),
        (bates_prefix(later.case_id, later.id), texts["later"]),
    ):
        assert f"{prefix}000001" in text
    assert bates_prefix(later.case_id, later.id) not in texts["all"]
