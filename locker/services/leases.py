"""Claiming, renewing, finishing and failing rows built by a worker under a lease
(locker/models/jobs.py, LeasedRow): one implementation for dossiers and for downloads of all
one's data, each described by a `Lease`. Every change is one conditional UPDATE, so two
workers, or a worker and the sweep, can never both think they hold a row."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from locker.models.jobs import LeasedRow

MAX_ERROR_CHARS = 1000


class LeaseLost(RuntimeError):
    """Another worker holds the row now (or it was finished or failed meanwhile)."""


@dataclass(frozen=True)
class Lease:
    """How one kind of row is leased: its model, which of its states mean waiting, held,
    finished and failed, and its timings (read when used, so settings can change in tests)."""

    model: type[LeasedRow]
    name: str  # in log messages: "dossier", "data export"
    queued: str
    claimed: str  # the state a claim puts the row in
    held: tuple[str, ...]  # the states in which a worker holds the row
    finished: tuple[str, ...]
    failed: str
    lease_s: Callable[[], int]
    requeue_s: Callable[[], int]
    max_attempts: Callable[[], int]


@dataclass(frozen=True)
class Claim:
    row_id: Any
    token: str
    attempt: int


def _objects(lease: Lease) -> Any:
    return lease.model._default_manager


def _lease_until(lease: Lease) -> Any:
    return timezone.now() + timedelta(seconds=lease.lease_s())


def claim(lease: Lease, row_id: Any) -> Claim | None:
    """Take the row if it waits, or if its worker's lease ran out. None when another worker
    holds it, it is finished, or it has used up its attempts."""
    token = secrets.token_hex(16)
    now = timezone.now()
    claimed = (
        _objects(lease)
        .filter(pk=row_id, attempts__lt=lease.max_attempts())
        .filter(Q(state=lease.queued) | Q(state__in=lease.held, lease_until__lt=now))
        .update(
            state=lease.claimed,
            lease_token=token,
            lease_until=_lease_until(lease),
            attempts=F("attempts") + 1,
            started_at=now,
            progress=0,
            error="",
        )
    )
    if claimed != 1:
        return None
    attempt = _objects(lease).filter(pk=row_id).values_list("attempts", flat=True).get()
    return Claim(row_id=row_id, token=token, attempt=attempt)


def held(lease: Lease, claim: Claim) -> QuerySet[Any]:
    """The row, only while `claim` still holds it."""
    return _objects(lease).filter(pk=claim.row_id, lease_token=claim.token, state__in=lease.held)


def renew(lease: Lease, claim: Claim, *, progress: int, **changes: Any) -> None:
    """Record progress (0-99) and renew the lease. Raises LeaseLost if the row is no longer
    this worker's, so that it stops working on it."""
    changes.update(progress=max(0, min(99, int(progress))), lease_until=_lease_until(lease))
    if held(lease, claim).update(**changes) != 1:
        raise LeaseLost(f"{lease.name} {claim.row_id}: lease lost")


def finish(lease: Lease, claim: Claim, *, state: str, **changes: Any) -> bool:
    """Mark the row finished in `state` with `changes`. False if the lease was lost
    meanwhile: the caller then owns whatever files it stored and removes them."""
    changes.update(
        state=state, progress=100, finished_at=timezone.now(), lease_token="", lease_until=None
    )
    return held(lease, claim).update(**changes) == 1


def release(lease: Lease, claim: Claim, **changes: Any) -> bool:
    """Give the row back as queued (a transient error; the task retries it later)."""
    changes.update(state=lease.queued, lease_token="", lease_until=None, enqueued_at=timezone.now())
    return held(lease, claim).update(**changes) == 1


def fail(lease: Lease, row_id: Any, *, error: str, claim: Claim | None = None) -> bool:
    """Mark the row failed with a message its owner can read (an English message id). With a
    claim, only while the lease is still the caller's; without one, whatever state it is in
    short of finished."""
    rows = (
        held(lease, claim)
        if claim is not None
        else _objects(lease).filter(pk=row_id).exclude(state__in=lease.finished)
    )
    return (
        rows.update(
            state=lease.failed,
            error=error[:MAX_ERROR_CHARS],
            finished_at=timezone.now(),
            lease_token="",
            lease_until=None,
        )
        == 1
    )


def sweep(
    lease: Lease, *, exhausted_error: str, on_failed: Callable[[Any, int], None]
) -> list[Any]:
    """Rows that waited too long (a lost message, a broker down when they were asked for) or
    whose worker's lease ran out (a killed worker): marked re-enqueued, their ids returned.
    Those that have used up their attempts are failed with `exhausted_error` (and
    `on_failed(id, attempts)` is called for each)."""
    now = timezone.now()
    waited = now - timedelta(seconds=lease.requeue_s())
    stale = (
        _objects(lease)
        .filter(
            Q(state=lease.queued, enqueued_at__lt=waited)
            | Q(state=lease.queued, enqueued_at__isnull=True)
            | Q(state__in=lease.held, lease_until__lt=now)
        )
        .values_list("pk", "attempts")
    )
    ids = []
    for pk, attempts in stale:
        if attempts >= lease.max_attempts():
            if fail(lease, pk, error=exhausted_error):
                on_failed(pk, attempts)
            continue
        # Conditional, so that a row claimed since the query above is left alone.
        requeued = _objects(lease).filter(pk=pk, state=lease.queued).update(
            enqueued_at=now
        ) or _objects(lease).filter(pk=pk, state__in=lease.held, lease_until__lt=now).update(
            state=lease.queued, enqueued_at=now, lease_token="", lease_until=None
        )
        if requeued:
            ids.append(pk)
    return ids
