"""The review page's reads beside its entries (which come from selectors.entries and the text
search in selectors.sharing): the reader's last visit, the receipts the server signed for the
client, and the reviewers' private notes with their authors' names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from locker.models import Annotation, Case, CaseVisit, Checkpoint
from locker.selectors import sharing


def last_visited(case: Case, user: Any) -> datetime | None:
    """When the user last opened the case's review page; None on their first visit."""
    visit = CaseVisit.objects.filter(user=user, case=case).first()
    return visit.last_visited if visit is not None else None


@dataclass(frozen=True)
class SignedReceipts:
    # The latest first: the longest chain heads, then the most recently signed.
    latest: list[Checkpoint]
    count: int


def signed_receipts(case: Case, *, latest: int) -> SignedReceipts:
    """One receipt per chain length: the same head is signed again (before an export, a
    dossier, after a key rotation), and the page listed each signing as another receipt."""
    checkpoints = Checkpoint.objects.filter(case=case)
    newest: list[Checkpoint] = []
    for checkpoint in checkpoints.order_by("-length", "-signed_at").iterator():
        if newest and newest[-1].length == checkpoint.length:
            continue
        newest.append(checkpoint)
        if len(newest) == latest:
            break
    return SignedReceipts(latest=newest, count=checkpoints.values("length").distinct().count())


def notes_with_authors(case: Case) -> list[tuple[Annotation, str]]:
    """The case's notes, oldest first, each with its author's display name, looked up once per
    author rather than once per note."""
    notes = list(sharing.annotations_for(case))
    names: dict[int, str] = {}
    for note in notes:
        if note.author_id not in names:
            names[note.author_id] = sharing.display_name(note.author)
    return [(note, names[note.author_id]) for note in notes]
