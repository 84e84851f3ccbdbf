"""The write paths of an evidence file's derived copies (locker/infra/derived.py): marked
pending when the file is recorded and sent to the worker once the append commits, claimed by
the worker with a conditional UPDATE and a lease, finished with what it achieved, and sent
again by the sweep when the message was lost, the worker died, or a missing program
(ffmpeg) has since been installed. The row's state is the truth, not the broker; making a
copy twice stores the same copy once, so a duplicate delivery costs time, never a wrong copy.

None of this touches the chain: a copy is not evidence."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from locker.infra import derived, queue
from locker.infra.storage import evidence_storage
from locker.models import EvidenceFile

log = logging.getLogger(__name__)

State = EvidenceFile.Derived
# A pending row no worker claimed within this long is sent again (its message was lost).
REQUEUE_S = 120
# Rows the sweep sends per round at most (a migration may leave many pending at once).
SWEEP_BATCH = 200


def _lease_until() -> Any:
    # Longer than one ffmpeg run may take, plus the pictures and the storage writes.
    return timezone.now() + timedelta(seconds=settings.LOCKER_MEDIA_TIMEOUT_S + 120)


def initial_state(media_type: str) -> str:
    return State.PENDING if derived.wants_copies(media_type) else State.NONE


def enqueue_on_commit(evidence_id: Any) -> None:
    """Send the worker the file's task once the surrounding transaction commits (a row the
    worker cannot see yet would be claimed by nobody)."""
    transaction.on_commit(lambda: queue.enqueue_derived(evidence_id))


def claim_derived(*, evidence_id: Any) -> EvidenceFile | None:
    """Take the row if it waits, or if the worker that took it let its lease run out. None
    when it is done, failed, needs nothing, is another live worker's, or is gone (erased)."""
    now = timezone.now()
    claimed = (
        EvidenceFile.objects.filter(pk=evidence_id)
        .filter(Q(derived=State.PENDING) | Q(derived=State.MAKING, derived_lease_until__lt=now))
        .update(derived=State.MAKING, derived_lease_until=_lease_until())
    )
    if claimed != 1:
        return None
    return EvidenceFile.objects.filter(pk=evidence_id).first()


def finish_derived(*, evidence: EvidenceFile, outcome: str) -> bool:
    """Record what the worker achieved; only while the row is still being made. A row gone
    meanwhile was erased (or its case deleted) while the copies were made: those copies are
    removed again, unless the same bytes were recorded anew in the case since."""
    finished = EvidenceFile.objects.filter(pk=evidence.pk, derived=State.MAKING).update(
        derived=outcome, derived_lease_until=None
    )
    if finished:
        return True
    if not EvidenceFile.objects.filter(case_id=evidence.case_id, sha256=evidence.sha256).exists():
        storage = evidence_storage()
        for name in derived.derived_names(evidence):
            storage.delete(name)
    return False


def release_derived(*, evidence_id: Any) -> None:
    """Give the row back for a retry (the store was briefly away)."""
    EvidenceFile.objects.filter(pk=evidence_id, derived=State.MAKING).update(
        derived=State.PENDING, derived_lease_until=None, derived_enqueued_at=timezone.now()
    )


def sweep_derived() -> list[Any]:
    """Rows whose task was lost or whose worker vanished, and rows that waited for a program
    now installed: marked sent again, their ids returned for the caller to send."""
    now = timezone.now()
    stale = Q(derived=State.PENDING) & (
        Q(derived_enqueued_at__isnull=True)
        | Q(derived_enqueued_at__lt=now - timedelta(seconds=REQUEUE_S))
    )
    stale |= Q(derived=State.MAKING, derived_lease_until__lt=now)
    if derived.ffmpeg_path() is not None:
        stale |= Q(derived=State.NO_TOOL, media_type__startswith="audio/")
    if derived.heif_decoder():
        stale |= Q(derived=State.NO_TOOL, media_type__in=("image/heic", "image/heif"))
    ids = list(
        EvidenceFile.objects.filter(stale).order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if ids:
        EvidenceFile.objects.filter(pk__in=ids).filter(stale).update(
            derived=State.PENDING, derived_enqueued_at=now, derived_lease_until=None
        )
    return ids
