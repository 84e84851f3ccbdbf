"""The conduct analysis (locker.core.conduct) on a synthetic month of harassment written out
row by row below, with every expected count counted by hand; and the keyword detection in
Chinese and English. Pure: no database."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest

from locker.core import conduct, keywords, stats

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
A, B, C = "13800000001", "+86 139 0000 0002", "10690000"


@dataclass(frozen=True)
class Row:
    seq: int
    kind: str
    body: dict[str, Any]
    occurred_at: datetime | None
    recorded_at: datetime


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


# (seq, kind, local time in Shanghai, body): March 2026.
MONTH: list[tuple[int, str, str, dict[str, Any]]] = [
    (1, "call", "2026-03-02T09:00", {"direction": "missed", "number": A}),
    (2, "call", "2026-03-02T09:10", {"direction": "missed", "number": A}),
    (
        3,
        "call",
        "2026-03-02T09:20",
        {
            "direction": "incoming",
            "number": A,
            "duration_s": 60,
            "summary": "再不还钱就起诉你，律师函已经发出",
        },
    ),
    (4, "call", "2026-03-03T07:30", {"direction": "missed", "number": A}),
    (5, "call", "2026-03-03T22:15", {"direction": "missed", "number": B}),
    (
        6,
        "message",
        "2026-03-04T10:00",
        {
            "channel": "sms",
            "sender": C,
            "text": "爆通讯录，让你全家知道",
            "tags": ["contact_list_blast"],
        },
    ),
    (7, "call", "2026-03-05T12:00", {"direction": "missed", "number": B}),
    (8, "call", "2026-03-05T12:05", {"direction": "missed", "number": "13900000002"}),
    (9, "call", "2026-03-06T12:00", {"direction": "missed", "number": B}),
    (10, "call", "2026-03-07T12:00", {"direction": "missed", "number": A}),
    (11, "call", "2026-03-08T12:00", {"direction": "missed", "number": A}),
    (
        12,
        "contact_report",
        "2026-03-09T10:00",
        {"contact_name": "王芳", "relation": "同事", "summary": "催收员冒充警察打到我单位"},
    ),
    (13, "call", "2026-03-15T21:30", {"direction": "missed", "number": A}),
    (
        14,
        "message",
        "2026-03-16T08:30",
        {
            "channel": "sms",
            "sender": C,
            "text": "You will be arrested, police warrant issued",
            "tags": ["impersonation"],
        },
    ),
    (15, "call", "2026-03-16T09:00", {"direction": "outgoing", "number": A, "duration_s": 30}),
    (16, "call", "2026-03-17T10:00", {"direction": "missed", "number": A}),
    (17, "contact_report", "2026-03-20T10:00", {"contact_name": "王芳", "summary": "又打来"}),
    (18, "contact_report", "2026-03-25T10:00", {"contact_name": "李强", "relation": "父亲"}),
    (
        19,
        "message",
        "2026-03-31T20:59",
        {"channel": "sms", "sender": C, "text": "请转到个人账户 6222 0000"},
    ),
]


def month() -> conduct.ConductAnalysis:
    rows = [Row(s, k, b, _at(t), _at(t)) for s, k, t, b in MONTH]
    return conduct.analyse(stats.effective_events(rows, SHANGHAI))


def test_overall_counts_of_the_month() -> None:
    a = month()
    # calls 1-5, 7-11, 13, 16 (15 is the borrower's own); messages 6, 14, 19
    assert (a.contacts, a.calls, a.messages) == (15, 12, 3)
    assert a.most_in_a_day == 3 and a.busiest_day == date(2026, 3, 2)
    # 2-8 March: 3 + 2 + 1 + 2 + 1 + 1 + 1
    assert a.most_in_7_days == 11
    assert dict(a.rolling)[date(2026, 3, 8)] == 11
    assert dict(a.rolling)[date(2026, 3, 9)] == 8  # 2 March (3) left the window
    assert len(a.days) == 30  # 2 to 31 March, days without contact as zeros
    assert a.night == [4, 5, 13]  # 07:30, 22:15, 21:30; 20:59 and 08:30 are not
    assert a.contacts_reached == 2 and a.reached_names == ["李强", "王芳"]
    assert a.third_parties == [12, 17, 18]
    assert a.tags == {"contact_list_blast": 1, "impersonation": 1}


def test_reg_f_flags_per_debt() -> None:
    a = month()
    # (b)(2)(i): 8th, 9th, 10th call within 2-8 March are 9, 10, 11
    assert a.regf.frequency.over_limit == [9, 10, 11]
    # (b)(2)(ii): every collector call 2-8 March after the conversation (3), and 16 after
    # the borrower's own call of 16 March (15) that lasted
    assert [c.call for c in a.regf.after_conversation] == [4, 5, 7, 8, 9, 10, 11, 16]
    assert a.frequency_flags == [4, 5, 7, 8, 9, 10, 11, 16]


def test_per_number_summaries() -> None:
    a = month()
    assert [n.number for n in a.numbers] == ["13800000001", "13900000002", "10690000"]
    first, second, third = a.numbers
    assert first.calls == [1, 2, 3, 4, 10, 11, 13, 16] and first.messages == []
    assert first.night == [4, 13]
    assert (first.active_days, first.most_in_a_day, first.most_in_7_days) == (6, 3, 6)
    assert first.over_limit == [] and first.flags == [4, 10, 11, 16]
    # +86 139 0000 0002 and 13900000002 are one number
    assert second.calls == [5, 7, 8, 9] and second.night == [5]
    assert (second.active_days, second.most_in_a_day, second.most_in_7_days) == (3, 2, 4)
    assert second.flags == [5, 7, 8, 9]
    assert third.messages == [6, 14, 19] and third.most_in_7_days == 1
    assert a.unnumbered == 0


def test_suggestions_of_the_month() -> None:
    got = {(s.seq, s.tag): (s.words, s.rule) for s in month().suggestions}
    assert got == {
        (3, "fake_legal_document"): (("律师函", "起诉"), ""),
        (4, "night_time"): ((), "night"),
        (4, "excessive_frequency"): ((), "frequency"),
        (5, "night_time"): ((), "night"),
        (5, "excessive_frequency"): ((), "frequency"),
        (6, "third_party_contact"): (("爆通讯录", "全家"), ""),
        (7, "excessive_frequency"): ((), "frequency"),
        (8, "excessive_frequency"): ((), "frequency"),
        (9, "excessive_frequency"): ((), "frequency"),
        (10, "excessive_frequency"): ((), "frequency"),
        (11, "excessive_frequency"): ((), "frequency"),
        (12, "impersonation"): (("警察",), ""),
        (12, "third_party_contact"): (("单位",), ""),
        (13, "night_time"): ((), "night"),
        # 14 carries impersonation already: only the legal threat is new
        (14, "fake_legal_document"): (("arrest", "warrant"), ""),
        (16, "excessive_frequency"): ((), "frequency"),
        (17, "third_party_contact"): ((), "contact_report"),
        (18, "third_party_contact"): ((), "contact_report"),
        (19, "pay_unrelated_party"): (("转到个人账户",), ""),
    }


def test_a_confirmation_makes_the_suggestion_go() -> None:
    rows = [Row(s, k, b, _at(t), _at(t)) for s, k, t, b in MONTH]
    rows.append(
        Row(
            20,
            "correction",
            {
                "corrects_seq": 3,
                "reason": "确认",
                "origin": "suggested_tags",
                "changes": {"tags": ["fake_legal_document"]},
            },
            None,
            _at("2026-04-01T10:00"),
        )
    )
    a = conduct.analyse(stats.effective_events(rows, SHANGHAI))
    assert not [s for s in a.suggestions if s.seq == 3]
    assert a.tags["fake_legal_document"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("再不还钱就起诉你", {"fake_legal_document": ("起诉",)}),
        (
            "我們會起 訴你，爆通訊錄",
            {"fake_legal_document": ("起诉",), "third_party_contact": ("爆通讯录",)},
        ),  # traditional, spaced
        ("我是ＸＸ派出所的警官", {"impersonation": ("派出所", "警官")}),
        ("法院传票明天送到", {"impersonation": ("法院",), "fake_legal_document": ("传票",)}),
        ("律师函已发", {"fake_legal_document": ("律师函",)}),  # not also a 律师 impersonated
        ("小心弄死你", {"threat": ("弄死",)}),
        ("你就是个ＳＢ老赖", {"insult": ("sb", "老赖")}),
        (
            "We will file a lawsuit and the police will arrest you",
            {"impersonation": ("police",), "fake_legal_document": ("arrest", "lawsuit")},
        ),
        (
            "We called your employer and your family",
            {"third_party_contact": ("your family", "your employer")},
        ),
        ("Send it to my account via Zelle", {"pay_unrelated_party": ("my account", "zelle")}),
        ("Our privacy policy applies", {}),  # "policy" is not "police"
        ("请按时还款", {}),
        ("", {}),
    ],
)
def test_keyword_detection(text: str, expected: dict[str, tuple[str, ...]]) -> None:
    assert {m.tag: m.words for m in keywords.detect(text)} == expected
