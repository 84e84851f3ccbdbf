"""The dossier's timeline as a reader sees it (issue 13): amounts of money in the reader's
language (never the raw minor units), channels by name, night-time rows in red, and the
Chinese header inside its columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation
from PIL import Image

from locker.dossier.data import Row, row_party, row_summary
from locker.dossier.formatting import fmt_money, money_in

from .conftest import needs
from .dossier_helpers import (
    has,
    make_dossier,
    pdf_text,
    render_page,
    run_tool,
    small_case,
    word_boxes,
)

pytestmark = pytest.mark.django_db

needs_poppler = needs(
    has("pdftotext") and has("pdftoppm"), "poppler-utils (pdftotext, pdftoppm) is not installed"
)


def row(kind: str, body: dict) -> Row:  # type: ignore[type-arg]
    from datetime import UTC, datetime

    entry = {"seq": 2, "kind": kind, "body": body}
    return Row(entry, "0" * 64, None, datetime(2026, 1, 5, tzinfo=UTC), [])


def test_money_reads_in_major_units_in_the_readers_language() -> None:
    with translation.override("zh-hans"):
        assert fmt_money(500000, "CNY") == "¥5,000.00"
    with translation.override("en"):
        assert fmt_money(500000, "CNY") == "CN¥5,000.00"
        assert fmt_money(123456, "USD") == "$1,234.56"
        assert fmt_money(None, "CNY") == "—"
    update = row("case_update", {"changes": {"principal_minor": 500000, "lender": None}})
    with translation.override("zh-hans"):
        assert (
            row_summary(update, money=money_in("CNY"))
            == "借款本金: ¥5,000.00；借款平台或放贷机构: —"
        )


def test_channels_are_named_in_the_readers_language() -> None:
    message = row("message", {"channel": "sms", "sender": "10690001", "text": "x"})
    report = row("contact_report", {"channel": "call", "contact_name": "李四"})
    with translation.override("zh-hans"):
        assert row_party(message) == "短信 10690001"
        assert row_party(report) == "电话"
    with translation.override("en"):
        assert row_party(message) == "SMS 10690001"
        assert row_party(report) == "Phone call"


def write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(data)
    return str(path)


def timeline_page(path: str) -> int:
    for page in range(1, 30):
        text = run_tool("pdftotext", "-f", str(page), "-l", str(page), path, "-")
        if "时间（自述" in text or "Time (claimed" in text:
            return page
    raise AssertionError("no timeline page")


def boxes(path: str, page: int) -> dict[str, tuple[float, float, float, float]]:
    """The first box of each word on the page."""
    found: dict[str, tuple[float, float, float, float]] = {}
    for word, *box in word_boxes(path, page):
        found.setdefault(word, tuple(box))  # type: ignore[arg-type]
    return found


@needs_poppler
def test_the_timeline_in_chinese(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "cn_regulator", "zh-hans")
    path = write(tmp_path, data)
    text = re.sub(r"\s+", " ", pdf_text(path))
    assert "借款本金:¥3,000.00" in text.replace(" ", "")  # table cells wrap anywhere
    assert "principal_minor" not in text and "300000" not in text
    assert "短信 106900001" in text and "sms" not in text
    page = timeline_page(path)
    words = boxes(path, page)
    # The header's last word ends before the next column's begins.
    assert words["记录）"][2] < words["类型"][0], (words["记录）"], words["类型"])
    # The night call (23:10) is printed in red, the morning message (09:00) in black.
    dpi = 200
    png = render_page(path, page, dpi, tmp_path / "timeline")
    with Image.open(png) as image:
        picture = image.convert("RGB")

        def red_pixels(box: tuple[float, float, float, float]) -> int:
            crop = picture.crop(tuple(round(v * dpi / 72) for v in box))
            raw = crop.tobytes()
            pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
            return sum(1 for r, g, b in pixels if r > 150 and g < 90 and b < 90)

        assert red_pixels(words["23:10"]) > 10
        assert red_pixels(words["09:00"]) == 0


@needs_poppler
def test_the_timeline_in_english(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "court", "en")
    text = re.sub(r"\s+", " ", pdf_text(write(tmp_path, data)))
    assert "Principal: CN¥3,000.00" in text
    assert "SMS 106900001" in text
