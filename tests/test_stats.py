"""The figures the case page draws (and the dossier prints), from plain entry objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from locker.core import charts, stats

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class E:
    seq: int
    kind: str
    body: dict[str, Any]
    occurred_at: datetime | None
    recorded_at: datetime = datetime(2026, 2, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


ENTRIES = [
    E(1, "case_update", {"changes": {}}, None),
    E(2, "call", {"direction": "incoming", "number": "170 1234 5678"}, at("2026-01-01T23:30")),
    E(3, "call", {"direction": "missed", "number": "+86 170-1234-5678"}, at("2026-01-02T07:59")),
    E(4, "call", {"direction": "outgoing", "number": "95188"}, at("2026-01-02T12:00")),
    E(5, "message", {"channel": "sms", "sender": "x"}, at("2026-01-04T08:00")),
    E(6, "contact_report", {"contact_name": "妈妈"}, at("2026-01-04T21:00")),
    E(7, "contact_report", {"contact_name": " 妈妈 "}, at("2026-01-05T10:00")),
    E(8, "contact_report", {"contact_name": "王强"}, at("2026-01-05T11:00")),
    E(9, "call", {"direction": "incoming", "number": "171", "tags": ["threat"]}, None),
    # Entry 9 really happened at 02:00 on Jan 3 and came from another number.
    E(10, "correction", {"corrects_seq": 9, "reason": "r",
                         "changes": {"occurred_at": "2026-01-02T18:00:00.000000Z",
                                     "number": "165 0000 0000"}}, None),
]  # fmt: skip


def test_days_are_counted_in_the_users_zone_with_gaps_filled() -> None:
    events = stats.effective_events(ENTRIES, SHANGHAI)
    days = stats.contacts_per_day(events)
    assert [(d.day, d.calls, d.messages) for d in days] == [
        (date(2026, 1, 1), 1, 0),
        (date(2026, 1, 2), 1, 0),  # the outgoing call at noon is not a contact
        (date(2026, 1, 3), 1, 0),  # the corrected time: 02:00 in Shanghai
        (date(2026, 1, 4), 0, 1),
    ]
    # In UTC the 23:30 Shanghai call falls on the same day as the 07:59 one.
    utc_days = stats.contacts_per_day(stats.effective_events(ENTRIES, UTC))
    assert utc_days[0] == stats.DayCount(date(2026, 1, 1), 2, 0)


def test_hours_and_night_use_before_8_and_from_21() -> None:
    events = stats.effective_events(ENTRIES, SHANGHAI)
    hours = stats.contacts_by_hour(events)
    assert hours[23] == 1 and hours[7] == 1 and hours[2] == 1 and hours[8] == 1
    assert sum(hours) == 4
    # 23:30, 07:59, 02:00 are night; 08:00 is not.
    assert stats.night_contacts(events) == 3


def test_distinct_numbers_ignore_formatting_and_outgoing_and_apply_corrections() -> None:
    events = stats.effective_events(ENTRIES, SHANGHAI)
    assert stats.distinct_caller_numbers(events) == 2  # 170…(twice) and the corrected 165…


def test_contacts_reached_counts_people_once() -> None:
    events = stats.effective_events(ENTRIES, SHANGHAI)
    assert stats.contacts_reached(events) == 2


def test_summary_and_chart_geometry() -> None:
    summary = stats.summarise(ENTRIES, SHANGHAI)
    assert (summary.calls, summary.messages, summary.night) == (3, 1, 3)
    assert summary.tags == {"threat": 1}
    days = charts.days_chart(summary.days)
    assert days is not None and len(days.bars) == 4
    tallest = max(days.bars, key=lambda b: b.calls_h + b.messages_h)
    assert tallest.calls_y == days.peak_y  # the busiest day reaches the top line
    hours = charts.hours_chart(summary.hours)
    assert hours is not None and hours.night_total == 3 and hours.total == 4
    assert [b.hour for b in hours.bars if b.night] == [0, 1, 2, 3, 4, 5, 6, 7, 21, 22, 23]
    assert charts.days_chart([]) is None and charts.hours_chart([0] * 24) is None
