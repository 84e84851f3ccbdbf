"""The write paths of the text read from a picture (locker/infra/ocr.py), with the discipline
of the derived copies (locker/services/derived.py): a row marked pending when the picture is
recorded, sent to the worker once the append commits, claimed with a conditional UPDATE and a
lease, finished with what was read (sealed), and sent again by the sweep when the message was
lost, the worker died, or Tesseract has since been installed. Reading twice stores the same
text twice over one row: a duplicate delivery costs time only.

The row hangs off its EvidenceFile (on_delete CASCADE): erasing the entry that held the
picture, or deleting the case, removes the text with the file's row. A worker that finishes
after that finds no row to write to, and writes nothing.

None of this touches the chain: the text is not evidence. Only "use this text" (below) puts
it into the chain, as a correction the owner makes, in words they saw and could change."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from locker.core.phones import numbers_in_text
from locker.infra import ocr, queue, sealed_values
from locker.models import EvidenceFile, EvidenceText

log = logging.getLogger(__name__)

State = EvidenceText.State
REQUEUE_S = 120
SWEEP_BATCH = 200


def purpose(evidence_id: Any) -> str:
    """What a row's sealed value names: a value copied onto another row does not open."""
    return f"evidence-text:{evidence_id}"


def _lease_until() -> Any:
    return timezone.now() + timedelta(seconds=settings.LOCKER_MEDIA_TIMEOUT_S + 60)


def mark_pending(*, evidence: EvidenceFile) -> bool:
    """Within the append's transaction: a picture waits for its text to be read. The task is
    sent once the transaction commits. False for a file that is no picture."""
    if not ocr.wants_text(evidence.media_type):
        return False
    EvidenceText.objects.create(evidence=evidence, state=State.PENDING, enqueued_at=timezone.now())
    transaction.on_commit(lambda: queue.enqueue_text(evidence.pk))
    return True


def claim_text(*, evidence_id: Any) -> EvidenceText | None:
    """Take the row if it waits, or if the worker that took it let its lease run out."""
    now = timezone.now()
    claimed = (
        EvidenceText.objects.filter(pk=evidence_id)
        .filter(Q(state=State.PENDING) | Q(state=State.READING, lease_until__lt=now))
        .update(state=State.READING, lease_until=_lease_until())
    )
    if claimed != 1:
        return None
    return EvidenceText.objects.select_related("evidence").filter(pk=evidence_id).first()


def finish_text(*, row: EvidenceText, reading: ocr.Reading) -> bool:
    """Record what was read, sealed; only while the row is still being read (an erased
    picture's row is gone: nothing is written)."""
    values: dict[str, Any] = {"state": reading.outcome.value, "lease_until": None}
    if reading.outcome == ocr.Outcome.READY:
        numbers = [phone.display for phone in numbers_in_text(reading.text)]
        values["sealed"] = sealed_values.seal_json(
            {"text": reading.text, "numbers": numbers}, purpose=purpose(row.pk)
        )
        values["confidence"] = reading.confidence
        values["read_at"] = timezone.now()
    if reading.engine is not None:
        values["engine"] = reading.engine.version
        values["languages"] = reading.engine.languages
    return bool(EvidenceText.objects.filter(pk=row.pk, state=State.READING).update(**values))


def release_text(*, evidence_id: Any) -> None:
    """Give the row back for a retry (the store was briefly away)."""
    EvidenceText.objects.filter(pk=evidence_id, state=State.READING).update(
        state=State.PENDING, lease_until=None, enqueued_at=timezone.now()
    )


def sweep_text() -> list[Any]:
    """Rows whose task was lost or whose worker vanished, and rows that waited for Tesseract
    now installed: marked sent again, their ids returned for the caller to send."""
    now = timezone.now()
    stale = Q(state=State.PENDING) & (
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - timedelta(seconds=REQUEUE_S))
    )
    stale |= Q(state=State.READING, lease_until__lt=now)
    if ocr.probe().engine is not None:
        stale |= Q(state=State.NO_TOOL)
    ids = list(
        EvidenceText.objects.filter(stale).order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if ids:
        EvidenceText.objects.filter(pk__in=ids).filter(stale).update(
            state=State.PENDING, enqueued_at=now, lease_until=None
        )
    return ids
