"""The CFPB complaint dossier, read as the CFPB (and a lawyer) would: pdftotext page by page,
in both languages. Each example entry once, every count the case page's, the form's own
issue / sub-issue values, Reg F findings with their entries and exhibit labels, the
consumer, no blank page."""

from __future__ import annotations

import io
import re
import zoneinfo
from pathlib import Path

import pytest

from locker import services
from locker.core import stats
from locker.models import Case
from locker.selectors.cases import case_overview

from .conftest import needs
from .dossier_helpers import has, make_dossier, run_tool, screenshot_png, small_case
from .factories import add_entry

pytestmark = pytest.mark.django_db

needs_pdftotext = needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed")
ZONE = "America/New_York"


def harassed_case() -> Case:
    """small_case plus a week of calls from two numbers, threats to tell the borrower's
    contacts (which reach nobody), a written request to stop and calls after it."""
    case = small_case(lender="QuickLoan Ltd", collector_agency="Dingxin Collections")
    case.owner.email = "borrower@example.org"
    case.owner.save()
    for day in range(10, 16):
        for hour in (7, 13):
            add_entry(
                case,
                "call",
                {
                    "direction": "incoming",
                    "number": "2025550100" if hour == 7 else "2025550111",
                    "duration_s": 40,
                    "caller_claims": "Legal department",
                    "summary": f"Called again, day {day} hour {hour}",
                    "tags": ["insult"] if day == 11 else [],
                },
                occurred_at=f"2026-01-{day}T{hour:02d}:15:00-05:00",
            )
        add_entry(
            case,
            "message",
            {
                "channel": "sms",
                "sender": "2025550100",
                "text": f"We will send your photo to all your contacts {day}",
                "tags": ["threat", "contact_list_blast"],
            },
            occurred_at=f"2026-01-{day}T22:30:00-05:00",
        )
    add_entry(
        case,
        "message",
        {
            "channel": "email",
            "sender": "me",
            "text": "Stop contacting me.",
            "tags": ["asked_to_stop"],
        },
        occurred_at="2026-01-16T09:00:00-05:00",
        uploads=[services.Upload("stop.png", io.BytesIO(screenshot_png(seed=3)))],
    )
    add_entry(
        case,
        "call",
        {"direction": "missed", "number": "2025550111"},
        occurred_at="2026-01-17T10:00:00-05:00",
    )
    return case


def pages_of(tmp_path: Path, pdf: bytes, pages: int) -> list[str]:
    path = tmp_path / "cfpb.pdf"
    path.write_bytes(pdf)
    return [
        run_tool("pdftotext", "-f", str(n), "-l", str(n), "-enc", "UTF-8", str(path), "-")
        for n in range(1, pages + 1)
    ]


def page_furniture(text: str) -> str:
    """A page's text without its running header and footer."""
    lines = [
        line
        for line in text.splitlines()
        if line.strip()
        and not re.match(r"^(EL-|page \d+ of \d+|第 ?\d+ ?页|head [0-9a-f]+)", line.strip())
    ]
    return "\n".join(lines[2:])  # the header: the case title and the template's title


@needs_pdftotext
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_cfpb_dossier_reads_as_one_complaint(tmp_path: Path, language: str) -> None:
    case = harassed_case()
    dossier, pdf = make_dossier(case, "us_cfpb", language, time_zone=ZONE)
    pages = pages_of(tmp_path, pdf, dossier.pages)

    # No blank page: each page carries more than its header and footer.
    for number, text in enumerate(pages, start=1):
        assert page_furniture(text).strip(), f"page {number} of {dossier.pages} is blank"

    text = "\n".join(pages)
    flat = re.sub(r"\s+", " ", text)

    # The counts are the case page's, in the same zone.
    overview = case_overview(case, zoneinfo.ZoneInfo(ZONE))
    figures = overview.summary
    assert figures.night == 12  # six calls at 07:15 and six texts at 22:30, New York time
    if language == "en":
        assert f"{figures.night} calls and messages before 8 a.m. or after 9 p.m." in flat
        assert f"{figures.calls + figures.messages} calls and messages from" in flat
        # Threats to tell the contacts reached nobody: one contact report, one person.
        assert "1 contact of the borrower reached (1 different person)" in flat
    else:
        assert f"早上 8 点前或晚上 9 点后的来电和消息 {figures.night} 次" in flat
        assert f"借款人的联系人被联系 {figures.third_party_contacts} 次" in flat
    assert figures.third_party_contacts == 1

    # The narrative names each example entry once.
    start = flat.index("Regulation F." if language == "en" else "Regulation F")
    narrative = flat[start : flat.index("I ask the CFPB" if language == "en" else "CFPB", start)]
    examples = re.findall(r"#(\d+) 2026-01-\d\d \d\d:\d\d", narrative)
    assert examples, narrative
    assert len(examples) == len(set(examples)), examples

    # The form's own values, verbatim in both languages.
    path = tmp_path / "cfpb.pdf"
    raw = re.sub(r"\s", "", run_tool("pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"))
    for value in (
        "Communication tactics",
        "Used obscene, profane, or other abusive language",
        "Called before 8am or after 9pm",
        "Took or threatened to take negative or legal action",
        "False statements or representation",
        "Threatened to contact someone or share information improperly",
        "Talked to a third-party about your debt",
        "You told them to stop contacting you, but they keep trying",
    ):
        # In drawing order (cells side by side interleave in reading order), without
        # spaces: a cell may wrap a value at any space or hyphen.
        assert re.sub(r"\s", "", value) in raw, value

    # Reg F findings with the entries and exhibit labels behind them.
    for rule in (
        "1006.14(b)(2)(i)",
        "1006.14(b)(2)(ii)",
        "1006.6(b)(1)(i)",
        "1006.6(d)",
        "1006.6(c)",
    ):
        assert rule in flat, rule
    report = next(e for e in case.entries.all() if e.kind == "contact_report")
    stop = next(e for e in case.entries.all() if "asked_to_stop" in e.body.get("tags", []))
    assert f"#{report.seq} (E-{report.seq})" in flat
    assert f"#{stop.seq} (E-{stop.seq})" in flat
    assert "2025550111" in flat and "Dingxin Collections" in flat and "QuickLoan Ltd" in flat

    # The consumer block, from the account's details.
    assert "borrower@example.org" in flat


def test_the_night_count_is_one_function_for_the_case_page_and_the_dossier() -> None:
    from locker.dossier.build import gather
    from locker.models import Dossier

    case = harassed_case()
    dossier = Dossier.objects.create(
        case=case, requested_by=case.owner, template="us_cfpb", language="en", time_zone=ZONE
    )
    data = gather(dossier)
    figures = stats.summarise(case.entries.all(), zoneinfo.ZoneInfo(ZONE))
    assert data.conduct.night_contacts == figures.night == len(data.conduct.regf.night)
    assert data.conduct.third_party_contacts == figures.third_party_contacts == 1
    assert data.conduct.max_calls_in_7_days == data.conduct.regf.frequency.most_in_7_days


def test_no_keep_together_inside_another() -> None:
    """A KeepTogether inside another never fits (it reports an endless height to force a
    split), so the outer one broke the page wherever it was not at the top: the blank page
    before "Company information" in the English complaint."""
    from django.utils import translation
    from reportlab.platypus import KeepTogether

    from locker.dossier.build import gather
    from locker.dossier.render import Renderer
    from locker.models import Dossier

    case = harassed_case()
    dossier = Dossier.objects.create(
        case=case, requested_by=case.owner, template="us_cfpb", language="en", time_zone=ZONE
    )
    from locker.dossier.pdf_keep import KeepTail

    with translation.override("en"):
        story = Renderer(gather(dossier), {}, {}).story()
    # The parts between page breaks are each laid out by a KeepTail (pdf_keep).
    flowables = [part for f in story for part in (f.content if isinstance(f, KeepTail) else [f])]
    groups = [f for f in flowables if isinstance(f, KeepTogether)]
    assert groups
    for group in groups:
        assert not any(isinstance(part, KeepTogether) for part in group._content)
