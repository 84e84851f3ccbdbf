"""Verification of a case as stored: its chain rebuilt from the database, every evidence file
re-hashed from storage, and every checkpoint this instance issued checked against the chain.

The case badge: the chain's verification report, cached. Page views check the chain's
hashes and signed checkpoints (fast: no file is read) and cache the result for a few
minutes per head; a full check that re-hashes every evidence file runs only when the owner
asks, and its result is remembered with the time it ran."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from locker.core import chain
from locker.infra import signing
from locker.infra.storage import MasterKeyMissing, StoredFileUnreadable, rehash_stored
from locker.models import Case, Checkpoint, Entry, EvidenceFile


def _lines(case: Case, hashes: dict[int, str], after_seq: int = 0) -> Iterator[dict[str, Any]]:
    rows = Entry.objects.filter(case=case, seq__gt=after_seq).order_by("seq")
    for entry in rows.iterator(chunk_size=500):
        hashes[entry.seq] = entry.hash
        yield entry.as_line()


def verify_case(case: Case, *, rehash_files: bool = True) -> chain.ChainReport:
    """The chain report for a stored case: ok, or the first bad seq and the reason. Every
    entry is read and hashed again: the full verification (verify_chain, the API's verify,
    the owner's "Check everything now"). A failure forgets the badge's verified head, so
    that the badge checks the whole chain again from then on."""
    head_at: dict[int, str] = {}
    report = chain.verify_lines(_lines(case, head_at), case_id=str(case.id))
    if report.ok and rehash_files:
        problem = _check_evidence(case)
        if problem is not None:
            seq, reason = problem
            report = chain.ChainReport(False, report.length, report.head, seq, reason)
    if report.ok:
        report = _check_checkpoints(case, report, head_at, after_seq=0)
    if not report.ok:
        # The badge forgets what it verified: from now on it checks the whole chain again
        # (and finds this), instead of only what is appended.
        cache.delete_many([_verified_key(case), _key(case, "quick", chain_head(case))])
    return report


def _check_checkpoints(
    case: Case, report: chain.ChainReport, head_at: dict[int, str], *, after_seq: int
) -> chain.ChainReport:
    """Every checkpoint the instance signed beyond `after_seq` against the heads read."""
    checkpoints = (
        Checkpoint.objects.filter(case=case, length__gt=after_seq)
        .order_by("length", "signed_at")
        .only("length", "head")
    )
    # The whole chain's checkpoints through a cursor; the few beyond a badge's head at once.
    rows = checkpoints.iterator(chunk_size=1000) if after_seq == 0 else list(checkpoints)
    for checkpoint in rows:
        if checkpoint.length > report.length:
            return chain.ChainReport(
                False,
                report.length,
                report.head,
                report.length + 1,
                f"a signed checkpoint covers {checkpoint.length} entries but the chain has "
                f"only {report.length}: entries were removed from the end",
            )
        if head_at.get(checkpoint.length) != checkpoint.head:
            return chain.ChainReport(
                False,
                report.length,
                report.head,
                checkpoint.length,
                "the entry differs from the one a signed checkpoint covered",
            )
    return report


@dataclass(frozen=True)
class CheckpointSigners:
    """Who signed a case's stored checkpoints: how many by this instance's current key, by
    a former one, by a key it does not know; and the first whose signature does not verify."""

    counts: dict[str, int]
    bad_signature_length: int | None = None


def checkpoint_signers(case: Case) -> CheckpointSigners:
    """Every checkpoint the instance stored for the case, its signature checked again and
    its signer placed (signing.check_signer). After a key rotation the older checkpoints
    are the former key's and still verify."""
    counts = {"current": 0, "former": 0, "unknown": 0}
    by_certificate: dict[str, signing.SignerStatus] = {}
    bad = None
    rows = Checkpoint.objects.filter(case=case).only("length", "document")
    for checkpoint in rows.order_by("length", "signed_at").iterator(chunk_size=500):
        try:
            certificate = chain.verify_checkpoint(checkpoint.document)
        except chain.FormatError:
            if bad is None:
                bad = checkpoint.length
            continue
        pem = str(checkpoint.document["certificate"])
        if pem not in by_certificate:
            by_certificate[pem] = signing.signer_status(certificate)
        counts[by_certificate[pem]] += 1
    return CheckpointSigners(counts, bad)


def _check_evidence(case: Case) -> tuple[int, str] | None:
    files = {f.sha256: f for f in EvidenceFile.objects.filter(case=case)}
    checked: dict[str, str | None] = {}
    for entry in Entry.objects.filter(case=case).exclude(evidence=[]).order_by("seq"):
        for item in entry.evidence:
            sha = item["sha256"]
            if sha not in checked:
                checked[sha] = _evidence_problem(files.get(sha), item)
            if checked[sha]:
                return entry.seq, f"evidence {item['name']}: {checked[sha]}"
    return None


def _evidence_problem(stored: EvidenceFile | None, item: dict[str, Any]) -> str | None:
    if stored is None:
        return "no stored file has this hash"
    try:
        digest, size = rehash_stored(stored.storage_name)
    except MasterKeyMissing:
        return "the stored file is encrypted under a master key that is not configured"
    except StoredFileUnreadable:
        return "the stored file fails its integrity check: its encrypted bytes were changed"
    except OSError as exc:
        return f"the stored file cannot be read ({exc.__class__.__name__})"
    if digest != item["sha256"] or size != item["size"]:
        return "the stored file's bytes no longer match the recorded SHA-256"
    return None


def chain_head(case: Case) -> tuple[int, str]:
    """(length, head hash) of the case's chain; (0, the genesis prev) while it is empty."""
    head = Entry.objects.filter(case=case).order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, chain.GENESIS_PREV)


QUICK_TTL_S = 300
FULL_TTL_S = 7 * 24 * 3600
# How long the badge's last verified head is remembered: once it is forgotten (or the
# cache was cleared), the next badge checks the whole chain again.
VERIFIED_TTL_S = 7 * 24 * 3600
BATCH = 2000


@dataclass(frozen=True)
class Badge:
    report: chain.ChainReport
    full_checked_at: datetime | None  # when the evidence files were last re-hashed, if ever


def _key(case: Case, kind: str, head: tuple[int, str]) -> str:
    return f"chain:{kind}:{case.pk}:{head[0]}:{head[1]}"


def _load(value: object) -> chain.ChainReport | None:
    if isinstance(value, dict) and "report" in value:
        return chain.ChainReport(**value["report"])
    return None


def _verified_key(case: Case) -> str:
    return f"chain:verified:{case.pk}"


def _rows_from(case: Case, seq: int) -> Iterator[Entry]:
    """The case's rows from `seq` on, in batches by seq (plain queries: no server-side
    cursor, whose round trips cost more than the few rows a badge usually reads)."""
    while True:
        batch = list(Entry.objects.filter(case=case, seq__gte=seq).order_by("seq")[:BATCH])
        yield from batch
        if len(batch) < BATCH:
            return
        seq = batch[-1].seq + 1


def _verify_since_last(case: Case) -> chain.ChainReport | None:
    """The badge's check: only the entries appended since the head it last verified, their
    links from that head, and the checkpoints beyond it. None when there is no verified head
    or it no longer stands (its row is gone or holds another hash): then the whole chain."""
    verified = cache.get(_verified_key(case))
    if not isinstance(verified, dict):
        return None
    seq, hash_ = verified.get("seq"), verified.get("hash")
    if not isinstance(seq, int) or seq < 1 or not isinstance(hash_, str):
        return None
    # The verified row and those after it in one query: O(new entries), not O(chain).
    rows = _rows_from(case, seq)
    first = next(rows, None)
    if first is None or first.seq != seq or first.hash != hash_:
        return None
    head_at: dict[int, str] = {seq: hash_}

    def lines() -> Iterator[dict[str, Any]]:
        for entry in rows:
            head_at[entry.seq] = entry.hash
            yield entry.as_line()

    report = chain.verify_lines(
        lines(), case_id=str(case.id), after=(seq, hash_, first.recorded_at)
    )
    if not report.ok:
        return report
    return _check_checkpoints(case, report, head_at, after_seq=seq)


def _quick_check(case: Case) -> chain.ChainReport:
    report = _verify_since_last(case)
    if report is None:
        report = verify_case(case, rehash_files=False)
    if report.ok:
        cache.set(_verified_key(case), {"seq": report.length, "hash": report.head}, VERIFIED_TTL_S)
    return report


def case_badge(case: Case, *, head: tuple[int, str] | None = None) -> Badge:
    """The badge of the case's pages. What it checks, and what only the full verification
    does, is in docs/scale.md ("Pages"): in short, each new head is checked from the last
    verified one (the new entries' hashes and links, the checkpoints beyond), so a page
    after an append reads the new entries only; an older row changed behind the app's back
    is found by verify_case (verify_chain, the API's verify, the owner's full check), which
    then makes the badge check the whole chain again."""
    head = head or chain_head(case)
    full = cache.get(_key(case, "full", head))
    full_report = _load(full)
    quick_report = _load(cache.get(_key(case, "quick", head)))
    if quick_report is None:
        quick_report = _quick_check(case)
        cache.set(_key(case, "quick", head), {"report": asdict(quick_report)}, QUICK_TTL_S)
    # A failed full check stays on the badge until the chain grows past it.
    if full_report is not None and not full_report.ok and quick_report.ok:
        return Badge(full_report, full["at"])  # type: ignore[index]
    return Badge(quick_report, full["at"] if full_report is not None else None)  # type: ignore[index]


def full_check(case: Case) -> Badge:
    head = chain_head(case)
    report = verify_case(case, rehash_files=True)
    if report.ok:
        cache.set(_verified_key(case), {"seq": report.length, "hash": report.head}, VERIFIED_TTL_S)
    now = timezone.now()
    cache.set(_key(case, "full", head), {"report": asdict(report), "at": now}, FULL_TTL_S)
    cache.set(_key(case, "quick", head), {"report": asdict(report)}, QUICK_TTL_S)
    return Badge(report, now)
