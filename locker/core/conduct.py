"""The conduct analysis of a case (docs/analysis.md): how often, how late, from which
numbers, who else was reached, and which records' words suggest a tag. Pure: the events of
locker.core.stats.effective_events in (corrections applied, times in the user's zone), one
ConductAnalysis out. The counts come from locker.core.stats and locker.core.regf, the same
functions the case page and the dossiers use, so each count has one source.

Keyword detection (locker/core/keywords.py) is a suggestion, never a finding: a word list
cannot tell "we will sue you" from "I told them I would go to the police". The user confirms
a suggestion as a tag (a correction entry, docs/chain-format.md "Confirming suggested
tags"); only confirmed tags count as conduct anywhere."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from locker.core import kinds, regf, stats
from locker.core.keywords import detect
from locker.core.kinds import Tag
from locker.core.stats import DayCount, Event

WINDOW_DAYS = regf.WINDOW_DAYS

TEXT_MEMBERS = {
    "call": ("caller_claims", "summary"),
    "message": ("sender", "text"),
    "contact_report": ("summary",),
}


def event_text(event: Event) -> str:
    return "\n".join(str(event.body.get(name) or "") for name in TEXT_MEMBERS.get(event.kind, ()))


def tags_of(event: Event) -> list[str]:
    tags = event.body.get("tags")
    return [str(t) for t in tags] if isinstance(tags, list) else []


@dataclass(frozen=True)
class Suggestion:
    """A tag the analysis suggests for one record: by its words (`words`) or by a rule
    (`rule`: "night" for a contact before 08:00 or from 21:00, "frequency" for a call
    beyond the seventh in seven days, "contact_report" for a contact's statement)."""

    seq: int
    tag: str
    words: tuple[str, ...] = ()
    rule: str = ""


def suggestions(events: Sequence[Event], findings: regf.Findings) -> list[Suggestion]:
    """Tags suggested for records that do not carry them yet, in seq order. Only the kinds a
    tag belongs to (calls, messages, contact reports); outgoing calls and the messages the
    borrower sent are their own words and are not searched (kinds.sent_by_borrower)."""
    night = set(findings.night)
    over = set(findings.over_limit_calls)
    third = set(findings.third_parties)
    found: list[Suggestion] = []
    for event in sorted(events, key=lambda e: e.seq):
        if event.kind not in TEXT_MEMBERS:
            continue
        if kinds.sent_by_borrower(event.kind, event.body):
            continue
        have = set(tags_of(event))
        per_tag: dict[str, Suggestion] = {}
        for match in detect(event_text(event)):
            # What a contact reports is the third-party contact itself, suggested below.
            if match.tag not in have:
                per_tag[match.tag] = Suggestion(event.seq, match.tag, words=match.words)
        rules = (
            (event.seq in night, Tag.NIGHT_TIME, "night"),
            (event.seq in over, Tag.EXCESSIVE_FREQUENCY, "frequency"),
            (event.seq in third, Tag.THIRD_PARTY_CONTACT, "contact_report"),
        )
        for applies, tag, rule in rules:
            if applies and str(tag) not in have and str(tag) not in per_tag:
                per_tag[str(tag)] = Suggestion(event.seq, str(tag), rule=rule)
        found.extend(per_tag[t] for t in sorted(per_tag, key=_tag_order))
    return found


def _tag_order(tag: str) -> int:
    names = [t.value for t in Tag]
    return names.index(tag) if tag in names else len(names)


def rolling_counts(days: Sequence[DayCount], window: int = WINDOW_DAYS) -> list[tuple[date, int]]:
    """For each day of `days` (consecutive, as stats.contacts_per_day gives them), the
    contacts on it and the `window` − 1 days before: the rolling 7-day count."""
    totals = [d.total for d in days]
    result = []
    running = 0
    for i, day in enumerate(days):
        running += totals[i]
        if i >= window:
            running -= totals[i - window]
        result.append((day.day, running))
    return result


@dataclass(frozen=True)
class NumberSummary:
    """One collector number: what came from it (calls and messages to the borrower)."""

    number: str
    calls: list[int]
    messages: list[int]
    night: list[int]
    first: datetime | None
    last: datetime | None
    active_days: int
    most_in_a_day: int
    most_in_7_days: int  # calls and messages together, calendar days
    over_limit: list[int]  # regf 1006.14(b)(2)(i), counting this number's calls alone
    after_conversation: list[int]  # the debt's (b)(2)(ii) calls placed from this number
    caller_claims: list[str]
    tags: dict[str, int]  # confirmed tags on its records

    @property
    def contacts(self) -> int:
        return len(self.calls) + len(self.messages)

    @property
    def flags(self) -> list[int]:
        """This number's calls Reg F 1006.14(b)(2) presumes harassing, either rule."""
        return sorted(set(self.over_limit) | set(self.after_conversation))


@dataclass(frozen=True)
class ConductAnalysis:
    days: list[DayCount]
    rolling: list[tuple[date, int]]
    contacts: int
    calls: int
    messages: int
    most_in_a_day: int
    busiest_day: date | None
    most_in_7_days: int  # calls and messages
    night: list[int]
    regf: regf.Findings  # per debt: over-limit calls, calls after a conversation, numbers
    numbers: list[NumberSummary]
    unnumbered: int  # contacts with no number or sender recorded
    third_parties: list[int]  # contact reports
    contacts_reached: int
    reached_names: list[str]
    tags: dict[str, int]  # confirmed tags (stats.tag_counts)
    suggestions: list[Suggestion] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    @property
    def frequency_flags(self) -> list[int]:
        """Seqs of the calls Reg F 1006.14(b)(2) presumes harassing, for the debt."""
        return self.regf.over_limit_calls


def _number_of(event: Event) -> str:
    member = "number" if event.kind == "call" else "sender"
    return stats.normalise_number(str(event.body.get(member) or ""))


def _most_in_window(moments: Sequence[datetime], window: int) -> int:
    ordered = sorted(m.date() for m in moments)
    best = start = 0
    for end, day in enumerate(ordered):
        while ordered[start] < day - timedelta(days=window - 1):
            start += 1
        best = max(best, end - start + 1)
    return best


def analyse(events: Sequence[Event]) -> ConductAnalysis:
    """The whole analysis of a case's events (stats.effective_events, erased entries left
    out by the caller)."""
    findings = regf.findings(events)
    contacts = [e for e in stats.contact_events(events)]
    days = stats.contacts_per_day(events)
    by_number: dict[str, list[Event]] = defaultdict(list)
    unnumbered = 0
    for event in contacts:
        number = _number_of(event)
        if number:
            by_number[number].append(event)
        else:
            unnumbered += 1
    regf_numbers = {n.number: n for n in findings.numbers}
    after = {c.call for c in findings.after_conversation}
    numbers = []
    for number, items in by_number.items():
        per_day = Counter(e.at.date() for e in items)
        reg = regf_numbers.get(number)
        tag_counter: Counter[str] = Counter(t for e in items for t in tags_of(e))
        claims = sorted(
            {str(e.body.get("caller_claims") or "").strip() for e in items if e.kind == "call"}
            - {""}
        )
        numbers.append(
            NumberSummary(
                number=number,
                calls=[e.seq for e in items if e.kind == "call"],
                messages=[e.seq for e in items if e.kind == "message"],
                night=[e.seq for e in items if stats.is_night(e.at)],
                first=min(e.at for e in items),
                last=max(e.at for e in items),
                active_days=len(per_day),
                most_in_a_day=max(per_day.values()),
                most_in_7_days=_most_in_window([e.at for e in items], WINDOW_DAYS),
                over_limit=list(reg.frequency.over_limit) if reg else [],
                after_conversation=[e.seq for e in items if e.seq in after],
                caller_claims=claims,
                tags=dict(tag_counter.most_common()),
            )
        )
    numbers.sort(key=lambda n: (-n.contacts, n.number))
    busiest = max(days, key=lambda d: (d.total, -d.day.toordinal()), default=None)
    third = stats.third_party_contact_events(events)
    names = sorted(
        {" ".join(str(e.body.get("contact_name") or "").split()) for e in third} - {""},
        key=str.casefold,
    )
    rolling = rolling_counts(days)
    return ConductAnalysis(
        days=days,
        rolling=rolling,
        contacts=len(contacts),
        calls=sum(1 for e in contacts if e.kind == "call"),
        messages=sum(1 for e in contacts if e.kind == "message"),
        most_in_a_day=busiest.total if busiest else 0,
        busiest_day=busiest.day if busiest and busiest.total else None,
        most_in_7_days=max((count for _day, count in rolling), default=0),
        night=findings.night,
        regf=findings,
        numbers=numbers,
        unnumbered=unnumbered,
        third_parties=findings.third_parties,
        contacts_reached=stats.contacts_reached(events),
        reached_names=names,
        tags=stats.tag_counts(events),
        suggestions=suggestions(events, findings),
        first=min((e.at for e in contacts), default=None),
        last=max((e.at for e in contacts), default=None),
    )


# The case page's panel (docs/analysis.md, "On the case page") shows the busiest numbers
# only, and a few of the roles each caller claimed; the analysis page shows them all.
PANEL_NUMBERS = 5
PANEL_CLAIMS = 3
# The shape of `compact`'s JSON: the case page shows a row holding another shape as being
# prepared, until the next computation.
COMPACT_VERSION = 1


def number_figures(number: NumberSummary, *, claims: int | None = None) -> dict[str, Any]:
    """One number's counts as the pages show them, a JSON object: the analysis page's table
    and the case page's panel render the same objects (templates/locker/_conduct_numbers.html),
    so that each count has one definition. `claims` keeps that many caller claims only."""
    shown = number.caller_claims if claims is None else number.caller_claims[:claims]
    return {
        "number": number.number,
        "contacts": number.contacts,
        "calls": len(number.calls),
        "messages": len(number.messages),
        "active_days": number.active_days,
        "most_in_a_day": number.most_in_a_day,
        "most_in_7_days": number.most_in_7_days,
        "night": len(number.night),
        "over_limit": len(number.over_limit),
        "after_conversation": len(number.after_conversation),
        "flags": len(number.flags),
        "caller_claims": list(shown),
        "more_claims": len(number.caller_claims) - len(shown),
        "tags": _pairs(number.tags),
    }


def compact(
    analysis: ConductAnalysis,
    *,
    numbers: int | None = PANEL_NUMBERS,
    claims: int | None = PANEL_CLAIMS,
) -> dict[str, Any]:
    """The counts the pages show, as a JSON object: for the case page's panel the `numbers`
    busiest collector numbers (the analysis's own order: most contacts first) with `claims`
    caller claims each, small enough to keep in one row whatever the case's size; with None
    for both, every number and claim (the analysis page renders the same object with the
    same fragments, templates/locker/_conduct_*.html)."""
    return {
        "v": COMPACT_VERSION,
        "contacts": analysis.contacts,
        "calls": analysis.calls,
        "messages": analysis.messages,
        "night": len(analysis.night),
        "flags": len(analysis.frequency_flags),
        "numbers": [number_figures(n, claims=claims) for n in analysis.numbers[:numbers]],
        "numbers_total": len(analysis.numbers),
        "unnumbered": analysis.unnumbered,
        "suggestions": len(analysis.suggestions),
        "contacts_reached": analysis.contacts_reached,
        "tags": _pairs(analysis.tags),
    }


def _pairs(counts: dict[str, int]) -> list[list[Any]]:
    # Pairs, not an object: PostgreSQL's jsonb keeps an object's keys in its own order, and
    # tags are listed by count.
    return [[tag, count] for tag, count in counts.items()]
