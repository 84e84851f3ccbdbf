"""Celery tasks. Each takes a row id and treats the database row as the truth: the broker
only carries hints that a row needs work (see locker/services/dossiers.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, close_old_connections
from django.db import OperationalError as DatabaseOperationalError
from django.utils import timezone
from django.utils.translation import gettext_noop

from locker.dossier.build import build_dossier
from locker.exports.account import build_data_export as build_account_zip
from locker.infra import derived as derived_copies
from locker.infra import ocr, queue
from locker.infra.storage import StorageError
from locker.selectors import chain as stored_chain
from locker.services import anchors as anchor_services
from locker.services import case_conduct as conduct_services
from locker.services import case_stats as stats_services
from locker.services import data_exports as export_services
from locker.services import derived as derived_services
from locker.services import dossiers as dossier_services
from locker.services import evidence_text as text_services
from locker.services import idempotency
from locker.services import mailed_receipts as mail_services

log = logging.getLogger(__name__)


class TransientError(RuntimeError):
    """A failure worth retrying as is (a time-stamp authority or storage briefly away)."""


# Errors that say "try again later", never "this dossier cannot be made".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    DatabaseOperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)
MAX_RETRIES = 3


def retry_delay(retries: int) -> int:
    """Seconds before retry number `retries` + 1: 10, 30, 90 …, capped at 10 minutes."""
    return int(min(600, 10 * 3**retries))


@dataclass(frozen=True)
class LeasedJob:
    """What render_dossier and build_data_export each do to their row: claim it (None: done
    already, or another worker holds a live lease), build it, fail it with a message the
    owner reads (gettext_noop: translated when shown), or release it for a retry."""

    what: str  # for the log: "dossier", "data export"
    claim: Callable[[str], Any]
    build: Callable[[Any], object]  # what it returns is not used
    fail: Callable[[str, Any, str], object]
    release: Callable[[Any], object]
    lease_lost: type[Exception]
    too_long: str
    unavailable: str
    internal: str


def run_leased(task: Any, job: LeasedJob, row_id: str) -> str:
    """Claim, build, finish; retry what is transient with backoff, fail the rest on the row."""
    claim = job.claim(row_id)
    if claim is None:
        # Finished already, or another worker holds a live lease: a duplicate delivery.
        return "not claimed"
    try:
        job.build(claim)
    except job.lease_lost:
        log.warning("%s %s: lease lost, another worker took over", job.what, row_id)
        return "lease lost"
    except SoftTimeLimitExceeded:
        job.fail(row_id, claim, job.too_long)
        return "failed"
    except TRANSIENT_ERRORS as exc:
        if task.request.retries >= task.max_retries:
            log.warning(
                "%s %s failed after %d tries: %r", job.what, row_id, task.request.retries + 1, exc
            )
            job.fail(row_id, claim, job.unavailable)
            return "failed"
        log.info("%s %s: retrying after %r", job.what, row_id, exc)
        job.release(claim)
        raise task.retry(exc=exc, countdown=retry_delay(task.request.retries)) from exc
    except Exception:
        # A bug or unreadable data: retrying would fail the same way. The details go to the
        # log, not to the user (they can hold paths or internals).
        log.exception("%s %s failed", job.what, row_id)
        job.fail(row_id, claim, job.internal)
        return "failed"
    return "ready"


DOSSIER_JOB = LeasedJob(
    what="dossier",
    claim=lambda row_id: dossier_services.claim_dossier(dossier_id=row_id),
    # Looked up when called, so that tests (and fault injection) can replace the builder.
    build=lambda claim: build_dossier(claim),
    fail=lambda row_id, claim, error: dossier_services.fail_dossier(
        dossier_id=row_id, claim=claim, error=error
    ),
    release=lambda claim: dossier_services.release_dossier(claim=claim, error=""),
    lease_lost=dossier_services.LeaseLost,
    too_long=gettext_noop("making the dossier took too long; try a shorter date range"),
    unavailable=gettext_noop(
        "the dossier could not be made: a service it needs was unavailable; try again later"
    ),
    internal=gettext_noop(
        "the dossier could not be made because of an internal error; it has been logged"
    ),
)

DATA_EXPORT_JOB = LeasedJob(
    what="data export",
    claim=lambda row_id: export_services.claim_data_export(export_id=row_id),
    build=lambda claim: build_account_zip(claim),
    fail=lambda row_id, claim, error: export_services.fail_data_export(
        export_id=row_id, claim=claim, error=error
    ),
    release=lambda claim: export_services.release_data_export(claim=claim),
    lease_lost=export_services.LeaseLost,
    too_long=gettext_noop("putting your data together took too long; try again later"),
    unavailable=gettext_noop(
        "your data could not be put together: a service it needs was unavailable; try again later"
    ),
    internal=gettext_noop(
        "your data could not be put together because of an internal error; it has been logged"
    ),
)


# The tasks that build a row of their own from a case's records (a dossier, a download of
# all one's data, the case page's conduct panel): the dossier's time limits.
ROW_TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": MAX_RETRIES,
    "soft_time_limit": settings.LOCKER_DOSSIER_SOFT_LIMIT_S,
    "time_limit": settings.LOCKER_DOSSIER_HARD_LIMIT_S,
    "ignore_result": True,
}


@shared_task(name=queue.RENDER_DOSSIER, **ROW_TASK_OPTIONS)
def render_dossier(self: Any, dossier_id: str) -> str:
    return run_leased(self, DOSSIER_JOB, dossier_id)


@shared_task(name=queue.BUILD_DATA_EXPORT, **ROW_TASK_OPTIONS)
def build_data_export(self: Any, export_id: str) -> str:
    """A download of all of one person's data (locker/exports/account.py), as render_dossier
    does a dossier."""
    return run_leased(self, DATA_EXPORT_JOB, export_id)


@shared_task(name=queue.TEND_DATA_EXPORTS, ignore_result=True)
def tend_data_exports() -> int:
    """Send lost downloads of all one's data again; delete the files of expired ones."""
    for export_id in export_services.sweep_data_exports():
        queue.enqueue_data_export(export_id)
    return export_services.expire_data_exports()


@shared_task(name=queue.DELETE_EXPIRED_IDEMPOTENCY_KEYS, ignore_result=True)
def delete_expired_idempotency_keys() -> int:
    """Forget API Idempotency-Keys once clients were promised they are kept (24 hours)."""
    return idempotency.delete_expired_keys()


# A TSA that is down is asked again after 10, 30, 90 … s (capped at 10 minutes) until the
# next scheduled round takes over; the checkpoints wait, appends never do.
ANCHOR_MAX_RETRIES = 5


@shared_task(
    bind=True,
    name=queue.ANCHOR_CHECKPOINTS,
    max_retries=ANCHOR_MAX_RETRIES,
    ignore_result=True,
    # A round is worth nothing once the next one is due.
    expires=settings.LOCKER_ANCHOR_INTERVAL_S,
)
def anchor_checkpoints(self: Any) -> int:
    """One anchoring round (locker/services/anchors.py): how many checkpoints it anchored."""
    try:
        result = anchor_services.anchor_pending_checkpoints()
    except anchor_services.TSAUnavailable as exc:
        if self.request.retries >= self.max_retries:
            log.warning("anchoring failed after %d tries: %s", self.request.retries + 1, exc)
            return 0
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc
    return result.checkpoints


# A mail server that is down, or receipts a dead worker still holds, are tried again after
# 10, 30, 90 … s (at least until the lease ends); after that, the next day's run takes them.
RECEIPT_MAIL_MAX_RETRIES = 5


@shared_task(
    bind=True,
    name=queue.MAIL_DAILY_RECEIPTS,
    max_retries=RECEIPT_MAIL_MAX_RETRIES,
    ignore_result=True,
)
def mail_daily_receipts(self: Any) -> int:
    """Plan today's receipt mails and send every one not sent yet
    (locker/services/mailed_receipts.py): how many receipts went out."""
    planned = mail_services.plan_receipt_mails()
    result = mail_services.send_due_receipt_mails()
    log.info(
        "receipt mail: %d planned, %d sent in %d mail(s), %d recipient(s) to retry",
        planned,
        result.receipts,
        result.mails,
        len(result.failed),
    )
    if (result.failed or result.held_until) and self.request.retries < self.max_retries:
        countdown = retry_delay(self.request.retries)
        if result.held_until is not None:
            wait = (result.held_until - timezone.now()).total_seconds()
            countdown = max(countdown, int(wait) + 1)
        raise self.retry(countdown=countdown)
    return result.receipts


@shared_task(name=queue.SWEEP_DOSSIERS, ignore_result=True)
def sweep_dossiers() -> int:
    """Enqueue again the rows that waited too long or whose worker vanished."""
    ids = dossier_services.sweep_dossiers()
    for dossier_id in ids:
        queue.enqueue_dossier(dossier_id)
    if ids:
        log.info("sweep re-enqueued %d dossier(s)", len(ids))
    return len(ids)


# A store briefly away is worth waiting for; a file ffmpeg or Pillow cannot read is not.
DERIVED_RETRYABLE: tuple[type[BaseException], ...] = (StorageError, *TRANSIENT_ERRORS)


# The tasks that run a media tool on one evidence file (ffmpeg, Tesseract): the tool has its
# own limit (LOCKER_MEDIA_TIMEOUT_S); Celery's limits are for the rest of the task.
MEDIA_TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": MAX_RETRIES,
    "soft_time_limit": int(settings.LOCKER_MEDIA_TIMEOUT_S) + 60,
    "time_limit": int(settings.LOCKER_MEDIA_TIMEOUT_S) + 90,
    "ignore_result": True,
}


@shared_task(name=queue.MAKE_DERIVED, **MEDIA_TASK_OPTIONS)
def make_derived(self: Any, evidence_id: str) -> str:
    """Make the pictures and the playable copy one evidence file's pages show
    (locker/infra/derived.py). Idempotent: a row already done is not claimed, and a copy
    already stored is kept."""
    evidence = derived_services.claim_derived(evidence_id=evidence_id)
    if evidence is None:
        return "not claimed"
    try:
        outcome = derived_copies.make_copies(evidence)
    except DERIVED_RETRYABLE as exc:
        if self.request.retries >= self.max_retries:
            log.warning("derived copies of evidence %s: store unavailable: %r", evidence_id, exc)
            derived_services.release_derived(evidence_id=evidence_id)  # the sweep tries later
            return "released"
        derived_services.release_derived(evidence_id=evidence_id)
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc
    except Exception:
        log.exception("derived copies of evidence %s failed", evidence_id)
        outcome = derived_copies.Outcome.FAILED
    derived_services.finish_derived(evidence=evidence, outcome=outcome.value)
    return outcome.value or "none needed"


@shared_task(name=queue.READ_TEXT, **MEDIA_TASK_OPTIONS)
def read_text(self: Any, evidence_id: str) -> str:
    """Read the text in one picture (OCR, locker/infra/ocr.py): a derived annotation, sealed,
    never the chain's. Idempotent: a row already read is not claimed."""
    row = text_services.claim_text(evidence_id=evidence_id)
    if row is None:
        return "not claimed"
    try:
        reading = ocr.read_text(row.evidence)
    except DERIVED_RETRYABLE as exc:
        text_services.release_text(evidence_id=evidence_id)
        if self.request.retries >= self.max_retries:
            log.warning("text of evidence %s: store unavailable: %r", evidence_id, exc)
            return "released"  # the sweep tries later
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc
    except Exception:
        log.exception("reading the text of evidence %s failed", evidence_id)
        reading = ocr.Reading(ocr.Outcome.FAILED)
    text_services.finish_text(row=row, reading=reading)
    return reading.outcome.value


@shared_task(name=queue.SWEEP_DERIVED, ignore_result=True)
def sweep_derived() -> int:
    """Send again the derived copies whose task was lost (or that wait for ffmpeg), and the
    pictures whose text is still to be read (or that wait for Tesseract)."""
    ids = derived_services.sweep_derived()
    for evidence_id in ids:
        queue.enqueue_derived(evidence_id)
    text_ids = text_services.sweep_text()
    for evidence_id in text_ids:
        queue.enqueue_text(evidence_id)
    return len(ids) + len(text_ids)


@shared_task(name=queue.REFRESH_CASE_CONDUCT, **ROW_TASK_OPTIONS)
def refresh_case_conduct(self: Any, case_id: str) -> str:
    """Compute the case page's conduct panel (locker/services/case_conduct.py) with the
    analysis page's computation. Idempotent: a row that covers the chain's head is not
    claimed, and figures of a shorter chain never overwrite those of a longer one."""
    try:
        return conduct_services.refresh(
            case_id, transient=TRANSIENT_ERRORS, too_long=(SoftTimeLimitExceeded,)
        )
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            log.warning("conduct panel of case %s: database unavailable: %r", case_id, exc)
            return "released"  # the sweep asks again
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


@shared_task(name=queue.CHECK_CASE_CHAIN, **ROW_TASK_OPTIONS)
def check_case_chain(self: Any, case_id: str) -> str:
    """Check a long case's whole chain for its badge, as a page would (no file re-hashed),
    and keep the result in the cache as the page keeps it (selectors/chain.py). Idempotent:
    a verified head that stands is only extended."""
    try:
        return stored_chain.check_chain_in_worker(case_id)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            log.warning("chain check of case %s: database unavailable: %r", case_id, exc)
            return "released"  # the next view asks again
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


@shared_task(name=queue.REBUILD_CASE_STATS, **ROW_TASK_OPTIONS)
def rebuild_case_stats(self: Any, case_id: str, zone: str) -> str:
    """Rebuild a long case's figures row in `zone` (services/case_stats.py), under the
    case's lock; nothing to do when the row covers the chain's head in that zone."""
    try:
        return stats_services.rebuild_in_worker(case_id, zone)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            log.warning("figures of case %s: database unavailable: %r", case_id, exc)
            return "released"  # the next view asks again
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


@shared_task(name=queue.SWEEP_CASE_CONDUCT, ignore_result=True)
def sweep_case_conduct() -> int:
    """Ask again for the conduct panels that are behind their case's head."""
    return conduct_services.sweep()


@worker_ready.connect
def _sweep_at_start_and_on_a_timer(**kwargs: Any) -> None:
    # A worker that starts after a crash picks up what the crashed one left behind, and then
    # keeps sweeping on its own timer: beat's schedule is the usual trigger, but a dead beat
    # process must not stop recovery (the sweep's updates are conditional, so beat and any
    # number of workers sweeping at once re-enqueue a row once).
    _sweep_logged()
    SweepTimer(settings.LOCKER_DOSSIER_SWEEP_S).start()


def _sweep_logged() -> None:
    try:
        sweep_dossiers()
        sweep_derived()
        sweep_case_conduct()
    except Exception:
        log.exception("dossier sweep in the worker failed")
    finally:
        # A connection that broke (PostgreSQL restarted) must not break the next sweep.
        close_old_connections()


class SweepTimer(threading.Thread):
    """Runs the sweep every `interval_s` seconds in the worker's main process, for as long as
    the process lives (a daemon thread: it never holds up the worker's shutdown)."""

    def __init__(self, interval_s: float) -> None:
        super().__init__(name="dossier-sweep-timer", daemon=True)
        self.interval_s = max(0.5, interval_s)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            _sweep_logged()
