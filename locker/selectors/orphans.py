"""Evidence files no EvidenceFile row names ("orphans"). Files are stored before their entry
is committed, so a failure in between leaves a file nothing names; an upload in progress
shows the same for a moment. Only evidence/ is looked at: dossiers/ and derived/ in the same
storage are named otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.files.storage import Storage
from django.utils import timezone

from locker.infra.storage import evidence_storage
from locker.models import EvidenceFile

EVIDENCE_ROOT = "evidence"
# locker/infra/storage.py writes under this prefix, then renames to the content address.
INCOMING_PREFIX = ".incoming-"
DEFAULT_GRACE = timedelta(hours=24)
# readyz: the count is kept this long per process, and the scan stops after this many files.
COUNT_MAX_AGE_S = 300.0
COUNT_SCAN_LIMIT = 20_000


@dataclass(frozen=True)
class OrphanFile:
    name: str
    size: int
    modified_at: datetime

    def age(self, now: datetime) -> timedelta:
        return now - self.modified_at

    @property
    def incoming(self) -> bool:
        return self.name.rsplit("/", 1)[-1].startswith(INCOMING_PREFIX)


def _walk(storage: Storage, directory: str) -> Iterator[str]:
    directories, files = storage.listdir(directory)
    for file_name in sorted(files):
        yield f"{directory}/{file_name}"
    for sub in sorted(directories):
        yield from _walk(storage, f"{directory}/{sub}")


def _case_directories(storage: Storage) -> list[str]:
    # No exists() check: an object store has no directories, only names with a prefix.
    try:
        directories, _files = storage.listdir(EVIDENCE_ROOT)
    except FileNotFoundError:
        return []
    return [f"{EVIDENCE_ROOT}/{name}" for name in sorted(directories)]


def is_named(storage_name: str) -> bool:
    return EvidenceFile.objects.filter(storage_name=storage_name).exists()


def _scan(storage: Storage, *, grace: timedelta, now: datetime) -> Iterator[OrphanFile | None]:
    """One item per stored file: the orphan, or None for a file that is named or in flight."""
    # One case directory at a time: the names its rows give are read in one query.
    for directory in _case_directories(storage):
        named = set(
            EvidenceFile.objects.filter(storage_name__startswith=directory + "/").values_list(
                "storage_name", flat=True
            )
        )
        for name in _walk(storage, directory):
            if name in named:
                yield None
                continue
            try:
                orphan = OrphanFile(
                    name=name, size=storage.size(name), modified_at=storage.get_modified_time(name)
                )
            except FileNotFoundError:
                yield None  # renamed or removed while we looked
                continue
            yield None if orphan.incoming and orphan.age(now) < grace else orphan


def iter_orphans(
    *, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None
) -> Iterator[OrphanFile]:
    """Files under evidence/ that no EvidenceFile names, with size and modification time.
    Temporary `.incoming-*` files younger than `grace` are writes in flight and left out;
    older ones are leftovers of a write that died, and are orphans."""
    scan = _scan(evidence_storage(), grace=grace, now=now or timezone.now())
    return (orphan for orphan in scan if orphan is not None)


def count_orphans(*, scan_limit: int = COUNT_SCAN_LIMIT) -> tuple[int, bool]:
    """(orphans among the first `scan_limit` stored files, whether that was every file)."""
    found = 0
    scan = _scan(evidence_storage(), grace=DEFAULT_GRACE, now=timezone.now())
    for scanned, orphan in enumerate(scan):
        if scanned >= scan_limit:
            return found, False
        found += orphan is not None
    return found, True


_count_lock = threading.Lock()
# (time.monotonic() when counted, count, complete)
_cached_count: tuple[float, int, bool] | None = None


def orphan_count(*, max_age_s: float = COUNT_MAX_AGE_S) -> tuple[int, bool]:
    """count_orphans(), at most `max_age_s` old. Kept per process, not in the cache: the
    count must not depend on Redis being up. While one request counts, the others get the
    previous count rather than scanning too (only the very first ones wait)."""
    global _cached_count
    cached = _cached_count
    if cached is not None and time.monotonic() - cached[0] < max_age_s:
        return cached[1], cached[2]
    if cached is not None and not _count_lock.acquire(blocking=False):
        return cached[1], cached[2]
    if cached is None:
        _count_lock.acquire()
        cached = _cached_count  # counted by another request while this one waited
        if cached is not None:
            _count_lock.release()
            return cached[1], cached[2]
    try:
        found, complete = count_orphans()
        _cached_count = (time.monotonic(), found, complete)
        return found, complete
    finally:
        _count_lock.release()


def forget_orphan_count() -> None:
    """Drop the cached count (after removing orphans, and in tests)."""
    global _cached_count
    _cached_count = None
