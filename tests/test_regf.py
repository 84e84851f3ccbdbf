"""Reg F findings (locker.core.regf) on small synthetic timelines: pure, no database."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from locker.core import regf, stats

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@dataclass(frozen=True)
class FakeEntry:
    seq: int
    kind: str
    body: dict[str, Any]
    occurred_at: datetime | None
    recorded_at: datetime


def timeline(*items: tuple[str, str, dict[str, Any]]) -> list[stats.Event]:
    """(kind, ISO time, body) in chain order, as events in New York time."""
    entries = []
    for seq, (kind, when, body) in enumerate(items, start=1):
        moment = datetime.fromisoformat(when)
        entries.append(FakeEntry(seq, kind, body, moment, moment))
    return stats.effective_events(entries, NEW_YORK)


def missed_call(when: str, number: str = "2025550100") -> tuple[str, str, dict[str, Any]]:
    return ("call", when, {"direction": "missed", "number": number})


def test_exactly_seven_calls_in_seven_days_is_not_over_the_limit() -> None:
    events = timeline(*(missed_call(f"2026-03-0{day}T12:00:00-05:00") for day in range(1, 8)))
    found = regf.findings(events)
    assert found.frequency.most_in_7_days == 7
    assert found.frequency.over_limit == []
    assert not found.frequency.found


def test_the_eighth_call_on_the_seventh_day_is_over_the_limit() -> None:
    calls = [missed_call(f"2026-03-0{day}T12:00:00-05:00") for day in range(1, 8)]
    calls.append(missed_call("2026-03-07T20:59:00-05:00"))  # day 7 of the 1st's window
    found = regf.findings(timeline(*calls))
    assert found.frequency.over_limit == [8]
    assert found.frequency.most_in_7_days == 8
    assert found.frequency.busiest_window == list(range(1, 9))


def test_an_eighth_call_on_the_eighth_day_starts_a_new_window() -> None:
    calls = [missed_call(f"2026-03-0{day}T12:00:00-05:00") for day in range(1, 8)]
    calls.append(missed_call("2026-03-08T09:00:00-04:00"))  # the 1st is out of the window
    found = regf.findings(timeline(*calls))
    assert found.frequency.over_limit == []


def test_a_call_six_days_after_a_conversation_is_within_the_period() -> None:
    events = timeline(
        ("call", "2026-03-02T10:00:00-05:00", {"direction": "incoming", "duration_s": 120}),
        missed_call("2026-03-08T18:00:00-04:00"),  # the 7th day, the 2nd being the first
        missed_call("2026-03-09T10:00:00-04:00"),  # the 8th day: outside
    )
    pairs = regf.calls_after_conversation(events)
    assert pairs == [regf.CallAfterConversation(conversation=1, call=2)]


def test_a_missed_call_or_a_zero_length_call_is_no_conversation() -> None:
    events = timeline(
        ("call", "2026-03-02T10:00:00-05:00", {"direction": "missed", "duration_s": 30}),
        ("call", "2026-03-02T11:00:00-05:00", {"direction": "incoming", "duration_s": 0}),
        missed_call("2026-03-03T10:00:00-05:00"),
    )
    assert regf.calls_after_conversation(events) == []


def test_the_borrowers_own_call_is_a_conversation_but_not_a_collector_call() -> None:
    events = timeline(
        ("call", "2026-03-02T10:00:00-05:00", {"direction": "outgoing", "duration_s": 60}),
        ("call", "2026-03-03T10:00:00-05:00", {"direction": "outgoing", "duration_s": 60}),
        missed_call("2026-03-04T10:00:00-05:00"),
    )
    assert regf.calls_after_conversation(events) == [regf.CallAfterConversation(2, 3)]
    assert [e.seq for e in regf.collector_calls(events)] == [3]


def test_inconvenient_times_use_the_local_zone_across_the_dst_change() -> None:
    # 12:30 UTC is 07:30 in New York before the change (EST, inconvenient) and 08:30 after
    # it (EDT, not); 01:30 UTC is 20:30 EST and 21:30 EDT.
    events = timeline(
        missed_call("2026-03-06T12:30:00+00:00"),
        missed_call("2026-03-09T12:30:00+00:00"),
        missed_call("2026-03-06T01:30:00+00:00"),
        missed_call("2026-03-10T01:30:00+00:00"),
    )
    found = regf.findings(events)
    assert found.night == [1, 4]
    assert found.night == [e.seq for e in stats.night_contact_events(events)]


def test_seven_day_windows_count_calendar_days_across_the_dst_change() -> None:
    # 2026-03-08 is 23 hours long in New York; the window 03-02..03-08 still holds 8 calls.
    calls = [missed_call(f"2026-03-0{day}T00:30:00-05:00") for day in range(2, 8)]
    calls += [
        missed_call("2026-03-08T23:30:00-04:00"),
        missed_call("2026-03-08T23:45:00-04:00"),
    ]
    found = regf.findings(timeline(*calls))
    assert found.frequency.over_limit == [8]


def test_a_cease_request_and_what_followed_it() -> None:
    events = timeline(
        missed_call("2026-03-02T10:00:00-05:00"),
        (
            "message",
            "2026-03-02T11:00:00-05:00",
            {"channel": "email", "text": "Stop contacting me.", "tags": ["asked_to_stop"]},
        ),
        missed_call("2026-03-03T10:00:00-05:00"),
        ("message", "2026-03-04T10:00:00-05:00", {"channel": "sms", "sender": "2025550100"}),
        (
            "contact_report",
            "2026-03-05T10:00:00-05:00",
            {"contact_name": "Ann", "relation": "sister"},
        ),
    )
    cease = regf.findings(events).cease
    assert cease is not None
    assert (cease.request, cease.written) == (2, True)
    assert cease.contacts_after == [3, 4]  # the request itself is no contact
    assert cease.third_parties_after == [5]


def test_an_oral_request_is_not_written_and_no_request_is_none() -> None:
    events = timeline(
        ("call", "2026-03-02T10:00:00-05:00", {"duration_s": 60, "tags": ["asked_to_stop"]}),
    )
    cease = regf.cease_request(events)
    assert cease is not None and not cease.written and cease.contacts_after == []
    assert regf.cease_request(timeline(missed_call("2026-03-02T10:00:00-05:00"))) is None


def test_third_parties_are_contact_reports_not_threats_to_the_borrower() -> None:
    events = timeline(
        (
            "message",
            "2026-03-02T10:00:00-05:00",
            {
                "channel": "sms",
                "text": "We will tell your contacts",
                "tags": ["contact_list_blast"],
            },
        ),
        ("call", "2026-03-02T11:00:00-05:00", {"tags": ["third_party_contact"]}),
        (
            "contact_report",
            "2026-03-03T10:00:00-05:00",
            {"contact_name": "Bob", "tags": ["workplace_contact"]},
        ),
    )
    found = regf.findings(events)
    assert found.third_parties == [3]
    assert found.workplace == [3]
    assert (
        stats.summarise(
            [FakeEntry(e.seq, e.kind, e.body, e.at, e.at) for e in events], NEW_YORK
        ).third_party_contacts
        == 1
    )


def test_per_number_findings() -> None:
    calls = [missed_call(f"2026-03-0{day}T12:00:00-05:00", "2025550100") for day in range(1, 9)]
    calls.append(missed_call("2026-03-02T23:00:00-05:00", "+1 202 555 0199"))
    found = regf.findings(timeline(*calls))
    first, second = found.numbers
    assert first.number == "2025550100" and len(first.calls) == 8
    assert first.frequency.most_in_7_days == 7 and not first.frequency.found
    assert second.number == "+12025550199" and second.night == [9]
    # The debt as a whole: 8 calls within 03-01..03-07 (7 from the first number, 1 other).
    assert found.frequency.over_limit == [7, 8]
