"""Writes of the analysis page (docs/analysis.md): the owner confirms tags the conduct
analysis suggested (a correction entry carrying only `tags`, origin "suggested_tags"), and
records a loan payment (a loan_payment entry). Both append to the chain; nothing is edited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date

from django.db import transaction
from django.utils.translation import gettext

from locker.core import kinds, stats
from locker.core.labels import join_list, tag_label
from locker.models import Case, Entry
from locker.services.entries import AppendResult, InputError, append_entry


def _effective_tags(case: Case, seq: int) -> tuple[Entry, list[str]]:
    target = Entry.objects.filter(case=case, seq=seq).first()
    if (
        target is None
        or target.is_erased
        or target.kind not in ("call", "message", "contact_report")
    ):
        raise InputError(gettext("This record cannot carry tags."))
    corrections = Entry.objects.filter(
        case=case, kind="correction", body__corrects_seq=seq, erased_at__isnull=True
    )
    events = stats.effective_events([target, *corrections], UTC)
    return target, [str(t) for t in events[0].body.get("tags") or []]


def confirm_suggested_tags(
    *, case: Case, author: str, seq: int, tags: Sequence[str]
) -> AppendResult | None:
    """Add `tags` to record `seq` by a correction entry (origin "suggested_tags") whose
    changes are the record's tags with these added. Idempotent: tags it already carries
    are not added again, and None is returned when nothing is left to add. Under the case's
    row lock, so two clicks at once append one entry."""
    wanted = []
    for tag in tags:
        if tag not in {t.value for t in kinds.Tag}:
            raise InputError(gettext("Unknown tag: %(tag)s") % {"tag": tag})
        if tag not in wanted:
            wanted.append(tag)
    with transaction.atomic():
        Case.objects.select_for_update().get(pk=case.pk)
        _target, current = _effective_tags(case, seq)
        new = [t for t in wanted if t not in current]
        if not new:
            return None
        return append_entry(
            case=case,
            author=author,
            kind="correction",
            body={
                "corrects_seq": seq,
                "reason": gettext("Tags confirmed from the analysis's suggestions: %(tags)s")
                % {"tags": join_list(tag_label(t) for t in new)},
                "changes": {"tags": [*current, *new]},
                "origin": "suggested_tags",
            },
        )


def record_loan_payment(
    *,
    case: Case,
    author: str,
    amount_minor: int,
    day: date,
    what: str,
    status: str,
    note: str = "",
) -> AppendResult:
    """A payment the borrower made (or is asked to make) on the loan, as a loan_payment
    entry: the loan-cost audit's input."""
    return append_entry(
        case=case,
        author=author,
        kind="loan_payment",
        body={
            "amount_minor": amount_minor,
            "date": day.isoformat(),
            "what": what,
            "status": status,
            "note": note,
        },
    )
