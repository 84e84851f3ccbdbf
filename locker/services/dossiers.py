"""The write paths of a dossier's life: the request (web or API), and the worker's claim,
progress, finish and failure. Every change to a Dossier row goes through here.

The row is the source of truth, not the broker: a worker may only work on a row it has
claimed with a conditional UPDATE, the claim is a lease the worker renews with each progress
report, and a finish or failure counts only while the lease is still that worker's. A
worker killed mid-render therefore loses nothing but time: its lease runs out, the sweep
enqueues the row again, and the next worker renders it, exactly once."""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy, gettext_noop

from locker.core.kinds import BODY_MODELS
from locker.infra import queue
from locker.models import Case, Dossier
from locker.selectors import sharing
from locker.services import InputError, leases, parse_date

log = logging.getLogger(__name__)

ACTIVE = (Dossier.State.RENDERING, Dossier.State.SIGNING)
MAX_ERROR_CHARS = leases.MAX_ERROR_CHARS

# Rendering makes the worker do real work and the dossier is a document in the owner's name:
# a reviewer may ask for one, a viewer downloads those already made.
VIEWER_CANNOT_RENDER = gettext_lazy(
    "a viewer can download this case's dossiers but not make new ones; ask the case's owner "
    "or a reviewer"
)


LeaseLost = leases.LeaseLost
Claim = leases.Claim
DOSSIER_LEASE = leases.Lease(
    model=Dossier,
    name="dossier",
    queued=Dossier.State.QUEUED,
    claimed=Dossier.State.RENDERING,
    held=ACTIVE,
    finished=(Dossier.State.READY, Dossier.State.FAILED),
    failed=Dossier.State.FAILED,
    lease_s=lambda: settings.LOCKER_DOSSIER_LEASE_S,
    requeue_s=lambda: settings.LOCKER_DOSSIER_REQUEUE_S,
    max_attempts=lambda: settings.LOCKER_DOSSIER_MAX_ATTEMPTS,
)


@dataclass(frozen=True)
class StoredPack:
    """A dossier's attachment pack as stored."""

    file_name: str
    sha256: str
    size: int
    parts: int


def request_dossier(
    *,
    case: Case,
    user: Any,
    template: str,
    language: str,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    kinds: Sequence[str] = (),
    time_zone: str | None = None,
    verify_url: str = "",
    include_access_log: bool = False,
    attachment_pack: bool = False,
) -> Dossier:
    """Record the request and enqueue its rendering once the transaction commits. Returns
    at once even when the broker is down: the row then waits as queued for the sweep.

    `include_access_log` adds who has seen the case to a court dossier. Only the owner may
    ask for it (PermissionError otherwise): the log is the owner's record of the people they
    shared the case with, not something those people may put in a document. Only the owner
    and the case's reviewers may ask at all (PermissionError for anyone else)."""
    if user is None or (case.owner_id != user.pk and not sharing.is_reviewer(case, user)):
        raise PermissionError(VIEWER_CANNOT_RENDER)
    if template not in Dossier.Template.values:
        raise InputError(
            format_lazy(
                gettext_lazy("template must be one of {choices}"),
                choices=", ".join(Dossier.Template.values),
            )
        )
    if language not in Dossier.Language.values:
        raise InputError(
            format_lazy(
                gettext_lazy("language must be one of {choices}"),
                choices=", ".join(Dossier.Language.values),
            )
        )
    if not isinstance(include_access_log, bool):
        raise InputError(gettext_lazy("include_access_log must be true or false"))
    if not isinstance(attachment_pack, bool):
        raise InputError(gettext_lazy("attachment_pack must be true or false"))
    if include_access_log:
        if user is None or case.owner_id != user.pk:
            raise PermissionError(gettext_lazy("only the case's owner can include the access log"))
        if template != Dossier.Template.COURT:
            raise InputError(
                gettext_lazy("the access log can only be included in the court template")
            )
    start, end = parse_date(date_from, "from"), parse_date(date_to, "to")
    if start and end and start > end:
        raise InputError(gettext_lazy("from is after to"))
    unknown = sorted(set(kinds) - set(BODY_MODELS))
    if unknown:
        raise InputError(
            format_lazy(
                gettext_lazy("unknown kinds {kinds}; expected some of {choices}"),
                kinds=str(unknown),
                choices=", ".join(BODY_MODELS),
            )
        )
    zone = time_zone or settings.TIME_ZONE
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            format_lazy(gettext_lazy("time_zone {zone} is not an IANA time zone"), zone=repr(zone))
        ) from exc
    with transaction.atomic():
        dossier = Dossier.objects.create(
            case=case,
            requested_by=user,
            template=template,
            language=language,
            time_zone=zone,
            date_from=start,
            date_to=end,
            kinds=sorted(set(kinds)),
            verify_url=verify_url[:500],
            include_access_log=include_access_log,
            attachment_pack=attachment_pack,
            enqueued_at=timezone.now(),
        )
        transaction.on_commit(lambda: queue.enqueue_dossier(dossier.pk))
    return dossier


def claim_dossier(*, dossier_id: Any) -> Claim | None:
    """Take the row for rendering if it waits, or if its worker's lease ran out. None when
    another worker holds it, it is finished, or it has used up its attempts."""
    return leases.claim(DOSSIER_LEASE, dossier_id)


def report_progress(*, claim: Claim, progress: int, state: str | None = None) -> None:
    """Record progress (0-99) and renew the lease. Raises LeaseLost if the row is no
    longer this worker's, so that it stops rendering."""
    changes = {"state": state} if state is not None else {}
    leases.renew(DOSSIER_LEASE, claim, progress=progress, **changes)


def finish_dossier(
    *,
    claim: Claim,
    file_name: str,
    sha256: str,
    size: int,
    pages: int,
    chain_length: int,
    chain_head: str,
    pack: StoredPack | None = None,
) -> bool:
    """Mark the row ready with its stored file (and attachment pack). False if the lease was
    lost meanwhile: the caller then owns unreferenced files and removes them."""
    packed: dict[str, Any] = {}
    if pack is not None:
        packed = {
            "pack_file_name": pack.file_name,
            "pack_sha256": pack.sha256,
            "pack_size": pack.size,
            "pack_parts": pack.parts,
        }
    return leases.finish(
        DOSSIER_LEASE,
        claim,
        state=Dossier.State.READY,
        **packed,
        file_name=file_name,
        sha256=sha256,
        size=size,
        pages=pages,
        chain_length=chain_length,
        chain_head=chain_head,
        error="",
    )


def release_dossier(*, claim: Claim, error: str) -> bool:
    """Give the row back as queued (a transient error; the task retries it later)."""
    return leases.release(DOSSIER_LEASE, claim, error=error[:MAX_ERROR_CHARS])


def fail_dossier(*, dossier_id: Any, error: str, claim: Claim | None = None) -> bool:
    """Mark the row failed with a message the user can read. With a claim, only while the
    lease is still the caller's; without one, whatever state it is in short of finished."""
    return leases.fail(DOSSIER_LEASE, dossier_id, error=error, claim=claim)


def sweep_dossiers() -> list[Any]:
    """Rows that waited too long (lost message, broker down at request time) or whose
    worker's lease ran out (killed worker). Marks them re-enqueued and returns their ids;
    fails the ones that have used up their attempts."""
    return leases.sweep(
        DOSSIER_LEASE,
        exhausted_error=gettext_noop("the worker stopped repeatedly while making this dossier"),
        on_failed=lambda pk, attempts: log.warning(
            "dossier %s failed after %s attempts", pk, attempts
        ),
    )
