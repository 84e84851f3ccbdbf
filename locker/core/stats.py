"""Figures about a case's harassment, computed from its entries: contacts per day, contacts
by hour of day (night-time highlighted), distinct numbers that called, contacts of the
borrower who were reached. Pure: entries in, numbers out; the phone pages draw them as SVG
and the dossier prints the same figures.

Corrections are applied first: a `correction` entry's changes (including a corrected
`occurred_at`) replace the corrected entry's values for every figure here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from locker.core import chain, kinds
from locker.core.phones import normalise_phone

# Reg F (12 CFR 1006.6(b)(1)(i)) presumes contact before 8 a.m. or after 9 p.m. inconvenient;
# Chinese collection rules draw the same lines (no collection calls 22:00–08:00 in several
# provincial rules), so the stricter US hours are used for the highlight.
NIGHT_BEFORE_HOUR = 8
NIGHT_FROM_HOUR = 21

CONTACT_KINDS = ("call", "message")


class EntryLike(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def body(self) -> Any: ...
    @property
    def occurred_at(self) -> datetime | None: ...
    @property
    def recorded_at(self) -> datetime: ...


@dataclass(frozen=True)
class Event:
    """An entry as the figures see it: corrections applied, time in the chosen zone."""

    seq: int
    kind: str
    body: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class DayCount:
    day: date
    calls: int
    messages: int

    @property
    def total(self) -> int:
        return self.calls + self.messages


def is_night(moment: datetime) -> bool:
    return moment.hour < NIGHT_BEFORE_HOUR or moment.hour >= NIGHT_FROM_HOUR


def effective_events(entries: Iterable[EntryLike], tz: tzinfo) -> list[Event]:
    """Entries with their corrections applied, in chain order; corrections themselves and
    case_update entries are left out. Times: occurred_at if given, else recorded_at."""
    ordered = sorted(entries, key=lambda e: e.seq)
    patched: dict[int, dict[str, Any]] = {}
    moments: dict[int, datetime] = {}
    for entry in ordered:
        if entry.kind != "correction" or not isinstance(entry.body, dict):
            continue
        target = entry.body.get("corrects_seq")
        changes = entry.body.get("changes") or {}
        if not isinstance(target, int) or not isinstance(changes, dict):
            continue
        body = patched.setdefault(target, {})
        for name, value in changes.items():
            if name == "occurred_at":
                if isinstance(value, str):
                    try:
                        moments[target] = chain.parse_timestamp(value)
                    except chain.FormatError:
                        continue
            else:
                body[name] = value
    events = []
    for entry in ordered:
        if entry.kind in ("correction", "case_update"):
            continue
        body = {
            **(entry.body if isinstance(entry.body, dict) else {}),
            **patched.get(entry.seq, {}),
        }
        moment = moments.get(entry.seq) or entry.occurred_at or entry.recorded_at
        events.append(Event(entry.seq, entry.kind, body, moment.astimezone(tz)))
    return events


def is_contact(event: Event) -> bool:
    """Calls and messages from the collectors: the borrower's own outgoing calls and the
    messages they sent (kinds.sent_by_borrower) are not contact they suffered. The one
    definition of a contact, for the case page and every dossier (and the case page's
    running tally, Tally below)."""
    return event.kind in CONTACT_KINDS and not kinds.sent_by_borrower(event.kind, event.body)


def contact_events(events: Sequence[Event]) -> list[Event]:
    return [e for e in events if is_contact(e)]


def contacts_per_day(events: Sequence[Event]) -> list[DayCount]:
    """Calls and messages per calendar day (in the events' zone), every day from the first
    contact to the last, days without contact included as zeros."""
    contacts = contact_events(events)
    if not contacts:
        return []
    calls: Counter[date] = Counter()
    messages: Counter[date] = Counter()
    for event in contacts:
        (calls if event.kind == "call" else messages)[event.at.date()] += 1
    first = min(e.at.date() for e in contacts)
    last = max(e.at.date() for e in contacts)
    days = []
    day = first
    while day <= last:
        days.append(DayCount(day, calls[day], messages[day]))
        day += timedelta(days=1)
    return days


def contacts_by_hour(events: Sequence[Event]) -> list[int]:
    """Number of calls and messages in each hour of the day, 0–23."""
    hours = [0] * 24
    for event in contact_events(events):
        hours[event.at.hour] += 1
    return hours


def night_contact_events(events: Sequence[Event]) -> list[Event]:
    """The contacts (contact_events) before 08:00 or from 21:00 in the events' zone: the
    night-time figure of the case page and of every dossier."""
    return [e for e in contact_events(events) if is_night(e.at)]


def night_contacts(events: Sequence[Event]) -> int:
    return len(night_contact_events(events))


def normalise_number(number: str) -> str:
    """What tells two logged numbers apart (the same number typed with +86 or full-width
    digits is one), in the form the reports print (locker/core/phones.py's display form:
    13800138000); "" for no number (a label)."""
    phone = normalise_phone(number)
    return phone.display if phone.key else ""


def caller_number(event: Event) -> str:
    """The number that called, normalised ("" when the event is no incoming or missed call
    with a number)."""
    if event.kind != "call" or event.body.get("direction", "incoming") == "outgoing":
        return ""
    return normalise_number(str(event.body.get("number") or ""))


def distinct_caller_numbers(events: Sequence[Event]) -> int:
    """How many different numbers called (incoming or missed calls with a number)."""
    numbers = {caller_number(e) for e in events}
    numbers.discard("")
    return len(numbers)


def third_party_contact_events(events: Sequence[Event]) -> list[Event]:
    """Contacts with third parties: the contact reports, in which a contact of the borrower
    (by their own link or through the borrower) states that the collector reached them.
    Tags on the borrower's own calls and messages ("we will tell your contacts") are
    threats made to the borrower, not contacts with a third party."""
    return [e for e in events if e.kind == "contact_report"]


def reached_name(event: Event) -> str:
    """The contact a contact report names, folded so that one person counts once ("" for
    any other event)."""
    if event.kind != "contact_report":
        return ""
    return " ".join(str(event.body.get("contact_name") or "").split()).casefold()


def contacts_reached(events: Sequence[Event]) -> int:
    """How many different contacts of the borrower reported being contacted."""
    names = {reached_name(e) for e in third_party_contact_events(events)}
    names.discard("")
    return len(names)


def event_tags(event: Event) -> list[str]:
    tags = event.body.get("tags")
    return [str(t) for t in tags] if isinstance(tags, list) else []


def ordered_tags(counts: dict[str, int]) -> dict[str, int]:
    """Tags by count, most first, ties by name (as the dossiers list them)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def tag_counts(events: Sequence[Event]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for event in events:
        counts.update(event_tags(event))
    return ordered_tags(dict(counts))


@dataclass(frozen=True)
class Summary:
    days: list[DayCount]
    hours: list[int]
    calls: int
    messages: int
    night: int
    distinct_numbers: int
    contacts_reached: int
    third_party_contacts: int
    tags: dict[str, int]


def summarise(entries: Iterable[EntryLike], tz: tzinfo) -> Summary:
    events = effective_events(entries, tz)
    contacts = contact_events(events)
    return Summary(
        days=contacts_per_day(events),
        hours=contacts_by_hour(events),
        calls=sum(1 for e in contacts if e.kind == "call"),
        messages=sum(1 for e in contacts if e.kind == "message"),
        night=night_contacts(events),
        distinct_numbers=distinct_caller_numbers(events),
        contacts_reached=contacts_reached(events),
        third_party_contacts=len(third_party_contact_events(events)),
        tags=tag_counts(events),
    )


def _bump(counts: dict[str, int], key: str, step: int) -> None:
    value = counts.get(key, 0) + step
    if value > 0:
        counts[key] = value
    else:
        counts.pop(key, None)


# The members of a Tally that grow with the case (a count per number, contact, tag and day,
# kept apart from the rest when stored: Tally.counts) and the prefix of each one's keys.
COUNT_PREFIXES = {"numbers": "number", "names": "name", "tags": "tag"}
DAY_COLUMNS = ("calls", "messages")


class Tally:
    """The figures of summarise(), kept up to date one event at a time, so that the case page
    shows them without reading every entry (docs/scale.md, "Pages"). Built from the same
    per-event definitions (is_contact, caller_number, reached_name, event_tags, is_night)
    and it gives exactly what summarise() gives for the same entries; tests/test_case_stats.py
    compares the two after appends, corrections and erasures.

    The zone-dependent figures (days, hours, night) are kept per time-zone key for the zones
    the case was viewed in. Events come in with `at` in any zone; each is converted to every
    kept zone. JSON-serialisable through as_json/from_json.

    Stored in two parts (services/case_stats.py): head_part(), whose size does not grow with
    the case (the totals, and each zone's hours and night count), and counts(), one number
    per caller number, contact name, tag and zone-day, which grow with the case (a year of
    harassment in two zones: some 30 kB). An append changes a few of the counts only, so it
    is folded into a tally made by for_folding(), which holds the head part alone and
    collects the changes to the counts in `deltas` instead of holding them."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self.calls: int = int(data.get("calls", 0))
        self.messages: int = int(data.get("messages", 0))
        self.third_party: int = int(data.get("third_party", 0))
        self.numbers: dict[str, int] = dict(data.get("numbers", {}))
        self.names: dict[str, int] = dict(data.get("names", {}))
        self.tags: dict[str, int] = dict(data.get("tags", {}))
        # zone key -> {"days": {ISO date: [calls, messages]}, "hours": [24], "night": n}
        self.zones: dict[str, dict[str, Any]] = {
            key: {
                "days": dict(z.get("days", {})),
                "hours": list(z["hours"]),
                "night": int(z["night"]),
            }
            for key, z in data.get("zones", {}).items()
        }
        # Set by for_folding: the changes to counts(), by key, instead of the counts.
        self.deltas: Counter[str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "messages": self.messages,
            "third_party": self.third_party,
            "numbers": self.numbers,
            "names": self.names,
            "tags": self.tags,
            "zones": self.zones,
        }

    def head_part(self) -> dict[str, Any]:
        """The figures whose size does not grow with the case, as JSON."""
        return {
            "calls": self.calls,
            "messages": self.messages,
            "third_party": self.third_party,
            "zones": {
                key: {"hours": zone["hours"], "night": zone["night"]}
                for key, zone in self.zones.items()
            },
        }

    def counts(self) -> dict[str, int]:
        """The figures that grow with the case, one positive count per key:
        number:<number>, name:<contact>, tag:<tag>, day:<zone>:<ISO date>:calls|messages."""
        flat = {
            f"{prefix}:{key}": count
            for name, prefix in COUNT_PREFIXES.items()
            for key, count in getattr(self, name).items()
        }
        for zone_key, zone in self.zones.items():
            for day, pair in zone["days"].items():
                for column, count in zip(DAY_COLUMNS, pair, strict=True):
                    if count:
                        flat[f"day:{zone_key}:{day}:{column}"] = count
        return flat

    @classmethod
    def from_parts(cls, head: dict[str, Any], counts: Iterable[tuple[str, int]]) -> Tally:
        """The tally stored as head_part() and counts() (keys with no positive count, and
        days of zones the head part does not keep, are left out)."""
        tally = cls(head)
        maps = {prefix: getattr(tally, name) for name, prefix in COUNT_PREFIXES.items()}
        for key, count in counts:
            if count <= 0:
                continue
            prefix, rest = key.split(":", 1)
            if prefix != "day":
                maps[prefix][rest] = count
                continue
            zone_key, day, column = rest.rsplit(":", 2)
            zone = tally.zones.get(zone_key)
            if zone is not None:
                zone["days"].setdefault(day, [0, 0])[DAY_COLUMNS.index(column)] = count
        return tally

    @classmethod
    def for_folding(cls, head: dict[str, Any]) -> Tally:
        """A tally holding the head part only, for events to be folded into: its changes to
        the counts are collected in `deltas` (key -> step), to be added to the stored ones."""
        tally = cls(head)
        tally.deltas = Counter()
        return tally

    @classmethod
    def build(cls, events: Iterable[Event], zone_keys: Iterable[str]) -> Tally:
        tally = cls()
        for key in zone_keys:
            tally.zones[key] = {"days": {}, "hours": [0] * 24, "night": 0}
        for event in events:
            tally.replace(None, event)
        return tally

    def _bump_count(self, name: str, key: str, step: int) -> None:
        if self.deltas is not None:
            self.deltas[f"{COUNT_PREFIXES[name]}:{key}"] += step
        else:
            _bump(getattr(self, name), key, step)

    def _bump_day(self, zone_key: str, day: str, column: int, step: int) -> None:
        if self.deltas is not None:
            self.deltas[f"day:{zone_key}:{day}:{DAY_COLUMNS[column]}"] += step
            return
        days = self.zones[zone_key]["days"]
        counts = days.setdefault(day, [0, 0])
        counts[column] += step
        if counts == [0, 0]:
            del days[day]

    def _count(self, event: Event, step: int) -> None:
        if is_contact(event):
            if event.kind == "call":
                self.calls += step
            else:
                self.messages += step
            column = 0 if event.kind == "call" else 1
            for key, zone in self.zones.items():
                local = event.at.astimezone(_zone(key))
                self._bump_day(key, local.date().isoformat(), column, step)
                zone["hours"][local.hour] += step
                if is_night(local):
                    zone["night"] += step
        number = caller_number(event)
        if number:
            self._bump_count("numbers", number, step)
        for tag in event_tags(event):
            self._bump_count("tags", tag, step)
        if event.kind == "contact_report":
            self.third_party += step
            name = reached_name(event)
            if name:
                self._bump_count("names", name, step)

    def replace(self, old: Event | None, new: Event | None) -> None:
        """Take `old`'s part out and put `new`'s in (an append: old None; an erasure: new
        None; a correction: the corrected entry before and after)."""
        if old is not None:
            self._count(old, -1)
        if new is not None:
            self._count(new, +1)

    def summary(self, zone_key: str) -> Summary:
        zone = self.zones[zone_key]
        days: list[DayCount] = []
        if zone["days"]:
            stamps = sorted(zone["days"])
            day, last = date.fromisoformat(stamps[0]), date.fromisoformat(stamps[-1])
            while day <= last:
                calls, messages = zone["days"].get(day.isoformat(), (0, 0))
                days.append(DayCount(day, calls, messages))
                day += timedelta(days=1)
        return Summary(
            days=days,
            hours=list(zone["hours"]),
            calls=self.calls,
            messages=self.messages,
            night=zone["night"],
            distinct_numbers=len(self.numbers),
            contacts_reached=len(self.names),
            third_party_contacts=self.third_party,
            tags=ordered_tags(self.tags),
        )


def _zone(key: str) -> tzinfo:
    return ZoneInfo(key)


def zone_key(tz: tzinfo) -> str | None:
    """The IANA key of a zone the tally can keep figures for; None for another tzinfo."""
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else None
