"""Removing orphan evidence files (see locker/selectors/orphans.py), only when asked and only
when they are older than a grace period: a younger one may be an upload whose entry is about
to be committed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from locker.infra.storage import evidence_storage
from locker.models import Case
from locker.selectors.orphans import (
    EVIDENCE_ROOT,
    OrphanFile,
    forget_orphan_count,
    is_named,
    iter_orphans,
)

# Shorter than this, a slow upload's file could be taken before its entry names it.
MIN_GRACE = timedelta(hours=1)


def _case_id(storage_name: str) -> uuid.UUID | None:
    parts = storage_name.split("/")
    if len(parts) < 3 or parts[0] != EVIDENCE_ROOT:
        return None
    try:
        return uuid.UUID(parts[1])
    except ValueError:
        return None


def delete_orphans(*, older_than: timedelta, now: datetime | None = None) -> list[OrphanFile]:
    """Remove the orphans last modified more than `older_than` ago; returns those removed.
    Refuses (ValueError) a grace shorter than MIN_GRACE. Each file is checked again just
    before it goes, under its case's row lock (the lock appends take), so a file that an
    entry came to name meanwhile stays."""
    if older_than < MIN_GRACE:
        raise ValueError(f"the grace period must be at least {MIN_GRACE}")
    now = now or timezone.now()
    storage = evidence_storage()
    removed = []
    for orphan in list(iter_orphans(grace=older_than, now=now)):
        if orphan.age(now) < older_than:
            continue
        case_id = _case_id(orphan.name)
        with transaction.atomic():
            if case_id is not None:
                list(Case.objects.select_for_update().filter(pk=case_id).values_list("pk"))
            if is_named(orphan.name):
                continue
            try:
                if storage.get_modified_time(orphan.name) != orphan.modified_at:
                    continue  # written again since it was listed: an upload is using it
            except FileNotFoundError:
                continue
            storage.delete(orphan.name)
        removed.append(orphan)
    forget_orphan_count()
    return removed
