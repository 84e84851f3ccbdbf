"""What a dossier says, gathered from a case's chain before any layout: the entries it
covers, the summary of conduct (tags, contacts per day and hour, numbers, contacts reached),
and the exhibits. Works on the spec's entry objects, so it is the same data the embedded
entries.jsonl carries."""

from __future__ import annotations

import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .. import chain
from ..models import Dossier, Entry

# Collection outside 08:00-21:00 local time: the hours that China's Internet Finance
# Association collection guideline and US Reg F (12 CFR 1006.6(b)(1)(i)) both single out.
DAY_STARTS = 8
NIGHT_STARTS = 21
CONTACT_KINDS = ("call", "message", "contact_report")
SUMMARY_CHARS = 280


def is_night(moment: datetime) -> bool:
    return moment.hour < DAY_STARTS or moment.hour >= NIGHT_STARTS


def include_filter(dossier: Dossier) -> Callable[[Entry], bool]:
    """Which entries the dossier shows in full; the others become omitted stubs. The date
    range applies to the claimed time (or the recorded time when none was claimed) in the
    dossier's time zone. A correction is shown whenever the entry it corrects is."""
    zone = zoneinfo.ZoneInfo(dossier.time_zone)
    kinds = set(dossier.kinds or ())
    shown: set[int] = set()

    def include(entry: Entry) -> bool:
        moment = (entry.occurred_at or entry.recorded_at).astimezone(zone).date()
        wanted = (
            (not kinds or entry.kind in kinds)
            and (dossier.date_from is None or moment >= dossier.date_from)
            and (dossier.date_to is None or moment <= dossier.date_to)
        )
        if not wanted and entry.kind == "correction":
            wanted = entry.body.get("corrects_seq") in shown
        if wanted:
            shown.add(entry.seq)
        return wanted

    return include


@dataclass(frozen=True)
class Exhibit:
    number: int
    seq: int
    sha256: str
    size: int
    media_type: str
    name: str

    @property
    def label(self) -> str:
        return f"E-{self.number}"

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")

    @property
    def is_audio(self) -> bool:
        return self.media_type.startswith("audio/")


@dataclass
class Row:
    """One timeline row: an entry as the dossier shows it."""

    entry: dict[str, Any]
    hash: str
    occurred: datetime | None
    recorded: datetime
    exhibits: list[Exhibit]

    @property
    def seq(self) -> int:
        return int(self.entry["seq"])

    @property
    def kind(self) -> str:
        return str(self.entry["kind"])

    @property
    def body(self) -> dict[str, Any]:
        return self.entry["body"]

    @property
    def when(self) -> datetime:
        return self.occurred or self.recorded

    @property
    def tags(self) -> list[str]:
        tags = self.body.get("tags")
        return [str(t) for t in tags] if isinstance(tags, list) else []


@dataclass
class TagStat:
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None


@dataclass
class Conduct:
    by_kind: Counter[str] = field(default_factory=Counter)
    tags: dict[str, TagStat] = field(default_factory=dict)
    per_day: dict[date, tuple[int, int]] = field(default_factory=dict)  # (day, night)
    per_hour: list[int] = field(default_factory=lambda: [0] * 24)
    collector_numbers: list[str] = field(default_factory=list)
    contacts_reached: list[str] = field(default_factory=list)
    night_contacts: int = 0
    contact_count: int = 0
    calls: int = 0
    third_party_contacts: int = 0
    max_calls_in_7_days: int = 0
    first: datetime | None = None
    last: datetime | None = None


@dataclass
class DossierData:
    dossier: Dossier
    case_facts: dict[str, Any]
    rows: list[Row]
    lines: list[dict[str, Any]]
    length: int
    head: str
    omitted: int
    conduct: Conduct
    exhibits: list[Exhibit]
    zone: zoneinfo.ZoneInfo
    checkpoint: dict[str, Any]
    signer_fingerprint: str
    signer_subject: str
    generated_at: datetime
    requested_by: str


def _local(text: str | None, zone: zoneinfo.ZoneInfo) -> datetime | None:
    return chain.parse_timestamp(text).astimezone(zone) if text else None


def build_rows(lines: Iterable[dict[str, Any]], zone: zoneinfo.ZoneInfo) -> list[Row]:
    """Full lines as rows in the order things happened (claimed time, else recorded time;
    seq breaks ties), with exhibit numbers in that order, each file once."""
    rows = []
    for line in lines:
        if "entry" not in line:
            continue
        entry = line["entry"]
        recorded = _local(entry["recorded_at"], zone)
        assert recorded is not None
        rows.append(Row(entry, line["hash"], _local(entry["occurred_at"], zone), recorded, []))
    rows.sort(key=lambda r: (r.when, r.seq))
    numbers: dict[str, Exhibit] = {}
    for row in rows:
        for item in row.entry["evidence"]:
            exhibit = numbers.get(item["sha256"])
            if exhibit is None:
                exhibit = Exhibit(
                    number=len(numbers) + 1,
                    seq=row.seq,
                    sha256=item["sha256"],
                    size=item["size"],
                    media_type=item["media_type"],
                    name=item["name"],
                )
                numbers[item["sha256"]] = exhibit
            row.exhibits.append(exhibit)
    return rows


def _is_collector_contact(row: Row) -> bool:
    if row.kind == "call":
        return row.body.get("direction", "incoming") != "outgoing"
    return row.kind in CONTACT_KINDS


def _max_in_window(moments: list[datetime], days: int) -> int:
    best, start = 0, 0
    window = timedelta(days=days)
    for end, moment in enumerate(moments):
        while moment - moments[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def summarise(rows: list[Row]) -> Conduct:
    conduct = Conduct()
    numbers: dict[str, None] = {}
    reached: dict[str, None] = {}
    call_times: list[datetime] = []
    per_day: defaultdict[date, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        conduct.by_kind[row.kind] += 1
        for tag in row.tags:
            stat = conduct.tags.setdefault(tag, TagStat())
            stat.count += 1
            stat.first = min(stat.first, row.when) if stat.first else row.when
            stat.last = max(stat.last, row.when) if stat.last else row.when
        if not _is_collector_contact(row):
            continue
        when = row.when
        conduct.contact_count += 1
        conduct.first = min(conduct.first, when) if conduct.first else when
        conduct.last = max(conduct.last, when) if conduct.last else when
        night = is_night(when)
        conduct.night_contacts += night
        conduct.per_hour[when.hour] += 1
        per_day[when.date()][1 if night else 0] += 1
        if row.kind == "call":
            conduct.calls += 1
            call_times.append(when)
            number = str(row.body.get("number") or "").strip()
            if number:
                numbers.setdefault(number, None)
        elif row.kind == "message":
            sender = str(row.body.get("sender") or "").strip()
            if sender:
                numbers.setdefault(sender, None)
        else:
            conduct.third_party_contacts += 1
            name = str(row.body.get("contact_name") or "").strip()
            if name:
                reached.setdefault(name, None)
        if {"third_party_contact", "contact_list_blast"} & set(row.tags) and row.kind != (
            "contact_report"
        ):
            conduct.third_party_contacts += 1
    conduct.per_day = {day: (v[0], v[1]) for day, v in sorted(per_day.items())}
    conduct.collector_numbers = list(numbers)
    conduct.contacts_reached = list(reached)
    call_times.sort()
    conduct.max_calls_in_7_days = _max_in_window(call_times, 7)
    return conduct


def row_summary(row: Row, limit: int | None = SUMMARY_CHARS) -> str:
    """The entry's words in one line of text (user text, not yet escaped)."""
    body = row.body
    if row.kind == "call":
        parts = [str(body.get("caller_claims") or ""), str(body.get("summary") or "")]
    elif row.kind == "message":
        parts = [str(body.get("text") or "")]
    elif row.kind == "contact_report":
        who = str(body.get("contact_name") or "")
        if body.get("relation"):
            who += f" ({body['relation']})"
        parts = [who, str(body.get("summary") or "")]
    elif row.kind == "note":
        parts = [str(body.get("text") or "")]
    elif row.kind == "correction":
        parts = [f"#{body.get('corrects_seq')}: {body.get('reason', '')}"]
        if body.get("changes"):
            parts.append(", ".join(f"{k}={v}" for k, v in body["changes"].items()))
    elif row.kind == "case_update":
        parts = [", ".join(f"{k}={v}" for k, v in (body.get("changes") or {}).items())]
    else:
        parts = [str(body)]
    text = " — ".join(p.strip() for p in parts if p and p.strip())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def row_party(row: Row) -> str:
    """Number or channel column."""
    body = row.body
    if row.kind == "call":
        return str(body.get("number") or "")
    if row.kind == "message":
        sender = str(body.get("sender") or "")
        return f"{body.get('channel', '')} {sender}".strip()
    if row.kind == "contact_report":
        return str(body.get("channel") or "")
    return ""
