"""The text read from a case's pictures (OCR, locker/services/evidence_text.py), as pages,
the search (the timeline's and the review page's) and dossiers read it.

The text is sealed at rest, so the database cannot search it: a search opens the text of the
case's pictures in Python and matches there. That is one case's pictures at a time (hundreds,
at most a few thousand small values), which is quick; no search ever spans cases."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from locker.infra import sealed_values
from locker.models import Case, Entry, EvidenceText

log = logging.getLogger(__name__)

State = EvidenceText.State
# How many words of a search are used at most (each must match).
MAX_WORDS = 8
# Body members (and a correction's changes) whose text a timeline search matches; through
# JSON key lookups, since SQLite stores JSON with non-ASCII escaped (\uXXXX).
SEARCHED_MEMBERS = (
    "text",
    "summary",
    "sender",
    "caller_claims",
    "number",
    "contact_name",
    "relation",
    "reason",
)


@dataclass(frozen=True)
class ReadText:
    """What was read from one picture, or why nothing is there yet."""

    state: str
    text: str = ""
    numbers: list[str] = field(default_factory=list)
    confidence: int | None = None
    engine: str = ""
    languages: str = ""
    read_at: datetime | None = None
    unreadable: bool = False  # sealed under a master key not configured, or changed

    @property
    def waiting(self) -> bool:
        return self.state in (State.PENDING, State.READING)

    @property
    def no_tool(self) -> bool:
        return self.state == State.NO_TOOL


def _opened(row: EvidenceText) -> ReadText:
    if row.state != State.READY:
        return ReadText(state=row.state)
    try:
        value = sealed_values.open_json(row.sealed, purpose=f"evidence-text:{row.pk}")
    except sealed_values.SealedValueUnreadable as exc:
        log.error("the text read from evidence %s does not open: %s", row.pk, exc)
        return ReadText(state=row.state, unreadable=True)
    numbers = value.get("numbers")
    return ReadText(
        state=row.state,
        text=str(value.get("text") or ""),
        numbers=[str(n) for n in numbers] if isinstance(numbers, list) else [],
        confidence=row.confidence,
        engine=row.engine,
        languages=row.languages,
        read_at=row.read_at,
    )


def texts_of(case_id: Any, sha256s: Iterable[str]) -> dict[str, ReadText]:
    """The read text of these files of a case, by SHA-256 (files that are no picture, or
    erased, have none)."""
    wanted = list(sha256s)
    if not wanted:
        return {}
    rows = EvidenceText.objects.filter(
        evidence__case_id=case_id, evidence__sha256__in=wanted
    ).select_related("evidence")
    return {row.evidence.sha256: _opened(row) for row in rows}


def folded(text: str) -> str:
    """Text as a search compares it: full-width as ASCII, case folded, and without spaces
    (Tesseract may put spaces between Chinese characters; people type none)."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _files_whose_text_has(case: Case, words: list[str]) -> dict[str, set[str]]:
    """For each word, the SHA-256 of the case's pictures whose read text holds it."""
    found: dict[str, set[str]] = {word: set() for word in words}
    rows = EvidenceText.objects.filter(evidence__case=case, state=State.READY).select_related(
        "evidence"
    )
    for row in rows.iterator(chunk_size=200):
        text = folded(_opened(row).text)
        if not text:
            continue
        for word in words:
            if folded(word) in text:
                found[word].add(row.evidence.sha256)
    return found


def _entries_naming(case: Case, sha256s: set[str]) -> set[Any]:
    if not sha256s:
        return set()
    ids: set[Any] = set()
    rows = Entry.objects.filter(case=case).exclude(evidence=[]).values_list("pk", "evidence")
    for pk, evidence in rows.iterator(chunk_size=500):
        if any(item.get("sha256") in sha256s for item in evidence):
            ids.add(pk)
    return ids


def search(case: Case, entries: QuerySet[Any], query: str) -> QuerySet[Any]:
    """The entries of `entries` that hold every word of `query`, each in their own text
    (the members above, corrections' changes included) or in the text read from one of their
    pictures. A filter: `entries` keeps its order and annotations."""
    words = query.split()[:MAX_WORDS]
    if not words:
        return entries
    in_pictures = _files_whose_text_has(case, words)
    for word in words:
        match = Q(pk__in=_entries_naming(case, in_pictures[word]))
        for member in SEARCHED_MEMBERS:
            match |= Q(**{f"body__{member}__icontains": word})
            match |= Q(**{f"body__changes__{member}__icontains": word})
        entries = entries.filter(match)
    return entries
