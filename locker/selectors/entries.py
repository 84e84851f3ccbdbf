"""A case's entries as its pages read them. The timeline query: entries newest first (by when
they happened, else when they were recorded), filtered by kind, tag and a date range in the
viewer's time zone. One entry, one evidence file, and the facts shown of an entry: the same
on the owner's entry page and in the lawyer's review viewer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from locker.core import chain, kinds
from locker.core.phones import normalise_phone
from locker.infra.thumbs import IMAGE_TYPES
from locker.models import Case, Entry, EvidenceFile
from locker.selectors import evidence_text
from locker.selectors.evidence_text import ReadText, texts_of

# The kinds a person records by hand, and so may correct; the others are written by the app.
CORRECTABLE_KINDS = ("call", "message", "contact_report", "note")


@dataclass(frozen=True)
class Filters:
    kind: str = ""
    tag: str = ""
    start: date | None = None
    end: date | None = None
    q: str = ""  # applied by locker.selectors.evidence_text.search, not by timeline()

    @property
    def active(self) -> bool:
        return bool(self.kind or self.tag or self.start or self.end or self.q)


def with_tag(entries: QuerySet[Entry], tag: str) -> QuerySet[Entry]:
    """Entries whose body.tags holds `tag`. JSON containment exists on PostgreSQL only; on
    SQLite the same test is json_each over the array."""
    if connection.vendor == "postgresql":
        return entries.filter(body__tags__contains=[tag])
    table = Entry._meta.db_table
    # The tag is a bound parameter; the only interpolated name is our own table's.
    exists = RawSQL(  # noqa: S611
        f"EXISTS (SELECT 1 FROM json_each({table}.body, '$.tags') "  # noqa: S608
        "WHERE json_each.value = %s)",
        (tag,),
        output_field=BooleanField(),
    )
    return entries.alias(has_tag=exists).filter(has_tag=True)


def _start_of(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min).replace(tzinfo=tz)


def timeline(case: Case, filters: Filters, tz: tzinfo) -> QuerySet[Entry]:
    entries: QuerySet[Any] = Entry.objects.filter(case=case).annotate(
        when=Coalesce("occurred_at", "recorded_at")
    )
    if filters.kind:
        entries = entries.filter(kind=filters.kind)
    if filters.tag:
        entries = with_tag(entries, filters.tag)
    if filters.start:
        entries = entries.filter(when__gte=_start_of(filters.start, tz))
    if filters.end:
        entries = entries.filter(when__lt=_start_of(filters.end + timedelta(days=1), tz))
    return entries.order_by("-when", "-seq")


class BadCursor(ValueError):
    """A timeline cursor that is not one this app writes (edited by hand, cut short)."""


@dataclass(frozen=True)
class Cursor:
    """A place in the timeline's order: the row's time (when it happened, else when it was
    recorded) and seq. Written into the page's links as "<timestamp>~<seq>"; it names a row
    by its key, not by a page number, so it stays valid as entries are added."""

    when: datetime
    seq: int

    @classmethod
    def of(cls, entry: Any) -> Cursor:
        return cls(entry.when, entry.seq)

    def encode(self) -> str:
        return f"{chain.format_timestamp(self.when)}~{self.seq}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        stamp, _, seq = text.partition("~")
        if not seq.isdigit() or len(seq) > 10:
            raise BadCursor(text)
        try:
            return cls(chain.parse_timestamp(stamp), int(seq))
        except chain.FormatError as exc:
            raise BadCursor(text) from exc


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    newer: Cursor | None  # link to the newer rows before these, if any
    older: Cursor | None  # link to the older rows after these, if any


def timeline_page(
    case: Case,
    filters: Filters,
    tz: tzinfo,
    *,
    size: int,
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
) -> TimelinePage:
    """One page of the timeline by keyset: the `size` rows after (older than) or before
    (newer than) a cursor, read from the (case, time, seq) index; no count of the rows.
    One query (size + 1 rows: the extra one says whether there is a further page)."""
    entries: QuerySet[Any] = timeline(case, filters, tz)
    if filters.q:
        # Words in the records' own text or in the text read from their pictures (OCR).
        entries = evidence_text.search(case, entries, filters.q)
    if newer_than is not None:
        # The bound on time alone lets the database start the index scan at the cursor.
        rows = list(
            entries.filter(when__gte=newer_than.when)
            .filter(Q(when__gt=newer_than.when) | Q(seq__gt=newer_than.seq))
            .order_by("when", "seq")[: size + 1]
        )
        more = len(rows) > size
        rows = rows[:size][::-1]
        return TimelinePage(
            rows,
            newer=Cursor.of(rows[0]) if more else None,
            older=Cursor.of(rows[-1]) if rows else newer_than,
        )
    if older_than is not None:
        entries = entries.filter(when__lte=older_than.when).filter(
            Q(when__lt=older_than.when) | Q(seq__lt=older_than.seq)
        )
    rows = list(entries[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    newer = None
    if older_than is not None:
        newer = Cursor.of(rows[0]) if rows else older_than
    return TimelinePage(rows, newer=newer, older=Cursor.of(rows[-1]) if more else None)


# How many of the latest calls and messages the suggestions look at, and how many they offer.
NUMBERS_SCANNED = 500
NUMBERS_OFFERED = 30


def numbers_seen(case: Case) -> list[str]:
    """The numbers already logged in the case's calls and messages, most recently logged
    first, each once however it was typed (+86, full-width, spaces), as the channels print
    it (locker/core/phones.py). Labels (未知号码) and names are not numbers: left out."""
    rows = (
        Entry.objects.filter(case=case, kind__in=("call", "message"), erased_at__isnull=True)
        .order_by("-seq")
        .values_list("body", flat=True)[:NUMBERS_SCANNED]
    )
    seen: dict[str, str] = {}
    for body in rows:
        raw = body.get("number") or body.get("sender") or ""
        phone = normalise_phone(str(raw))
        if phone.key and phone.key not in seen:
            seen[phone.key] = phone.display
            if len(seen) >= NUMBERS_OFFERED:
                break
    return list(seen.values())


def entry_at(case: Case, seq: int) -> Entry | None:
    return Entry.objects.filter(case=case, seq=seq).first()


def correctable_entry(case: Case, seq: int) -> Entry | None:
    return Entry.objects.filter(
        case=case, seq=seq, kind__in=CORRECTABLE_KINDS, erased_at__isnull=True
    ).first()


def erasable_entry(case: Case, seq: int) -> Entry | None:
    """The entry whose content its owner may erase: of a kind people record, not erased yet."""
    return Entry.objects.filter(
        case=case, seq=seq, kind__in=kinds.ERASABLE_KINDS, erased_at__isnull=True
    ).first()


def evidence_file(case: Case, sha256: str) -> EvidenceFile | None:
    return EvidenceFile.objects.filter(case=case, sha256=sha256).first()


def evidence_still_named(case: Case, sha256s: Iterable[str]) -> set[str]:
    """Which of these files some entry of the case still lists (an erased entry lists none)."""
    wanted = set(sha256s)
    named: set[str] = set()
    if not wanted:
        return named
    rows = Entry.objects.filter(case=case).exclude(evidence=[]).values_list("evidence", flat=True)
    for evidence in rows.iterator(chunk_size=500):
        named.update(item["sha256"] for item in evidence if item["sha256"] in wanted)
    return named


def erased_count(case: Case, *, up_to_seq: int) -> int:
    """How many entries up to `up_to_seq` had their content erased."""
    return Entry.objects.filter(case=case, seq__lte=up_to_seq, erased_at__isnull=False).count()


def evidence_bytes_of_owner(owner_id: int) -> int:
    """Bytes of evidence stored in all the cases this user owns (for their quota)."""
    total = EvidenceFile.objects.filter(case__owner_id=owner_id).aggregate(total=Sum("size"))
    return int(total["total"] or 0)


def corrections_of(entry: Entry) -> list[Entry]:
    """The corrections naming this entry, oldest first (the entry itself is never changed)."""
    return list(
        Entry.objects.filter(
            case_id=entry.case_id, kind="correction", body__corrects_seq=entry.seq
        ).order_by("seq")
    )


# How the notices name a format a browser cannot show or play as it is.
FORMAT_LABELS = {
    "audio/amr": "AMR",
    "audio/ogg": "OGG",
    "audio/x-wav": "WAV",
    "audio/mp4": "M4A",
    "image/heic": "HEIC",
    "image/heif": "HEIF",
}
Derived = EvidenceFile.Derived


@dataclass(frozen=True)
class EvidenceFact:
    """One of an entry's files as it is shown: with a picture of it, a player, a notice that
    one is being made or cannot be, or nothing. The pictures and a playable copy are derived
    copies the worker makes (locker/infra/derived.py); the original is always downloadable."""

    # 1-based: the figure's anchor (#file-N) that the timeline's thumbnails link to.
    position: int
    name: str
    sha256: str
    size: int
    media_type: str
    derived: str = ""  # EvidenceFile.derived
    # The text the worker read from a picture (a machine's reading, never evidence).
    text: ReadText | None = None

    @property
    def preview(
        self,
    ) -> Literal["image", "audio", "audio_copy", "preparing", "unavailable", ""]:
        is_image = self.media_type in IMAGE_TYPES
        if not is_image and not self.media_type.startswith("audio/"):
            return ""
        if self.derived == Derived.READY:
            return "image" if is_image else "audio_copy"
        if self.derived == Derived.NONE and not is_image:
            return "audio"  # browsers play it as it is
        if self.derived in (Derived.PENDING, Derived.MAKING):
            return "preparing"
        return "unavailable"

    @property
    def is_image(self) -> bool:
        return self.media_type in IMAGE_TYPES

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.media_type, self.media_type)


@dataclass(frozen=True)
class EntryFacts:
    entry: Entry
    # The body's members to list, tags aside (shown as chips) and empty ones left out.
    rows: list[tuple[str, Any]]
    tags: list[str]
    files: list[EvidenceFact]
    corrections: list[Entry]
    correctable: bool
    erasable: bool
    # For an erased entry, the redaction entry that records its erasure.
    redaction: Entry | None = None
    # What the owner is offered to add as a message's text (and sender), by a correction.
    text_offer: TextOffer | None = None
    # The kind its members are named by (labels.field_label): its own, or for a correction
    # the corrected entry's (a message's direction is no call's).
    label_kind: str = ""


@dataclass(frozen=True)
class TextOffer:
    """The machine-read text of a message's pictures, offered as its text when it has none:
    the owner sees it, may change it, and adds it as a correction (never an edit)."""

    text: str
    sender: str  # a number found in the text, when the message names no sender


def _text_offer(
    entry: Entry, files: list[EvidenceFact], corrections: list[Entry]
) -> TextOffer | None:
    if entry.kind != "message" or entry.is_erased or entry.body.get("text"):
        return None
    if any("text" in (c.body.get("changes") or {}) for c in corrections):
        return None  # already given, by an earlier correction
    read = [f.text for f in files if f.text is not None and f.text.text]
    if not read:
        return None
    text = "\n\n".join(r.text for r in read)
    if len(text) > kinds.LONG_TEXT_MAX:
        return None
    sender_given = entry.body.get("sender") or any(
        "sender" in (c.body.get("changes") or {}) for c in corrections
    )
    numbers = [n for r in read for n in r.numbers]
    return TextOffer(text=text, sender="" if sender_given or not numbers else numbers[0])


def _body_rows(entry: Entry) -> list[tuple[str, Any]]:
    return [
        (name, value)
        for name, value in entry.body.items()
        if name != "tags" and value not in ("", None, [], {})
    ]


def entry_facts(entry: Entry) -> EntryFacts:
    """Everything shown of one entry: rendered by templates/locker/_entry_facts.html."""
    states = dict(
        EvidenceFile.objects.filter(
            case_id=entry.case_id, sha256__in=[item["sha256"] for item in entry.evidence]
        ).values_list("sha256", "derived")
    )
    texts = texts_of(entry.case_id, states)
    files = [
        EvidenceFact(
            position=position,
            name=item["name"],
            sha256=item["sha256"],
            size=item["size"],
            media_type=item["media_type"],
            # A row gone (erased meanwhile) has nothing to show: "failed" says so.
            derived=states.get(item["sha256"], Derived.FAILED),
            text=texts.get(item["sha256"]),
        )
        for position, item in enumerate(entry.evidence, start=1)
    ]
    corrections = corrections_of(entry)
    return EntryFacts(
        entry=entry,
        rows=_body_rows(entry),
        tags=entry.tags,
        files=files,
        corrections=corrections,
        text_offer=_text_offer(entry, files, corrections),
        correctable=entry.kind in CORRECTABLE_KINDS and not entry.is_erased,
        erasable=entry.kind in kinds.ERASABLE_KINDS and not entry.is_erased,
        redaction=entry.erased_by if entry.is_erased else None,
        label_kind=_label_kind(entry),
    )


def _label_kind(entry: Entry) -> str:
    target = entry.body.get("corrects_seq") if entry.kind == "correction" else None
    if not isinstance(target, int):
        return entry.kind
    kind = (
        Entry.objects.filter(case_id=entry.case_id, seq=target)
        .values_list("kind", flat=True)
        .first()
    )
    return kind or ""


def chain_entries(case: Case) -> QuerySet[Entry]:
    """The case's entries in chain order (seq), unevaluated so that a page is sliced in SQL."""
    return Entry.objects.filter(case=case).order_by("seq")
