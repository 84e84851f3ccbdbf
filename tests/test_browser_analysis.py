"""The analysis page on a phone (issue 15, docs/analysis.md), in real Chromium at 360×740 in
Chinese: the collector number the Reg F rule flags, the loan audit's rate in plain words, and
a suggested tag confirmed with one tap, which appends a correction entry and leaves the
suggestions. The counts are counted by hand below."""

from __future__ import annotations

import pytest

from locker.models import Entry

from .conftest import chromium_path
from .factories import UserFactory, add_entry, make_case
from .prerequisites import needs
from .test_analysis_pages import seven_day_loan
from .test_browser import browser, log_in  # noqa: F401  (the fixture is used by name)
from .test_browser_phone import overflow, phone_context, shot, small_targets

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"),
]

COLLECTOR = "170 1234 5678"
THREAT = "再不还钱就起诉你"


def _harassed_case():
    case = make_case(owner=UserFactory(username="xiaoli"), title="网贷催收")
    # Nine calls from one number in three days, all in the day (no night contact), none
    # answered (no conversation): the 8th and 9th are more than seven within seven days.
    for day in (5, 6, 7):
        for hour in (10, 12, 14):
            add_entry(
                case,
                "call",
                {"direction": "missed", "number": COLLECTOR},
                occurred_at=f"2026-01-0{day}T{hour}:00:00+08:00",
            )
    message = add_entry(
        case,
        "message",
        {"channel": "sms", "sender": "106 9000 1111", "text": THREAT},
        occurred_at="2026-01-06T09:00:00+08:00",
    )
    seven_day_loan(case)  # 5,000 on the contract, 3,500 received, 5,000 repaid on day 7
    return case, message


def test_the_analysis_page_flags_the_number_words_the_rate_and_confirms_a_tag(
    browser,  # noqa: F811
    live_server,
) -> None:
    case, message = _harassed_case()
    context = phone_context(browser, 360, 740)
    page = context.new_page()
    log_in(page, live_server.url, case.owner.username)
    page.goto(f"{live_server.url}/cases/{case.pk}/analysis/")

    overall = page.locator("#conduct-overall").inner_text()
    assert "10 (9 次来电，1 条消息)" in overall, overall
    assert "2: E-9, E-10" in overall  # the 8th and 9th call (E-1 is the case's opening)
    # The flagged number (its row's header cell): 9 calls, no message, 3 days, 3 a day, 9 in
    # 7 days, none at night, 2 calls beyond the seventh in seven days (Reg F
    # 1006.14(b)(2)(i)), none after a conversation ((ii): none was answered).
    row = page.locator("#conduct-numbers tbody tr", has_text="17012345678")
    assert "17012345678" in row.locator("th").inner_text()
    cells = row.locator("td").all_inner_texts()
    assert cells == ["9", "0", "3", "3", "9", "0", "2", "0"], cells
    assert "106 9000 1111".replace(" ", "") in page.locator("#conduct-numbers").inner_text()

    # The loan's rate in plain words, against the lines a borrower knows.
    audit = page.locator("section.card", has_text="您实际到账").inner_text()
    assert "您实际到账 3,500.00，已付 5,000.00" in audit
    assert "年化利率（APR）为 1,908.00 %" in audit
    assert "为其 79.5 倍" in audit  # 1,908 % against the 24 % line
    assert "合同写明的年利率为 18.00 %。" in audit

    assert overflow(page, 360)[0] <= 360, overflow(page, 360)
    assert small_targets(page) == []
    shot(page, "analysis")

    # The message's suggestion: "起诉" suggests a fake legal document. Confirm it.
    suggestion = page.locator("#suggestions li", has_text=f"E-{message.seq}")
    assert "起诉" in suggestion.inner_text()
    assert Entry.objects.filter(case=case, kind="correction").count() == 0
    suggestion.get_by_role("button", name="确认这些标签").click()
    page.wait_for_load_state()
    correction = Entry.objects.get(case=case, kind="correction")
    assert correction.body["origin"] == "suggested_tags"
    assert correction.body["corrects_seq"] == message.seq
    assert correction.body["changes"] == {"tags": ["fake_legal_document"]}
    assert f"标签已确认：记录于第 {correction.seq} 条。" in page.locator("main").inner_text()
    # The suggestion is gone; the confirmed tag counts.
    page.locator("#conduct-overall").wait_for()
    assert page.locator("#suggestions li", has_text=f"E-{message.seq}").count() == 0
    assert "伪造法律文书 1" in page.locator("#conduct-overall").inner_text()
    shot(page, "analysis-confirmed")
    context.close()
