"""The write paths of a download of all one's data (locker/models/data_exports.py): the
request, the worker's claim, progress, finish and failure, and the sweep that sends lost rows
again and deletes the files of those past LOCKER_DATA_EXPORT_KEEP_S. What goes into the ZIP is
locker/exports/account.py; the task that joins them is locker.tasks.build_data_export.

Like a dossier, under the one lease implementation (locker/services/leases.py): the row is
the truth, a worker may only work on a row it claimed with a conditional UPDATE, and a finish
counts only while the lease is still that worker's."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_noop

from locker.infra import queue
from locker.infra.storage import evidence_storage
from locker.models import DataExport, SecurityEvent
from locker.services import leases
from locker.services.leases import LeaseLost
from locker.services.security import record_security_event

log = logging.getLogger(__name__)

__all__ = [
    "ExportClaim",
    "LeaseLost",
    "claim_data_export",
    "expire_data_exports",
    "fail_data_export",
    "finish_data_export",
    "release_data_export",
    "report_progress",
    "request_data_export",
    "sweep_data_exports",
]

LEASE_S = 300
# A queued row no worker took within this long is sent again (its message was lost).
REQUEUE_S = 120
MAX_ATTEMPTS = 3
PENDING = (DataExport.State.QUEUED, DataExport.State.BUILDING)

ExportClaim = leases.Claim
DATA_EXPORT_LEASE = leases.Lease(
    model=DataExport,
    name="data export",
    queued=DataExport.State.QUEUED,
    claimed=DataExport.State.BUILDING,
    held=(DataExport.State.BUILDING,),
    finished=(DataExport.State.READY, DataExport.State.FAILED, DataExport.State.EXPIRED),
    failed=DataExport.State.FAILED,
    # Read when used, so that tests may change them on the module.
    lease_s=lambda: LEASE_S,
    requeue_s=lambda: REQUEUE_S,
    max_attempts=lambda: MAX_ATTEMPTS,
)


def storage_name_for(export: DataExport) -> str:
    return f"exports/{export.user_id}/{export.id}.zip"


def request_data_export(*, user: Any, request: HttpRequest | None = None) -> DataExport:
    """A download of everything `user` has here, built by a worker once the transaction
    commits. One at a time: while one is waiting or being built, that one is returned."""
    with transaction.atomic():
        pending = (
            DataExport.objects.select_for_update()
            .filter(user=user, state__in=PENDING)
            .order_by("-created_at")
            .first()
        )
        if pending is not None:
            return pending
        export = DataExport.objects.create(user=user, enqueued_at=timezone.now())
        record_security_event(
            user=user, kind=SecurityEvent.Kind.DATA_EXPORT_REQUESTED, request=request
        )
        transaction.on_commit(lambda: queue.enqueue_data_export(export.pk))
    return export


def note_download(*, export: DataExport, request: HttpRequest | None = None) -> None:
    """Each fetch of the file is in its owner's security log: a download nobody recognises
    is someone else holding the account."""
    record_security_event(
        user=export.user,
        kind=SecurityEvent.Kind.DATA_EXPORT_DOWNLOADED,
        request=request,
        detail=str(export.id)[:8],
    )


def claim_data_export(*, export_id: Any) -> ExportClaim | None:
    """Take the row if it waits, or if its worker's lease ran out; None otherwise."""
    return leases.claim(DATA_EXPORT_LEASE, export_id)


def report_progress(*, claim: ExportClaim, progress: int) -> None:
    """Record progress (0-99) and renew the lease; LeaseLost when the row is not ours."""
    leases.renew(DATA_EXPORT_LEASE, claim, progress=progress)


def finish_data_export(
    *, claim: ExportClaim, file_name: str, sha256: str, size: int, cases: int
) -> bool:
    """Mark the row ready with its stored file, to be deleted LOCKER_DATA_EXPORT_KEEP_S from
    now. False if the lease was lost meanwhile: the caller then removes its file."""
    return leases.finish(
        DATA_EXPORT_LEASE,
        claim,
        state=DataExport.State.READY,
        file_name=file_name,
        sha256=sha256,
        size=size,
        cases=cases,
        expires_at=timezone.now() + timedelta(seconds=settings.LOCKER_DATA_EXPORT_KEEP_S),
    )


def release_data_export(*, claim: ExportClaim) -> bool:
    """Give the row back as queued (a transient error; the task retries it later)."""
    return leases.release(DATA_EXPORT_LEASE, claim)


def fail_data_export(*, export_id: Any, error: str, claim: ExportClaim | None = None) -> bool:
    """Mark the row failed with a message its owner can read (an English message id)."""
    return leases.fail(DATA_EXPORT_LEASE, export_id, error=error, claim=claim)


def sweep_data_exports() -> list[Any]:
    """Rows whose message was lost or whose worker vanished: marked re-enqueued, their ids
    returned; those out of attempts are failed."""
    return leases.sweep(
        DATA_EXPORT_LEASE,
        exhausted_error=gettext_noop("the worker stopped repeatedly while putting this together"),
        on_failed=lambda pk, attempts: log.warning(
            "data export %s failed after %s attempts", pk, attempts
        ),
    )


def expire_data_exports() -> int:
    """Delete the files of downloads past their keeping time, then mark the rows expired
    (in that order: a store that fails leaves the row to be tried again, never a file that
    nothing names)."""
    expired = 0
    storage = evidence_storage()
    for export in DataExport.objects.filter(
        state=DataExport.State.READY, expires_at__lt=timezone.now()
    ):
        try:
            if export.file_name:
                storage.delete(export.file_name)
        except OSError as exc:
            log.warning("data export %s: file not deleted yet (%r)", export.pk, exc)
            continue
        expired += DataExport.objects.filter(pk=export.pk, state=DataExport.State.READY).update(
            state=DataExport.State.EXPIRED, file_name=""
        )
    return expired
