"""What the first page-by-page review of the eight dossiers left unfixed (docs/dossier-review.md,
"What the first review found"), now fixed: no page carries only a line or two before a page
break; a person's name in the order of its script (王𠮷, Jane Roe); the contract's rate as a
percentage; the period covered from the first to the last record shown; lists joined with
the punctuation of the dossier's language."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from locker import services
from locker.core import loan_cost
from locker.core.names import full_name
from locker.dossier.blocks import Grid, Para, Section
from locker.dossier.build import gather
from locker.dossier.cn_12321 import report_12321
from locker.dossier.cover import period
from locker.dossier.render import PartLayout, Renderer
from locker.models import Case, Dossier
from locker.selectors import sharing

from .conftest import needs
from .dossier_helpers import has, make_dossier, run_tool, screenshot_png
from .factories import UserFactory, add_entry, make_case
from .review_case import review_case
from .test_dossier_review import corrected_call, loan_case

pytestmark = pytest.mark.django_db
needs_poppler = needs(
    has("pdftotext") and has("pdfimages") and has("pdfinfo"), "poppler-utils is not installed"
)
TEMPLATES = ("cn_regulator", "cn_12321", "us_cfpb", "court")
LANGUAGES = ("zh-hans", "en")
# Fewer lines of body text than this on a page (not the last) read as a blank page.
MIN_LINES = 3


def page_count(path: Path) -> int:
    found = re.search(r"Pages:\s+(\d+)", run_tool("pdfinfo", str(path)))
    assert found is not None
    return int(found.group(1))


def sparse_pages(path: Path) -> list[tuple[int, int]]:
    """The pages but the last with fewer than MIN_LINES lines of body text (beside the header
    and the footer every page has) and no picture, with their number of lines."""
    pages = page_count(path)
    sparse = []
    for page in range(1, pages):
        numbers = ("-f", str(page), "-l", str(page))
        text = run_tool("pdftotext", "-layout", "-enc", "UTF-8", *numbers, str(path), "-")
        body = len([line for line in text.splitlines() if line.strip()]) - 2
        pictures = run_tool("pdfimages", "-list", *numbers, str(path)).splitlines()[2:]
        if body < MIN_LINES and not pictures:
            sparse.append((page, body))
    return sparse


@needs_poppler
def test_no_dossier_of_the_review_case_has_a_near_blank_page(tmp_path: Path) -> None:
    # The review found the CFPB method note's last line alone on page 4 of 12 (us_cfpb, en).
    case = review_case()
    found = {}
    for template in TEMPLATES:
        for language in LANGUAGES:
            _dossier, data = make_dossier(case, template, language, time_zone="Asia/Shanghai")
            path = tmp_path / f"{template}-{language}.pdf"
            path.write_bytes(data)
            found[path.name] = sparse_pages(path)
    assert found == {name: [] for name in found}


def small_data() -> tuple[Case, Dossier]:
    case = make_case(title="Layout", borrower_name="Jane Roe")
    add_entry(case, "note", {"text": "one record"}, occurred_at="2026-01-05T10:00:00+08:00")
    dossier = Dossier.objects.create(
        case=case, requested_by=case.owner, template="court", language="en", time_zone="UTC"
    )
    return case, dossier


NOTE = "How the figures are computed: the same records as the case page, corrections applied. " * 6


@needs_poppler
@pytest.mark.parametrize("rows", range(36, 56))
@pytest.mark.parametrize("tail", ["note", "short note", "table"])
def test_a_part_never_ends_on_a_page_of_one_or_two_lines(
    tmp_path: Path, rows: int, tail: str
) -> None:
    """Parts of several sizes, ending in a paragraph of several lines, of one line, or in a
    table: wherever the page break falls, the page before the next part carries at least
    MIN_LINES lines (the ending moves whole, or takes lines or rows of what precedes it)."""
    _case, dossier = small_data()
    data = gather(dossier)
    grid = Grid(["n", "what"], [[str(n), f"row {n} of the table"] for n in range(rows)], [0.2, 0.8])
    blocks = [Para("Opening words of the part. " * 20), grid]
    if tail != "table":
        blocks.append(Para(NOTE if tail == "note" else "A one-line note.", "small"))
    part = PartLayout(
        sections=[
            Section("Part one", blocks),
            Section("Part two", [Para("The next part starts on a page of its own.")], True),
        ],
        exhibits=[],
    )
    out = io.BytesIO()
    with translation.override("en"):
        Renderer(data, {}, {}, part=part).build(out)
    path = tmp_path / "part.pdf"
    path.write_bytes(out.getvalue())
    assert sparse_pages(path) == []
    # Nothing is lost on the way: every row and the note are there, once.
    text = run_tool("pdftotext", "-enc", "UTF-8", str(path), "-")
    assert all(f"row {n} of the table" in text for n in range(rows))
    assert text.count(f"row {rows - 1} of the table") == 1


def flat_text(path: Path) -> str:
    return re.sub(r"\s+", " ", run_tool("pdftotext", "-enc", "UTF-8", str(path), "-"))


@pytest.mark.parametrize(
    ("given", "family", "name"),
    [
        ("𠮷", "王", "王𠮷"),
        ("小明", "欧阳", "欧阳小明"),
        ("太郎", "山田", "山田太郎"),
        ("민준", "김", "김민준"),
        ("Jane", "Roe", "Jane Roe"),
        ("José", "", "José"),
        ("", "王", "王"),
        ("", "", ""),
    ],
)
def test_a_name_is_put_together_in_the_order_of_its_script(
    given: str, family: str, name: str
) -> None:
    assert full_name(given, family) == name


@needs_poppler
def test_names_print_family_name_first_in_chinese_in_every_place(tmp_path: Path) -> None:
    # The review found the cover's "Generated by" printing 王𠮷's account as "𠮷 王".
    owner = UserFactory(first_name="𠮷", last_name="王")
    case = make_case(owner=owner, title="Collector calls")
    add_entry(case, "call", {"number": "17012345678"}, occurred_at="2026-01-05T10:00:00+08:00")
    for language, generated_by, name in (
        ("en", "Generated by", "Name"),
        ("zh-hans", "生成人", "姓名"),
    ):
        _dossier, data = make_dossier(case, "us_cfpb", language)
        path = tmp_path / f"{language}.pdf"
        path.write_bytes(data)
        text = flat_text(path)
        assert "𠮷 王" not in text and "𠮷王" not in text
        assert f"{generated_by} 王𠮷" in text  # the cover
        assert f"{name} 王𠮷" in text  # the consumer, from the account (no details given)
    # The people a case is shared with, and the client on a lawyer's desk, alike.
    assert sharing.display_name(owner) == sharing.client_name(case) == "王𠮷"
    western = UserFactory(first_name="Jane", last_name="Roe")
    assert sharing.display_name(western) == "Jane Roe"


@needs_poppler
def test_the_stated_rate_reads_as_a_percentage_in_the_case_facts_row(tmp_path: Path) -> None:
    # The review found "合同约定年利率（基点）: 2400" in the timeline's case-facts row.
    case = make_case(principal_minor=500000, received_minor=350000, stated_rate_bp=2400)
    add_entry(case, "call", {"number": "17012345678"}, occurred_at="2026-01-05T10:00:00+08:00")
    for language, label in (("zh-hans", "合同约定年利率"), ("en", "Annual rate on the contract")):
        _dossier, data = make_dossier(case, "cn_regulator", language)
        path = tmp_path / f"{language}.pdf"
        path.write_bytes(data)
        dense = flat_text(path).replace(" ", "")  # table cells wrap anywhere
        assert "2400" not in dense and "基点" not in dense and "basispoints" not in dense
        # As the loan-cost audit prints the same rate, from the same helper.
        assert f"{label.replace(' ', '')}:24.00%" in dense
        assert loan_cost.rate_text(loan_cost.of_basis_points(2400)) == "24.00 %"


# An ASCII list separator after a Chinese character, a closing bracket or a digit, before
# another of them, "#" or an exhibit label: "电话 17, 案件信息 1", "17012345678, 17123456789".
_CJK = "\u3400-\u9fff\U00020000-\U0003ffff"
ASCII_LIST = re.compile(f"[{_CJK}）」\\d][;,] (?=[{_CJK}（「\\d#E])")


@needs_poppler
def test_lists_in_the_chinese_dossiers_are_joined_with_chinese_punctuation(
    tmp_path: Path,
) -> None:
    case = review_case()
    for template in TEMPLATES:
        _dossier, data = make_dossier(case, template, "zh-hans", time_zone="Asia/Shanghai")
        path = tmp_path / f"{template}.pdf"
        path.write_bytes(data)
        text = flat_text(path)
        assert [m.group(0) for m in ASCII_LIST.finditer(text)] == [], template
        if template == "cn_12321":
            assert "17012345678、17123456789" in text.replace(" ", "")
    # The English ones keep theirs.
    _dossier, data = make_dossier(case, "us_cfpb", "en", time_zone="Asia/Shanghai")
    path = tmp_path / "en.pdf"
    path.write_bytes(data)
    assert "17012345678, 17123456789" in flat_text(path)


def test_the_12321_note_on_a_screenshot_joins_its_parts_in_the_reports_language() -> None:
    # The review's new note: "见截图 E-n; 机器识别的文字…" with an ASCII "; " in Chinese.
    case = make_case(title="骚扰短信")
    add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "10690000123", "text": ""},
        occurred_at="2026-01-07T21:30:00+08:00",
        uploads=[services.Upload("shot.png", io.BytesIO(screenshot_png(seed=11)))],
    )
    for language, separator in (("zh-hans", "；"), ("en", "; ")):
        dossier = Dossier.objects.create(
            case=case, requested_by=case.owner, template="cn_12321", language=language
        )
        data = gather(dossier)
        exhibit = next(row for row in data.rows if row.exhibits).exhibits[0]
        data.read_texts = {exhibit.sha256: "最后通知：明天不还款将起诉你"}
        with translation.override(language):
            section = report_12321(data)
            seen = _("see the screenshot %(labels)s") % {"labels": exhibit.label}
        grids = [block for block in section.blocks if isinstance(block, Grid)]
        full_text = grids[-1].rows[0][-1]
        assert full_text.startswith(seen + separator), full_text
        assert "最后通知：明天不还款将起诉你" in full_text
        if language == "zh-hans":
            assert "; " not in full_text


def period_case() -> Case:
    """Case facts and a correction recorded today, a payment dated in November, calls in
    January, the last one's time corrected to a day earlier."""
    case = loan_case()
    for when in ("2026-01-05T10:00:00+08:00", "2026-01-07T10:00:00+08:00"):
        add_entry(case, "call", {"number": "17012345678"}, occurred_at=when)
    corrected_call(
        case,
        {"number": "17012345678"},
        logged_at="2026-01-10T01:00:00+08:00",
        corrected_to="2026-01-09T01:00:00+08:00",
        reason="记错了日期",
    )
    return case


@needs_poppler
def test_the_period_covered_runs_from_the_first_to_the_last_record_shown(
    tmp_path: Path,
) -> None:
    # The review found the cover's "Period covered" running to the day the dossier was made
    # (the day the case facts and the correction were recorded).
    case = period_case()
    for language, words in (
        ("en", "2025-11-15–2026-01-09(thefirstandthelastrecordshown,bythedateofwhattheyrecord)"),
        ("zh-hans", "2025-11-15–2026-01-09（所列首条与末条记录，按所记事项的日期）"),
    ):
        dossier, data = make_dossier(case, "court", language, time_zone="Asia/Shanghai")
        path = tmp_path / f"{language}.pdf"
        path.write_bytes(data)
        cover_page = run_tool("pdftotext", "-enc", "UTF-8", "-l", "1", str(path), "-")
        dense = re.sub(r"\s+", "", cover_page)  # the cell wraps anywhere
        assert words in dense
        made = dossier.created_at.astimezone(ZoneInfo("Asia/Shanghai"))
        assert f"–{made:%Y-%m-%d}" not in dense
    # With dates chosen: the records within them, and the dates chosen said beside them.
    dossier = Dossier.objects.create(
        case=case,
        requested_by=case.owner,
        template="court",
        language="en",
        time_zone="Asia/Shanghai",
        date_from=date(2026, 1, 6),
    )
    with translation.override("en"):
        assert period(gather(dossier)) == (
            "2026-01-07 – 2026-01-09 (the first and the last record shown, by the date of what "
            "they record); dates chosen for this dossier: from 2026-01-06"
        )
    dossier.date_from, dossier.date_to = date(2026, 2, 1), date(2026, 2, 28)
    with translation.override("zh-hans"):
        assert (
            period(gather(dossier)) == "未列出任何记录；本卷宗选定的日期：2026-02-01 至 2026-02-28"
        )
