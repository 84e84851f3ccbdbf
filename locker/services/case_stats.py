"""The case page's figures kept up to date (locker.core.stats.Tally: its head part in a
CaseStats row, its counts in CaseStatsCount rows): folded in on every append, in the
append's transaction under the case's lock, and taken out again when an entry's content is
erased. A missing or out-of-date row (a case made
before the row existed, an entry stored by another path, a new viewer's time zone) is
rebuilt from the entries with the full computation. See docs/scale.md, "Pages"."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from locker.core import chain, stats
from locker.infra import queue
from locker.models import Case, CaseStats, CaseStatsCount, Entry
from locker.selectors.cases import full_summary, stored_summary
from locker.selectors.chain import chain_head, inline_verify_max_entries

# The kinds that are no event of the figures (stats.effective_events leaves them out).
NOT_EVENTS = ("correction", "case_update")
# Zones kept per case: the owner's and a few readers'. A view in yet another zone is
# computed in full without being kept.
MAX_ZONES = 6

_EVENT_FIELDS = ("seq", "kind", "body", "occurred_at", "recorded_at", "erased_at")


def _effective(target: Entry, corrections: list[Entry]) -> stats.Event | None:
    """The event `target` is in the figures, with these corrections applied; None when it
    is none (erased, or a kind that is no event)."""
    if target.is_erased or target.kind in NOT_EVENTS:
        return None
    events = stats.effective_events([target, *corrections], UTC)
    return events[0] if events else None


def _corrections(case: Case, seq: int, *, before: int | None = None) -> list[Entry]:
    rows = Entry.objects.filter(
        case=case, kind="correction", body__corrects_seq=seq, erased_at__isnull=True
    )
    if before is not None:
        rows = rows.filter(seq__lt=before)
    return list(rows.only(*_EVENT_FIELDS).order_by("seq"))


@dataclass(frozen=True)
class Folded:
    """An append folded into the case's figures, to be written with it: the figures row's
    new head part (small) and the changes to its counts (a few keys)."""

    seq: int
    head: str
    tally: dict[str, Any]
    deltas: dict[str, int]


def stored_tally(case: Case, row: CaseStats) -> stats.Tally:
    """The whole tally kept for the case: its row's head part and its counts."""
    counts = CaseStatsCount.objects.filter(case_id=case.pk).values_list("key", "count")
    return stats.Tally.from_parts(row.tally, counts)


def _save_whole(case: Case, tally: stats.Tally, seq: int, head: str) -> None:
    """The case's figures written anew: its row and every count (an erasure, a rebuild)."""
    CaseStats.objects.update_or_create(
        case=case, defaults={"seq": seq, "head": head, "tally": tally.head_part()}
    )
    CaseStatsCount.objects.filter(case_id=case.pk).delete()
    CaseStatsCount.objects.bulk_create(
        CaseStatsCount(case_id=case.pk, key=key, count=count)
        for key, count in tally.counts().items()
    )


def fold_appended(*, case: Case, entry: Entry, seq: int, tally: dict[str, Any]) -> Folded | None:
    """A just-appended entry folded into the figures row read under the case's lock (its
    `seq` and head part `tally`), not saved; None when the row does not cover exactly the
    entries before `entry` (it is left for a rebuild when next read). Reads none of the
    counts: the changes to them are returned, to be added (Tally.for_folding). Not for seq
    1 (record_appended makes the row then). The PostgreSQL append reads the row with its
    lock and writes the result in its one statement (services/entries.py)."""
    if seq != entry.seq - 1:
        return None
    folding = stats.Tally.for_folding(tally)
    if entry.kind == "correction":
        target = (
            Entry.objects.filter(case=case, seq=entry.body.get("corrects_seq"))
            .order_by("seq")
            .first()
        )
        if target is not None:
            before = _corrections(case, target.seq, before=entry.seq)
            old = _effective(target, before)
            new = _effective(target, [*before, entry])
            folding.replace(old, new)
    else:
        folding.replace(None, _effective(entry, []))
    assert folding.deltas is not None
    deltas = {key: step for key, step in folding.deltas.items() if step}
    return Folded(entry.seq, entry.hash, folding.head_part(), deltas)


def add_counts(case: Case, deltas: dict[str, int]) -> None:
    """The changes of a fold added to the case's counts (the ORM's way; the PostgreSQL
    append adds them in its one statement), and counts that fell to zero deleted."""
    for key, step in deltas.items():
        changed = CaseStatsCount.objects.filter(case_id=case.pk, key=key).update(
            count=F("count") + step
        )
        if not changed:
            CaseStatsCount.objects.create(case_id=case.pk, key=key, count=step)
    drop_spent_counts(case, deltas)


def drop_spent_counts(case: Case, deltas: dict[str, int]) -> None:
    """Counts a fold took down to zero are deleted (a corrected number leaves no row)."""
    lowered = [key for key, step in deltas.items() if step < 0]
    if lowered:
        CaseStatsCount.objects.filter(case_id=case.pk, key__in=lowered, count__lte=0).delete()


def record_appended(*, case: Case, entry: Entry) -> None:
    """Fold a just-appended entry into the case's figures. Called by the append path inside
    its transaction, with the case row locked."""
    if entry.seq == 1:
        tally = stats.Tally()
        tally.replace(None, _effective(entry, []))
        _save_whole(case, tally, 1, entry.hash)
        return
    current = CaseStats.objects.filter(case_id=case.pk).first()
    if current is None:
        return
    folded = fold_appended(case=case, entry=entry, seq=current.seq, tally=current.tally)
    if folded is not None:
        current.tally, current.seq, current.head = folded.tally, folded.seq, folded.head
        current.save(update_fields=["tally", "seq", "head"])
        add_counts(case, folded.deltas)


def record_erased(*, case: Case, entry: Entry, redaction: Entry) -> None:
    """Take an entry whose content was just erased out of the figures. `entry` is the row as
    it was before the erasure (its body still there); `redaction` the entry recording it,
    already folded in. Same transaction and lock as the erasure. The figures are written
    whole, so that no count of the erased content is left."""
    row = CaseStats.objects.filter(case_id=case.pk).first()
    if row is None or row.seq != redaction.seq:
        return
    tally = stored_tally(case, row)
    if entry.kind == "correction":
        target = (
            Entry.objects.filter(case=case, seq=entry.body.get("corrects_seq"))
            .order_by("seq")
            .first()
        )
        if target is None:
            return
        after = _corrections(case, target.seq)
        with_it = sorted([*after, entry], key=lambda e: e.seq)
        tally.replace(_effective(target, with_it), _effective(target, after))
    else:
        tally.replace(_effective(entry, _corrections(case, entry.seq)), None)
    _save_whole(case, tally, redaction.seq, redaction.hash)


def full_tally(case: Case, zone_keys: list[str]) -> tuple[stats.Tally, int, str]:
    """The tally computed from every entry (the same reading as summarise), with the head
    it covers."""
    rows = Entry.objects.filter(case=case, erased_at__isnull=True).only(*_EVENT_FIELDS)
    entries = list(rows.iterator(chunk_size=2000))
    events = stats.effective_events(entries, UTC)
    head = Entry.objects.filter(case=case).order_by("-seq").values_list("seq", "hash").first()
    seq, hash_ = head if head else (0, chain.GENESIS_PREV)
    return stats.Tally.build(events, zone_keys), seq, hash_


def rebuild_case_stats(*, case: Case, tz: tzinfo) -> stats.Tally:
    """Recompute the case's row from its entries, keeping figures for `tz` beside the zones
    it kept already (up to MAX_ZONES), under the case's lock so that no append is missed."""
    key = stats.zone_key(tz)
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()
        row = CaseStats.objects.filter(case_id=case.pk).first()
        zones = list(row.tally.get("zones", {})) if row is not None else []
        keep = key is not None and (key in zones or len(zones) < MAX_ZONES)
        if key is not None and key not in zones:
            zones.append(key)
        tally, seq, head = full_tally(case, zones)
        if keep:
            _save_whole(case, tally, seq, head)
    return tally


def current_summary(
    *, case: Case, tz: tzinfo, head: tuple[int, str], inline: bool = True
) -> stats.Summary | None:
    """The case's figures in `tz` at chain head `head`: read from its row, rebuilt first
    when the row is missing, behind the head, or lacks the zone. With `inline` False (the
    case page), a chain longer than LOCKER_INLINE_VERIFY_MAX_ENTRIES is not rebuilt here:
    the worker is asked to (request_rebuild) and None says the figures are being prepared."""
    summary = stored_summary(case, tz, head)
    if summary is not None:
        return summary
    key = stats.zone_key(tz)
    if key is None:
        # A zone the row cannot keep: only the full computation gives its figures.
        return full_summary(case, tz)
    if (
        not inline
        and not settings.CELERY_TASK_ALWAYS_EAGER
        and head[0] > inline_verify_max_entries()
    ):
        request_rebuild(case, key)
        return None
    return rebuild_case_stats(case=case, tz=tz).summary(key)


# How long the "the worker rebuilds these figures" key lives: a lost message is sent again
# by the next view once it is gone.
REBUILD_QUEUED_S = 300


def _rebuild_queued_key(case_id: object, zone: str) -> str:
    return f"stats:rebuilding:{case_id}:{zone}"


def request_rebuild(case: Case, zone: str) -> None:
    """Ask the worker to rebuild the case's figures row in `zone`, unless it was asked
    already (one cache.add per case and zone: a run of page views queues one rebuild); sent
    once the surrounding transaction commits."""
    key = _rebuild_queued_key(case.pk, zone)
    if not cache.add(key, 1, timeout=REBUILD_QUEUED_S):
        return
    case_id = case.pk

    def send() -> None:
        if not queue.enqueue_case_stats(case_id, zone):
            cache.delete(key)  # the broker is away: the next view asks again

    transaction.on_commit(send, robust=True)


def rebuild_in_worker(case_id: str, zone: str) -> str:
    """The worker's rebuild of a case's figures in `zone` (an IANA key). Idempotent: a row
    that covers the chain's head in that zone is left as it is ("current"); else rebuilt
    under the case's lock ("rebuilt"); "gone" when the case was deleted, "bad zone" for a
    key that names no zone."""
    try:
        case = Case.objects.filter(pk=case_id).first()
        if case is None:
            return "gone"
        try:
            tz = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return "bad zone"
        if stored_summary(case, tz, chain_head(case)) is not None:
            return "current"
        rebuild_case_stats(case=case, tz=tz)
        return "rebuilt"
    finally:
        cache.delete(_rebuild_queued_key(case_id, zone))
