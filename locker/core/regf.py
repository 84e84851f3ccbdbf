"""Regulation F (12 CFR part 1006) findings from a case's events: what a lawyer checks first
in a US debt-collection complaint, each with the entries that support it. Pure: events in
(locker.core.stats.effective_events, corrections applied, times in the consumer's zone),
findings out; the CFPB dossier words them.

Our reading of the rules, stated once here and in the dossier's method note:

- A case is one debt. The call-frequency presumption (1006.14(b)(2)) counts the calls the
  collector placed about it: incoming and missed calls, from every number together.
- The collector's calls and messages are the case page's contacts (stats.is_contact): the
  borrower's outgoing calls and the messages they sent are their own, never the collector's.
- "7 consecutive days" are calendar days in the consumer's zone: a window is a day and the
  six after it, so a change of clock (DST) neither adds nor removes a call.
- (b)(2)(i): more than seven calls within seven consecutive days; the eighth call (and each
  further one) inside such a window is the one presumed to harass.
- (b)(2)(ii): a telephone conversation is an incoming or outgoing call that lasted (a
  duration above zero); the date of the conversation is the first day of the seven-day
  period, so a call placed later that day or on any of the next six days counts.
- Inconvenient times (1006.6(b)(1)(i)): the case page's night-time contacts
  (stats.night_contact_events), before 08:00 or from 21:00 in the consumer's zone.
- A third-party communication (1006.6(d), 1006.10) is a contact report: a contact of the
  borrower states (through their own link or through the borrower) that the collector
  reached them. Tags on the borrower's own calls and messages ("we will tell your
  contacts") are threats made to the borrower, not third-party contacts.
- A cease-contact request (1006.6(c)) is an entry tagged `asked_to_stop`; what followed it
  is every collector contact and third-party contact recorded after the first request.
  1006.6(c) asks for the request in writing: a message is written, a call is not. The
  request is the borrower's: a message they sent (direction outgoing), or one recorded
  before messages had a direction, or a call either way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from locker.core import stats
from locker.core.stats import Event

CALLS_ALLOWED_IN_7_DAYS = 7
WINDOW_DAYS = 7
CEASE_TAG = "asked_to_stop"


def collector_calls(events: Sequence[Event]) -> list[Event]:
    """Calls the collector placed (incoming or missed), in time order."""
    calls = [e for e in events if e.kind == "call" and stats.is_contact(e)]
    return sorted(calls, key=lambda e: (e.at, e.seq))


def is_conversation(event: Event) -> bool:
    """A call in which the borrower and the collector talked: answered or placed, lasting."""
    if event.kind != "call" or event.body.get("direction", "incoming") == "missed":
        return False
    duration = event.body.get("duration_s")
    return isinstance(duration, int) and duration > 0


def _window_start(day: date) -> date:
    return day - timedelta(days=WINDOW_DAYS - 1)


@dataclass(frozen=True)
class FrequencyFinding:
    """1006.14(b)(2)(i): the calls beyond the seventh within seven consecutive days."""

    over_limit: list[int]  # seqs of the 8th and later calls inside a 7-day window
    most_in_7_days: int
    busiest_window: list[int]  # seqs of the calls in the busiest window
    busiest_from: date | None = None

    @property
    def found(self) -> bool:
        return bool(self.over_limit)


def call_frequency(calls: Sequence[Event]) -> FrequencyFinding:
    """Over-limit calls and the busiest 7-calendar-day window of `calls` (time order)."""
    ordered = sorted(calls, key=lambda e: (e.at, e.seq))
    over: list[int] = []
    best: list[Event] = []
    start = 0
    for end, call in enumerate(ordered):
        first_day = _window_start(call.at.date())
        while ordered[start].at.date() < first_day:
            start += 1
        window = ordered[start : end + 1]
        if len(window) > CALLS_ALLOWED_IN_7_DAYS:
            over.append(call.seq)
        if len(window) > len(best):
            best = window
    return FrequencyFinding(
        over_limit=over,
        most_in_7_days=len(best),
        busiest_window=[e.seq for e in best],
        busiest_from=best[0].at.date() if best else None,
    )


@dataclass(frozen=True)
class CallAfterConversation:
    conversation: int  # seq of the telephone conversation
    call: int  # seq of the collector's call within the 7-day period after it


def calls_after_conversation(events: Sequence[Event]) -> list[CallAfterConversation]:
    """1006.14(b)(2)(ii): each collector call placed within the seven days (the
    conversation's date being the first) after the latest earlier telephone conversation."""
    ordered = sorted(events, key=lambda e: (e.at, e.seq))
    found = []
    last_talk: Event | None = None
    for event in ordered:
        if event.kind != "call":
            continue
        if (
            stats.is_contact(event)
            and last_talk is not None
            and event.at.date() <= last_talk.at.date() + timedelta(days=WINDOW_DAYS - 1)
        ):
            found.append(CallAfterConversation(last_talk.seq, event.seq))
        if is_conversation(event):
            last_talk = event
    return found


def collector_contacts(events: Sequence[Event]) -> list[Event]:
    """The collector's calls and messages to the borrower (stats.contact_events: the
    borrower's outgoing calls and sent messages left out), less the borrower's own requests
    to stop (one written before messages had a direction reads as received)."""
    return [e for e in stats.contact_events(events) if CEASE_TAG not in _tags(e)]


def _tags(event: Event) -> list[str]:
    tags = event.body.get("tags")
    return [str(t) for t in tags] if isinstance(tags, list) else []


@dataclass(frozen=True)
class CeaseFinding:
    """1006.6(c): the first request to stop and what was recorded after it."""

    request: int  # seq of the first request
    written: bool  # a message (written) rather than a call (oral)
    requests: list[int]  # every request's seq
    contacts_after: list[int]  # collector calls and messages after the first request
    third_parties_after: list[int]  # contact reports after the first request


def cease_request(events: Sequence[Event]) -> CeaseFinding | None:
    requests = sorted(
        (e for e in events if e.kind in ("call", "message") and CEASE_TAG in _tags(e)),
        key=lambda e: (e.at, e.seq),
    )
    if not requests:
        return None
    first = requests[0]
    after = [e.seq for e in collector_contacts(events) if e.at > first.at]
    third = [e.seq for e in stats.third_party_contact_events(events) if e.at > first.at]
    return CeaseFinding(
        request=first.seq,
        written=first.kind == "message",
        requests=[e.seq for e in requests],
        contacts_after=after,
        third_parties_after=third,
    )


@dataclass(frozen=True)
class NumberFindings:
    """The findings for one collector number (calls from it only)."""

    number: str
    calls: list[int]
    messages: list[int]
    night: list[int]
    frequency: FrequencyFinding
    caller_claims: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Findings:
    """The Reg F findings for the debt (the case) and per collector number."""

    frequency: FrequencyFinding
    after_conversation: list[CallAfterConversation]
    night: list[int]
    third_parties: list[int]
    workplace: list[int]  # third-party contacts at the borrower's work
    cease: CeaseFinding | None
    numbers: list[NumberFindings]

    @property
    def over_limit_calls(self) -> list[int]:
        return sorted(set(self.frequency.over_limit) | {c.call for c in self.after_conversation})


def _number_of(event: Event) -> str:
    if event.kind == "call":
        return stats.normalise_number(str(event.body.get("number") or ""))
    return stats.normalise_number(str(event.body.get("sender") or ""))


def findings(events: Sequence[Event]) -> Findings:
    calls = collector_calls(events)
    contacts = collector_contacts(events)
    third = stats.third_party_contact_events(events)
    per_number: dict[str, list[Event]] = defaultdict(list)
    for event in contacts:
        number = _number_of(event)
        if number:
            per_number[number].append(event)
    numbers = []
    for number, items in per_number.items():
        its_calls = [e for e in items if e.kind == "call"]
        claims = {str(e.body.get("caller_claims") or "").strip() for e in its_calls}
        claims.discard("")
        numbers.append(
            NumberFindings(
                number=number,
                calls=[e.seq for e in its_calls],
                messages=[e.seq for e in items if e.kind == "message"],
                night=[e.seq for e in items if stats.is_night(e.at)],
                frequency=call_frequency(its_calls),
                caller_claims=sorted(claims),
            )
        )
    numbers.sort(key=lambda n: (-len(n.calls) - len(n.messages), n.number))
    return Findings(
        frequency=call_frequency(calls),
        after_conversation=calls_after_conversation(events),
        night=[e.seq for e in stats.night_contact_events(events)],
        third_parties=[e.seq for e in third],
        workplace=[e.seq for e in third if "workplace_contact" in _tags(e)],
        cease=cease_request(events),
        numbers=numbers,
    )
