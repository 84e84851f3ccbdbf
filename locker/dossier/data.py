"""What a dossier says, gathered from a case's chain before any layout: the entries it
covers, the summary of conduct (tags, contacts per day and hour, numbers, contacts reached),
and the exhibits. Works on the spec's entry objects, so it is the same data the embedded
entries.jsonl carries."""

from __future__ import annotations

import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from django.utils.translation import gettext

from locker.core import chain, kinds, labels, regf, stats
from locker.core.anchors import AttestationReport
from locker.core.identity import Complainant, Complaint
from locker.core.names import account_name
from locker.core.phones import normalise_phone
from locker.models import AccessLog, Case, Dossier, Entry
from locker.selectors.complainant import complainant_of

SUMMARY_CHARS = 280
# Before 08:00 or from 21:00 local time (Reg F 12 CFR 1006.6(b)(1)(i); the Internet Finance
# Association's guideline allows collection only 08:00-21:00): the one rule of locker.core.stats.
is_night = stats.is_night


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
    """A file of an entry. Its label comes from the entry's seq (and the file's place in the
    entry when it has several: E-12.1, E-12.2), never from what else a dossier shows, so a
    file keeps its label in every dossier of the case, whatever the dates or kinds chosen."""

    seq: int
    sha256: str
    size: int
    media_type: str
    name: str
    index: int = 1  # the file's place among the entry's files, from 1
    files: int = 1  # how many files the entry has

    @property
    def label(self) -> str:
        return f"E-{self.seq}" if self.files == 1 else f"E-{self.seq}.{self.index}"

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
    # For a correction, the kind of the entry it corrects (its changes are worded by it: a
    # message's direction is no call's).
    corrects_kind: str = ""

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
    contacts_reached: int = 0
    night_contacts: int = 0
    contact_count: int = 0
    calls: int = 0
    third_party_contacts: int = 0
    max_calls_in_7_days: int = 0
    first: datetime | None = None
    last: datetime | None = None
    # The Reg F findings (locker.core.regf), from the same events as every figure here.
    regf: regf.Findings = field(default_factory=lambda: regf.findings([]))
    events: list[stats.Event] = field(default_factory=list)  # corrections applied


@dataclass(frozen=True)
class ConsumerDetails:
    """Who complains, as the CFPB form asks (name, contact, address)."""

    name: str
    email: str
    phone: str = ""
    address: str = ""


def consumer_details(case: Case) -> ConsumerDetails:
    """The consumer's details for a complaint: the complainant's own details (Settings →
    complainant details) where given, else the account's name and e-mail. The one place a
    template other than the Chinese complaints reads them."""
    owner = case.owner
    own = complainant_of(owner)
    return ConsumerDetails(
        name=own.legal_name or account_name(owner),
        email=own.email or owner.email or "",
        phone=own.phone,
        address=own.address,
    )


@dataclass(frozen=True)
class AccessLogPart:
    """The case's access log as the dossier shows it: the rows up to the request, oldest
    first, and the original names of the files they name."""

    rows: list[AccessLog]
    file_names: dict[str, str]
    until: datetime  # the dossier's request, in its time zone


@dataclass
class DossierData:
    dossier: Dossier
    case_facts: dict[str, Any]
    rows: list[Row]
    lines: list[dict[str, Any]]
    length: int
    head: str
    omitted: int  # lines left out, erased ones included
    conduct: Conduct
    exhibits: list[Exhibit]
    zone: zoneinfo.ZoneInfo
    checkpoint: dict[str, Any]
    # anchors.json for the dossier (embedded beside entries.jsonl and checkpoint.json).
    anchors: dict[str, Any]
    # Whether the signature gets third-party time (PAdES B-LTA); without it the
    # verification page says the times are the server's own.
    time_stamped: bool
    signer_fingerprint: str
    signer_subject: str
    generated_at: datetime
    requested_by: str
    access_log: AccessLogPart | None = None
    ca_fingerprint: str = ""
    keys_url: str = ""  # the public /keys page, where the fingerprints above can be checked
    # Attested times per range of records, from anchors.json (None: it holds no anchor).
    attestation: AttestationReport | None = None
    # The complainant's details, gathered only for the templates that carry them
    # (locker.core.identity.TEMPLATE_ELEMENTS: cn_regulator, cn_12321); None for the others.
    complainant: Complainant | None = None
    complaint: Complaint | None = None
    # Of the omitted lines, those whose content the owner erased (not left out by a filter).
    erased: int = 0
    consumer: ConsumerDetails | None = None  # consumer_details(); shown by us_cfpb only
    # The text the worker read from the exhibits' pictures (OCR), by SHA-256: quoted under
    # them as machine-read, never as evidence (locker/selectors/evidence_text.py).
    read_texts: dict[str, str] = field(default_factory=dict)


def _local(text: str | None, zone: zoneinfo.ZoneInfo) -> datetime | None:
    return chain.parse_timestamp(text).astimezone(zone) if text else None


def build_rows(lines: Iterable[dict[str, Any]], zone: zoneinfo.ZoneInfo) -> list[Row]:
    """Full lines as rows in the order things happened (claimed time, else recorded time;
    seq breaks ties), each with its files as exhibits (labelled by the entry's seq)."""
    rows = []
    for line in lines:
        if "entry" not in line:
            continue
        entry = line["entry"]
        recorded = _local(entry["recorded_at"], zone)
        assert recorded is not None
        rows.append(Row(entry, line["hash"], _local(entry["occurred_at"], zone), recorded, []))
    kind_of = {row.seq: row.kind for row in rows}
    for row in rows:
        target = row.body.get("corrects_seq") if row.kind == "correction" else None
        if isinstance(target, int):
            row.corrects_kind = kind_of.get(target, "")
    rows.sort(key=lambda r: (r.when, r.seq))
    for row in rows:
        files = row.entry["evidence"]
        for index, item in enumerate(files, start=1):
            row.exhibits.append(
                Exhibit(
                    seq=row.seq,
                    sha256=item["sha256"],
                    size=item["size"],
                    media_type=item["media_type"],
                    name=item["name"],
                    index=index,
                    files=len(files),
                )
            )
    return rows


@dataclass(frozen=True)
class _EntryView:
    """A row as locker.core.stats reads entries."""

    seq: int
    kind: str
    body: dict[str, Any]
    occurred_at: datetime | None
    recorded_at: datetime


def summarise(rows: list[Row], zone: zoneinfo.ZoneInfo) -> Conduct:
    """The summary of conduct. The figures come from locker.core.stats, the same functions the
    phone pages draw their charts with (corrections applied, outgoing calls left out), so
    the dossier and the screen never disagree; the Reg F findings from locker.core.regf on
    the same events."""
    entries = [_EntryView(r.seq, r.kind, r.body, r.occurred, r.recorded) for r in rows]
    events = stats.effective_events(entries, zone)
    summary = stats.summarise(entries, zone)
    contacts = stats.contact_events(events)
    conduct = Conduct()
    conduct.by_kind = Counter(r.kind for r in rows)
    for event in events:
        tags = event.body.get("tags")
        for tag in tags if isinstance(tags, list) else []:
            stat = conduct.tags.setdefault(str(tag), TagStat())
            stat.count += 1
            stat.first = min(stat.first, event.at) if stat.first else event.at
            stat.last = max(stat.last, event.at) if stat.last else event.at
    night_by_day: Counter[date] = Counter(e.at.date() for e in stats.night_contact_events(events))
    conduct.per_day = {
        d.day: (d.total - night_by_day[d.day], night_by_day[d.day]) for d in summary.days
    }
    conduct.per_hour = list(summary.hours)
    conduct.contact_count = summary.calls + summary.messages
    conduct.calls = summary.calls
    conduct.night_contacts = summary.night
    conduct.contacts_reached = summary.contacts_reached
    # One number typed two ways (+86, full-width) is listed once, as the channels print it.
    numbers: dict[str, str] = {}
    for event in contacts:
        if event.kind == "call":
            phone = normalise_phone(str(event.body.get("number") or ""))
            if phone.key:
                numbers.setdefault(phone.key, phone.display)
    conduct.collector_numbers = list(numbers.values())
    if contacts:
        conduct.first = min(e.at for e in contacts)
        conduct.last = max(e.at for e in contacts)
    conduct.events = events
    conduct.regf = regf.findings(events)
    conduct.max_calls_in_7_days = conduct.regf.frequency.most_in_7_days
    conduct.third_party_contacts = summary.third_party_contacts
    return conduct


def effective_rows(rows: Iterable[Row], events: Iterable[stats.Event]) -> list[Row]:
    """The rows as the figures see them (`events`: stats.effective_events of the same rows):
    corrections applied to the body and the time, corrections and case facts left out, in
    the order things happened. For the lists that restate what happened (the 12321 report's
    messages, the CFPB narrative's examples), so they agree with the counts beside them;
    the timeline keeps each record as it was recorded, with its corrections."""
    by_seq = {event.seq: event for event in events}
    shown = []
    for row in rows:
        event = by_seq.get(row.seq)
        if event is None:
            continue
        entry = {**row.entry, "body": event.body}
        shown.append(Row(entry, row.hash, event.at, row.recorded, row.exhibits))
    shown.sort(key=lambda r: (r.when, r.seq))
    return shown


def corrected_by(rows: Iterable[Row]) -> dict[int, list[int]]:
    """For each corrected record, the seqs of the corrections of it (in chain order)."""
    found: dict[int, list[int]] = {}
    for row in sorted(rows, key=lambda r: r.seq):
        target = row.body.get("corrects_seq") if row.kind == "correction" else None
        if isinstance(target, int):
            found.setdefault(target, []).append(row.seq)
    return found


def _changes(
    changes: dict[str, Any],
    money: Callable[[int], str] | None,
    zone: tzinfo | None = None,
    kind: str = "",
) -> str:
    # Each member by its name and its value as a person reads it (amounts in major units,
    # channels and tags by name, a corrected time in the dossier's zone rather than the
    # chain's UTC ISO form), as the case page words them; an emptied member is a dash.
    def value(name: str, value: Any) -> str:
        if name == "occurred_at" and isinstance(value, str) and zone is not None:
            try:
                return f"{chain.parse_timestamp(value).astimezone(zone):%Y-%m-%d %H:%M}"
            except chain.FormatError:
                pass
        return labels.value_label(name, value, money=money, kind=kind)

    return labels.join_list(
        (f"{labels.field_label(name, kind)}: {value(name, v)}" for name, v in changes.items()),
        strong=True,
    )


def row_summary(
    row: Row, limit: int | None = SUMMARY_CHARS, *, money: Callable[[int], str] | None = None
) -> str:
    """The entry's words in one line of text (user text, not yet escaped); `money` words
    amounts of money in minor units (formatting.money_in())."""
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
            parts.append(_changes(body["changes"], money, row.recorded.tzinfo, row.corrects_kind))
    elif row.kind == "loan_payment":
        # As the loan-cost audit words a payment: what and whether paid, the amount, the day.
        what = labels.value_label("what", body.get("what") or "repayment")
        status = labels.value_label("status", body.get("status") or "paid")
        parts = [
            f"{what} ({status})",
            labels.value_label("amount_minor", body.get("amount_minor"), money=money),
            str(body.get("date") or ""),
            str(body.get("note") or ""),
        ]
    elif row.kind == "case_update":
        parts = [_changes(body.get("changes") or {}, money)]
    elif row.kind == "redaction":
        parts = [
            gettext("The content of entry %(seq)s was erased") % {"seq": body.get("erased_seq")}
        ]
        if body.get("reason"):
            parts.append(labels.label(labels.REDACTION_REASON_LABELS, body["reason"]))
    else:
        parts = [str(body)]
    text = " — ".join(p.strip() for p in parts if p and p.strip())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def row_party(row: Row) -> str:
    """Number or channel column (channels by their names in the active language)."""
    body = row.body
    if row.kind == "call":
        return str(body.get("number") or "")
    channel = labels.label(labels.CHANNEL_LABELS, body["channel"]) if body.get("channel") else ""
    if row.kind == "message":
        party = f"{channel} {body.get('sender') or ''}".strip()
        if kinds.sent_by_borrower(row.kind, body):
            # The borrower's own message, as the counts leave it out (stats.is_contact).
            party = f"{party} ({labels.value_label('direction', 'outgoing', kind='message')})"
        return party
    if row.kind == "contact_report":
        return channel
    return ""
