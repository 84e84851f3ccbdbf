"""Erasing one record's content (docs/chain-format.md, "Erasing a record's content"): a
relative's phone number or a contact's statement that must go. The case's owner alone may
do it. The entry keeps its seq, prev and hash, so the chain still verifies, and is exported
as an omitted line from then on; its body, its claimed time and its list of files are
emptied; the bytes of its files (and their derived pictures) are deleted unless another
entry of the case still names the same bytes; and a new `redaction` entry records that it
happened, which seq, and optionally why, never what was removed. It cannot be undone, and
copies already exported or in dossiers already made keep what they hold."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from locker.core import kinds
from locker.infra.derived import derived_names
from locker.infra.storage import evidence_storage
from locker.models import Case, Entry, EvidenceFile, SecurityEvent
from locker.selectors.entries import evidence_still_named
from locker.services import case_conduct, case_stats
from locker.services.entries import InputError, append_entry
from locker.services.security import record_security_event

log = logging.getLogger(__name__)

REASONS = tuple(reason.value for reason in kinds.RedactionReason)


class AlreadyErased(InputError):
    """The entry's content was erased before: an erasure happens once (the API's 409)."""


@dataclass(frozen=True)
class ErasureResult:
    erased: Entry  # the entry as it is now: erased, its links kept
    redaction: Entry  # the new entry recording the erasure
    receipt: dict[str, Any]  # the signed checkpoint of the chain's new head


def _already_erased(seq: int) -> AlreadyErased:
    return AlreadyErased(
        format_lazy(gettext_lazy("the content of entry {seq} was erased already"), seq=seq)
    )


def _refuse_unless_erasable(target: Entry) -> None:
    if target.is_erased:
        raise _already_erased(target.seq)
    if target.kind not in kinds.ERASABLE_KINDS:
        raise InputError(
            format_lazy(
                gettext_lazy(
                    "entry {seq} cannot be erased: only calls, messages, contact reports, notes "
                    "and corrections can (change case facts on the case's edit page)"
                ),
                seq=target.seq,
            )
        )


def _check_reason(reason: str | None) -> str | None:
    if reason in (None, ""):
        return None
    if reason not in REASONS:
        raise InputError(
            format_lazy(
                gettext_lazy("unknown reason {reason}; expected one of {reasons}"),
                reason=repr(reason),
                reasons=", ".join(REASONS),
            )
        )
    return reason


def _forget_files(case: Case, sha256s: Sequence[str]) -> list[str]:
    """Delete the EvidenceFile rows of these files that no entry of the case still names
    (the erased one names none any more); return the storage names to remove once the
    erasure is committed: each original and its derived copies."""
    named = evidence_still_named(case, sha256s)
    rows = list(EvidenceFile.objects.filter(case=case, sha256__in=set(sha256s) - named))
    names = []
    for row in rows:
        names.append(row.storage_name)
        names.extend(derived_names(row))  # pictures and the playable copy
    EvidenceFile.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return names


def _remove_stored(case_id: uuid.UUID, names: Sequence[str]) -> None:
    """After the erasure is committed: remove the bytes, under the case's lock (the lock
    appends take), skipping any original that an entry recorded meanwhile names again. A
    failure here leaves an orphan file, which `evidence_orphans --delete` removes; it never
    undoes the erasure."""
    if not names:
        return
    storage = evidence_storage()
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case_id).first()
            renamed = set(
                EvidenceFile.objects.filter(case_id=case_id, storage_name__in=names).values_list(
                    "storage_name", flat=True
                )
            )
            for name in names:
                if name not in renamed:
                    storage.delete(name)
    except Exception:  # noqa: BLE001 - the erasure stands; the orphan sweep takes the rest
        log.warning(
            "could not remove the files of an erased entry in case %s: %s",
            case_id,
            ", ".join(names),
            exc_info=True,
        )


@transaction.atomic
def erase_entry(
    *,
    case: Case,
    seq: int,
    user: Any,
    author: str,
    reason: str | None = None,
    request: HttpRequest | None = None,
) -> ErasureResult:
    """Erase the content of entry `seq` of `case`, as its owner `user` (recorded as
    `author`, e.g. "user:42" or "token:3"). Raises PermissionError for anyone but the owner,
    LookupError when the case has no such entry, AlreadyErased, and InputError for a kind
    that cannot be erased or an unknown reason; nothing changes then."""
    if case.owner_id != getattr(user, "pk", None):
        raise PermissionError("only the case's owner may erase its records")
    reason = _check_reason(reason)
    locked = Case.objects.select_for_update().get(pk=case.pk)
    target = Entry.objects.filter(case=locked, seq=seq).first()
    if target is None:
        raise LookupError(f"case {case.pk} has no entry {seq}")
    _refuse_unless_erasable(target)
    files = [item["sha256"] for item in target.evidence]
    body: dict[str, Any] = {"erased_seq": target.seq}
    if reason is not None:
        body["reason"] = reason
    appended = append_entry(
        case=locked, author=author, kind="redaction", body=body, allow_kinds=("redaction",)
    )
    if target.mark_erased(redaction=appended.entry) != 1:
        # Another erasure got there first (the case's lock makes this all but impossible).
        raise _already_erased(target.seq)
    case_stats.record_erased(case=locked, entry=target, redaction=appended.entry)
    case_conduct.record_erased(case=locked, redaction=appended.entry)
    names = _forget_files(locked, files)
    record_security_event(
        user=user,
        kind=SecurityEvent.Kind.RECORD_ERASED,
        request=request,
        detail=f"case {case.pk} entry {target.seq}",
    )
    transaction.on_commit(lambda: _remove_stored(case.pk, names))
    target.refresh_from_db()
    return ErasureResult(erased=target, redaction=appended.entry, receipt=appended.receipt)
