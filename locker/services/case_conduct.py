"""The case page's conduct panel kept by the worker (docs/analysis.md, "On the case page";
docs/scale.md, "Pages"): a CaseConduct row per case holding core.conduct.compact of the very
analysis the analysis page computes (selectors.analysis.case_conduct), at a chain head and in
the owner's time zone.

- Asked for once an append commits (`enqueue_on_commit`, one line in the append path): no
  database statement in the append; the callback adds a per-case key to the cache and sends
  the task only when the key was not there, so a burst of appends queues one computation.
  The task deletes the key when it starts, so appends made while it computes ask again.
- Claimed with a conditional UPDATE and a lease: nothing to do when the row covers the
  chain's head in the owner's zone; one worker at a time per case.
- Written only over figures of a shorter chain (or of the same chain, computed earlier), and
  never by a computation over a chain shorter than an erasure's `floor_seq`: a slow or older
  computation never overwrites a newer one.
- A bug or unreadable data marks the row failed at that chain length; a longer chain is
  tried again. The sweep (beat, and the worker's own timer) asks again for cases whose row
  is behind their head: a lost message, a broker that was away, a worker that died.

None of this touches the chain: the panel is derived data, computed again at any time."""

from __future__ import annotations

import logging
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from locker.core import conduct
from locker.infra import queue
from locker.models import Case, CaseConduct, Entry
from locker.selectors.accounts import preferences_of
from locker.selectors.analysis import case_conduct
from locker.selectors.chain import chain_head

log = logging.getLogger(__name__)

# How long the "a computation is queued" key lives: a message the broker lost is sent again
# by the sweep once it is gone.
QUEUED_S = 300
# Cases the sweep asks for per round at most.
SWEEP_BATCH = 200


def lease_s() -> int:
    # Longer than Celery's hard limit on the task, so that two workers compute one case at
    # once only when the first one died.
    return int(settings.LOCKER_DOSSIER_HARD_LIMIT_S) + 60


def queued_key(case_id: Any) -> str:
    return f"conduct:queued:{case_id}"


def owner_zone(case: Case) -> str:
    """The zone the panel counts days and nights in: the owner's (their profile's, else the
    instance's default), whoever reads the case page."""
    profile = preferences_of(case.owner_id)
    name = profile.time_zone if profile is not None else settings.TIME_ZONE
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return str(settings.TIME_ZONE)
    return name


def enqueue_on_commit(case_id: Any) -> None:
    """Ask for the case's panel once the surrounding transaction commits (the append's). A
    failure here is logged, never the request's: the entry is stored, and the sweep asks
    again."""
    transaction.on_commit(lambda: request_refresh(case_id), robust=True)


def request_refresh(case_id: Any) -> bool:
    """Send the task unless one is queued for the case already. True when sent (or, with
    CELERY_TASK_ALWAYS_EAGER, computed here and now)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        refresh(case_id)
        return True
    key = queued_key(case_id)
    if not cache.add(key, 1, timeout=QUEUED_S):
        return False
    if not queue.enqueue_case_conduct(case_id):
        cache.delete(key)  # the broker is away: the sweep asks again
        return False
    return True


@dataclass(frozen=True)
class Claim:
    case: Case
    seq: int
    head: str
    time_zone: str
    token: str
    started_at: datetime


def claim(case_id: Any) -> Claim | None:
    """Take the case's row for a computation. None when the row covers the chain's head in
    the owner's zone, when it failed at this head, when another worker holds it, or when
    the case is gone."""
    cache.delete(queued_key(case_id))
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        return None
    seq, head = chain_head(case)
    zone = owner_zone(case)
    CaseConduct.objects.get_or_create(case=case)
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = (
        CaseConduct.objects.filter(case=case)
        .filter(Q(seq__lt=seq) | ~Q(time_zone=zone))
        .exclude(failed_seq__gte=seq)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_token=token, lease_until=now + timedelta(seconds=lease_s()))
    )
    if claimed != 1:
        return None
    return Claim(case=case, seq=seq, head=head, time_zone=zone, token=token, started_at=now)


def compute(claim: Claim) -> dict[str, Any]:
    """The panel's figures at the claimed head: the analysis page's computation, kept
    compact."""
    analysis = case_conduct(claim.case, zoneinfo.ZoneInfo(claim.time_zone), upto=claim.seq)
    return conduct.compact(analysis)


def finish(claim: Claim, figures: dict[str, Any]) -> bool:
    """Write the figures unless the row holds newer ones; give the lease back. False when
    they were not written (a newer computation, or an erasure since, got there first)."""
    newer_or_same = Q(seq__gt=claim.seq) | Q(seq=claim.seq, started_at__gt=claim.started_at)
    written = (
        CaseConduct.objects.filter(case_id=claim.case.pk, floor_seq__lte=claim.seq)
        .exclude(newer_or_same)
        .update(
            seq=claim.seq,
            head=claim.head,
            time_zone=claim.time_zone,
            figures=figures,
            computed_at=timezone.now(),
            started_at=claim.started_at,
            error="",
            failed_seq=None,
        )
    )
    _release(claim)
    return written == 1


def _release(claim: Claim, **changes: Any) -> bool:
    return (
        CaseConduct.objects.filter(case_id=claim.case.pk, lease_token=claim.token).update(
            lease_token="", lease_until=None, **changes
        )
        == 1
    )


def release(claim: Claim) -> None:
    """Give the row back for a retry (the database was briefly away)."""
    _release(claim)


def fail(claim: Claim, error: str) -> bool:
    """Mark the row failed at the claimed head (an English message id), while still ours.
    Figures it held from a shorter chain stay, shown as of their own record."""
    return _release(claim, error=error[:1000], failed_seq=claim.seq)


def ask_again_if_moved(claim: Claim) -> bool:
    """After a computation: when the chain grew or the owner's zone changed meanwhile (an
    append whose request found this one running), ask for the next one."""
    if chain_head(claim.case)[0] > claim.seq or owner_zone(claim.case) != claim.time_zone:
        return request_refresh(claim.case.pk)
    return False


# Stored in English, put into the reader's language when shown (CaseConduct.error_display).
INTERNAL_ERROR = gettext_noop(
    "the summary could not be computed because of an internal error; it has been logged"
)
TOO_LONG = gettext_noop("computing the summary took too long")


def refresh(
    case_id: Any,
    *,
    transient: tuple[type[BaseException], ...] = (),
    too_long: tuple[type[BaseException], ...] = (),
) -> str:
    """Claim, compute and write in this process (the task's body; CELERY_TASK_ALWAYS_EAGER
    calls it after the commit). An error in `transient` gives the row back and is raised
    for the caller to retry; any other marks the row failed at this head."""
    got = claim(case_id)
    if got is None:
        return "not claimed"
    try:
        figures = compute(got)
    except transient:
        release(got)
        raise
    except too_long:
        fail(got, TOO_LONG)
        return "failed"
    except Exception:
        # A bug or unreadable data: computing again would fail the same way. The details go
        # to the log, not to the page.
        log.exception("conduct panel of case %s failed", case_id)
        fail(got, INTERNAL_ERROR)
        return "failed"
    written = finish(got, figures)
    ask_again_if_moved(got)
    return "ready" if written else "superseded"


def record_erased(*, case: Case, redaction: Entry) -> None:
    """In the erasure's transaction: the panel may hold the erased record's number or words,
    so its figures go at once (the page says the analysis is being prepared) and no
    computation over the chain before the erasure may write them back. The redaction is an
    append: its commit asks for the next computation."""
    CaseConduct.objects.filter(case=case).update(figures=None, floor_seq=redaction.seq)


def sweep() -> int:
    """Ask again for the cases whose panel is behind their head (or missing), that did not
    fail at that head and that no live worker holds; how many were sent."""
    now = timezone.now()
    free = Q(conduct__lease_until__isnull=True) | Q(conduct__lease_until__lt=now)
    not_failed_here = Q(conduct__failed_seq__isnull=True) | Q(conduct__failed_seq__lt=F("head_seq"))
    behind = Case.objects.filter(head_seq__gt=0).filter(
        Q(conduct__isnull=True) | (Q(conduct__seq__lt=F("head_seq")) & free & not_failed_here)
    )
    ids = list(behind.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    return sum(1 for case_id in ids if request_refresh(case_id))
