"""Reads of the quick-log pages: an entry of a case, and the receipt (the signed checkpoint)
issued when it was appended."""

from __future__ import annotations

from locker.models import Case, Checkpoint, Entry


def entry_at(case: Case, seq: int) -> Entry | None:
    return Entry.objects.filter(case=case, seq=seq).first()


def receipt_for(entry: Entry) -> Checkpoint | None:
    """The checkpoint signed for the chain ending at this entry; the first one signed, should
    the same head have been signed again later (an export also signs the head it covers)."""
    return (
        Checkpoint.objects.filter(case=entry.case, length=entry.seq, head=entry.hash)
        .order_by("signed_at")
        .first()
    )
