"""Verification of a case as stored: its chain rebuilt from the database, every evidence file
re-hashed from storage, and every checkpoint this instance issued checked against the chain.

The case badge: the chain's verification report, cached. Page views check the chain's
hashes and signed checkpoints (fast: no file is read) and cache the result for a few
minutes per head; a full check that re-hashes every evidence file runs only when the owner
asks, and its result is remembered with the time it ran. A long chain that no page has
verified lately (LOCKER_INLINE_VERIFY_MAX_ENTRIES) is checked by the worker, not the page."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from locker.core import chain
from locker.infra import queue, signing
from locker.infra.storage import MasterKeyMissing, StoredFileUnreadable, rehash_stored
from locker.models import Case, Checkpoint, Entry, EvidenceFile

# What verification reads of each entry row: the columns of the spec's entry and whether the
# content was erased. Rows come as tuples, not models, through a server-side cursor on
# PostgreSQL (chunks of CHUNK rows elsewhere): memory stays the same whatever the length.
_COLUMNS = (
    "seq",
    "prev",
    "hash",
    "kind",
    "recorded_at",
    "occurred_at",
    "author",
    "body_text",
    "evidence_text",
    "erased_at",
)
CHUNK = 2000


def _links(
    case: Case, first_use: dict[str, tuple[int, dict[str, Any]]] | None
) -> Iterator[tuple[chain.Link, Mapping[str, Any] | None]]:
    """The stored chain's links in seq order; each entry (unless erased) rebuilt as the
    spec's object, checked (its shape, that it hashes to its stored hash) as an exported
    line would be. `first_use` collects where each evidence file is first named."""
    case_id = str(case.pk)
    fmt = chain.format_timestamp
    # body and evidence as their JSON text, decoded by chain.loads_checked, which refuses
    # what the canonical form cannot carry while it decodes: the stored entry then needs
    # no second walk over its values (check_json_value), the costliest part of the check.
    rows = (
        Entry.objects.filter(case=case)
        .order_by("seq")
        .annotate(body_text=Cast("body", TextField()), evidence_text=Cast("evidence", TextField()))
        .values_list(*_COLUMNS)
    )
    for row in rows.iterator(chunk_size=CHUNK):
        seq, prev, digest, kind, recorded_at, occurred_at, author, body, evidence, erased = row
        if erased is not None:
            # An omitted line (the export's too): its links only, no content to check.
            yield chain.Link(seq, prev, digest, None), None
            continue
        try:
            body = chain.loads_checked(body)
            evidence = chain.loads_checked(evidence)
        except chain.FormatError as exc:
            raise chain.BadLine(str(exc)) from exc
        entry = {
            "v": chain.VERSION,
            "case": case_id,
            "seq": seq,
            "prev": prev,
            "kind": kind,
            "recorded_at": fmt(recorded_at),
            "occurred_at": fmt(occurred_at) if occurred_at is not None else None,
            "author": author,
            "body": body,
            "evidence": evidence,
        }
        try:
            yield chain.link_of_entry(entry, digest, recorded_at, stored=True)
        except chain.FormatError as exc:
            raise chain.BadLine(str(exc)) from exc
        if first_use is not None:
            for item in evidence:
                first_use.setdefault(item["sha256"], (seq, item))


def verify_case(case: Case, *, rehash_files: bool = True) -> chain.ChainReport:
    """The chain report for a stored case: ok, or the first bad seq and the reason. Every
    entry is read and hashed again: the full verification (verify_chain, the API's verify,
    the owner's "Check everything now"). A failure forgets the badge's verified head, so
    that the badge checks the whole chain again from then on."""
    report = _verify_stored(case, rehash_files=rehash_files)
    if not report.ok:
        # The badge forgets what it verified: from now on it checks the whole chain again
        # (and finds this), instead of only what is appended.
        cache.delete_many([_verified_key(case), _key(case, "quick", chain_head(case))])
    return report


def _verify_stored(case: Case, *, rehash_files: bool) -> chain.ChainReport:
    """One pass over the entries, streamed; then, if asked, each evidence file re-hashed once
    (where it is first named); then every checkpoint this instance issued for the case
    compared with the chain, in the database (one query)."""
    first_use: dict[str, tuple[int, dict[str, Any]]] | None = {} if rehash_files else None
    report = chain.verify_links(_links(case, first_use), case_id=str(case.pk))
    if not report.ok:
        return report
    if first_use:
        problem = _check_evidence(case, first_use)
        if problem is not None:
            seq, reason = problem
            return chain.ChainReport(False, report.length, report.head, seq, reason)
    # The first checkpoint (by length, then time) whose head is not the stored entry at its
    # length. The chain pass above found every stored hash to be its entry's, so comparing
    # with the stored hash column is comparing with the chain.
    same_head = Entry.objects.filter(case=case, seq=OuterRef("length"), hash=OuterRef("head"))
    bad = (
        Checkpoint.objects.filter(case=case)
        .exclude(Exists(same_head))
        .order_by("length", "signed_at")
        .values_list("length", flat=True)
        .first()
    )
    return report if bad is None else _checkpoint_failure(report, bad)


def _checkpoint_failure(report: chain.ChainReport, length: int) -> chain.ChainReport:
    """The report when the signed checkpoint covering `length` entries does not match."""
    if length > report.length:
        return chain.ChainReport(
            False,
            report.length,
            report.head,
            report.length + 1,
            f"a signed checkpoint covers {length} entries but the chain has "
            f"only {report.length}: entries were removed from the end",
        )
    return chain.ChainReport(
        False,
        report.length,
        report.head,
        length,
        "the entry differs from the one a signed checkpoint covered",
    )


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
    rows = Checkpoint.objects.filter(case=case)
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


def _check_evidence(
    case: Case, first_use: dict[str, tuple[int, dict[str, Any]]]
) -> tuple[int, str] | None:
    """Each evidence file re-hashed once, in the order the chain first names them; the first
    that fails, at the entry that first named it."""
    files = {f.sha256: f for f in EvidenceFile.objects.filter(case=case)}
    for sha, (seq, item) in sorted(first_use.items(), key=lambda pair: pair[1][0]):
        problem = _evidence_problem(files.get(sha), item)
        if problem:
            return seq, f"evidence {item['name']}: {problem}"
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


def with_chain_head(cases: QuerySet[Case]) -> QuerySet[Case]:
    """`cases`, each read with its chain's head as chain_head reads it (the entry with the
    highest seq: not the head kept on the case row, so that rows cut from the end show at
    once), in the same statement: one round trip less for a page that shows the badge."""
    last = Entry.objects.filter(case=OuterRef("pk")).order_by("-seq")
    return cases.annotate(
        stored_head_seq=Subquery(last.values("seq")[:1]),
        stored_head_hash=Subquery(last.values("hash")[:1]),
    )


def chain_head(case: Case) -> tuple[int, str]:
    """(length, head hash) of the case's chain; (0, the genesis prev) while it is empty.
    Read with the case when it was fetched through with_chain_head."""
    if "stored_head_seq" in case.__dict__:
        seq, hash_ = case.__dict__["stored_head_seq"], case.__dict__["stored_head_hash"]
        return (seq, hash_) if seq is not None else (0, chain.GENESIS_PREV)
    head = Entry.objects.filter(case=case).order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, chain.GENESIS_PREV)


QUICK_TTL_S = 300
FULL_TTL_S = 7 * 24 * 3600
# How long the badge's last verified head is remembered: once it is forgotten (or the
# cache was cleared), the next badge checks the whole chain again.
VERIFIED_TTL_S = 7 * 24 * 3600
BATCH = 2000


# How long the "the worker checks this chain" key lives: a message the broker lost is sent
# again by the next view once it is gone.
CHECK_QUEUED_S = 300


@dataclass(frozen=True)
class Badge:
    report: chain.ChainReport
    full_checked_at: datetime | None  # when the evidence files were last re-hashed, if ever
    # The whole chain is being checked by the worker (a long chain with no verified head in
    # the cache): neither verified nor broken yet. `report` then says ok=False with no bad
    # seq; read `checking` first.
    checking: bool = False


def _key(case: Case, kind: str, head: tuple[int, str]) -> str:
    return f"chain:{kind}:{case.pk}:{head[0]}:{head[1]}"


def _load(value: object) -> chain.ChainReport | None:
    if isinstance(value, dict) and "report" in value:
        return chain.ChainReport(**value["report"])
    return None


def _verified_key(case: Case) -> str:
    return f"chain:verified:{case.pk}"


def _rows_from(case: Case, seq: int) -> tuple[int | None, Iterator[Entry]]:
    """The case's rows from `seq` on, in batches by seq (plain queries: no server-side
    cursor, whose round trips cost more than the few rows a badge usually reads); and, read
    in the first batch's statement, the length of the first checkpoint beyond `seq` (by
    length, then time) whose head is not the stored entry at its length, if any. The rows
    read are checked to hash to their stored hash, so comparing a checkpoint with the hash
    column is comparing it with the chain (as _verify_stored does)."""
    same_head = Entry.objects.filter(case=case, seq=OuterRef("length"), hash=OuterRef("head"))
    bad_checkpoint = (
        Checkpoint.objects.filter(case=case, length__gt=seq)
        .exclude(Exists(same_head))
        .order_by("length", "signed_at")
        .values("length")[:1]
    )
    first: list[Entry] = list(
        Entry.objects.filter(case=case, seq__gte=seq)
        .annotate(bad_checkpoint=Subquery(bad_checkpoint))
        .order_by("seq")[:BATCH]
    )
    bad = first[0].bad_checkpoint if first else None  # type: ignore[attr-defined]

    def rows() -> Iterator[Entry]:
        batch, start = first, seq
        while True:
            yield from batch
            if len(batch) < BATCH:
                return
            start = batch[-1].seq + 1
            batch = list(Entry.objects.filter(case=case, seq__gte=start).order_by("seq")[:BATCH])

    return bad, rows()


def _verify_since_last(case: Case, verified: object) -> chain.ChainReport | None:
    """The badge's check: only the entries appended since the head it last verified
    (`verified`, as _quick_check keeps it), their links from that head, and the checkpoints
    beyond it, in one query when fewer than BATCH entries were appended. None when there is
    no verified head or it no longer stands (its row is gone or holds another hash): then
    the whole chain."""
    if not isinstance(verified, dict):
        return None
    seq, hash_ = verified.get("seq"), verified.get("hash")
    if not isinstance(seq, int) or seq < 1 or not isinstance(hash_, str):
        return None
    # The verified row and those after it: O(new entries), not O(chain).
    bad_checkpoint, rows = _rows_from(case, seq)
    first = next(rows, None)
    if first is None or first.seq != seq or first.hash != hash_:
        return None
    report = chain.verify_lines(
        (entry.as_line() for entry in rows),
        case_id=str(case.id),
        after=(seq, hash_, first.recorded_at),
    )
    if not report.ok or bad_checkpoint is None:
        return report
    return _checkpoint_failure(report, bad_checkpoint)


def _verified(report: chain.ChainReport) -> dict[str, Any]:
    """What the cache keeps of the badge's last good check: the head it verified and when."""
    return {"seq": report.length, "hash": report.head, "at": time.time()}


def inline_verify_max_entries() -> int:
    """The longest chain a page verifies whole while it answers (LOCKER_INLINE_VERIFY_MAX_
    ENTRIES); a longer one is checked by the worker (check_chain_in_worker)."""
    return int(settings.LOCKER_INLINE_VERIFY_MAX_ENTRIES)


def _inline_limit() -> int | None:
    # With CELERY_TASK_ALWAYS_EAGER (no worker: development, a single process) the check
    # would run in this request anyway: it runs here, and the badge says what it found.
    return None if settings.CELERY_TASK_ALWAYS_EAGER else inline_verify_max_entries()


def _check_queued_key(case: Case | str) -> str:
    return f"chain:checking:{case.pk if isinstance(case, Case) else case}"


def request_chain_check(case: Case) -> None:
    """Ask the worker to check the case's whole chain, unless it was asked already (one
    cache.add per case: a run of page views queues one check). Sent once the surrounding
    transaction commits (now, outside one)."""
    key = _check_queued_key(case)
    if not cache.add(key, 1, timeout=CHECK_QUEUED_S):
        return
    case_id = case.pk

    def send() -> None:
        if not queue.enqueue_chain_check(case_id):
            cache.delete(key)  # the broker is away: the next view asks again

    transaction.on_commit(send, robust=True)


def check_chain_in_worker(case_id: str) -> str:
    """The worker's half of a page's badge on a long chain: the check _quick_check makes
    (from the verified head if one stands, else the whole chain, no file re-hashed), its
    result stored as the inline path stores it: a good one as the verified head, a failed
    one for the head it found. "verified", "broken", or "gone" when the case was deleted."""
    try:
        case = Case.objects.filter(pk=case_id).first()
        if case is None:
            return "gone"
        head = chain_head(case)
        report, checked = _quick_check(
            case, head, cache.get(_verified_key(case)), inline_limit=None
        )
        assert report is not None  # no limit: checked here
        if checked and not report.ok:
            cache.set(_key(case, "quick", head), {"report": asdict(report)}, QUICK_TTL_S)
        return "verified" if report.ok else "broken"
    finally:
        # After the result is stored: a view in between finds the result, not a second ask.
        cache.delete(_check_queued_key(case_id))


def _quick_check(
    case: Case, head: tuple[int, str], verified: object, *, inline_limit: int | None
) -> tuple[chain.ChainReport | None, bool]:
    """The badge's report for `head`, and whether it was checked now (False: the verified
    head is `head` and was checked less than QUICK_TTL_S ago, so it stands as it is). A
    good check is kept as the verified head (one cache write), a failed one is not. None
    when the whole chain needs checking and is longer than `inline_limit` entries: the
    worker is asked to (None: no limit, the worker's own call)."""
    if (
        isinstance(verified, dict)
        and (verified.get("seq"), verified.get("hash")) == head
        and isinstance(verified.get("at"), float)
        and 0 <= time.time() - verified["at"] < QUICK_TTL_S
    ):
        return chain.ChainReport(True, head[0], head[1]), False
    report = _verify_since_last(case, verified)
    if report is None:
        if inline_limit is not None and head[0] > inline_limit:
            request_chain_check(case)
            return None, False
        report = verify_case(case, rehash_files=False)
    if report.ok:
        cache.set(_verified_key(case), _verified(report), VERIFIED_TTL_S)
    return report, True


def case_badge(case: Case, *, head: tuple[int, str] | None = None) -> Badge:
    """The badge of the case's pages. What it checks, and what only the full verification
    does, is in docs/scale.md ("Pages"): in short, each new head is checked from the last
    verified one (the new entries' hashes and links, the checkpoints beyond), so a page
    after an append reads the new entries only; an older row changed behind the app's back
    is found by verify_case (verify_chain, the API's verify, the owner's full check), which
    then makes the badge check the whole chain again. A good result stands for QUICK_TTL_S
    as the verified head itself; a failed one is cached per head for as long. One cache
    read (the three keys at once) and at most one write per view. With no verified head
    that stands (the cache cleared, forgotten, or a failed full check) and a chain longer
    than LOCKER_INLINE_VERIFY_MAX_ENTRIES, the whole chain is checked by the worker instead
    of this view, and the badge says so (`checking`)."""
    head = head or chain_head(case)
    full_key, quick_key = _key(case, "full", head), _key(case, "quick", head)
    found = cache.get_many([full_key, quick_key, _verified_key(case)])
    full = found.get(full_key)
    full_report = _load(full)
    quick_report = _load(found.get(quick_key))
    if quick_report is None:
        checked_report, checked = _quick_check(
            case, head, found.get(_verified_key(case)), inline_limit=_inline_limit()
        )
        if checked_report is None:
            # Neither green nor red: the worker checks the chain (docs/scale.md, "The badge").
            pending = chain.ChainReport(False, head[0], head[1])
            return Badge(pending, full["at"] if full_report is not None else None, checking=True)  # type: ignore[index]
        quick_report = checked_report
        if checked and not quick_report.ok:
            cache.set(quick_key, {"report": asdict(quick_report)}, QUICK_TTL_S)
    # A failed full check stays on the badge until the chain grows past it.
    if full_report is not None and not full_report.ok and quick_report.ok:
        return Badge(full_report, full["at"])  # type: ignore[index]
    return Badge(quick_report, full["at"] if full_report is not None else None)  # type: ignore[index]


def full_check(case: Case) -> Badge:
    head = chain_head(case)
    report = verify_case(case, rehash_files=True)
    if report.ok:
        cache.set(_verified_key(case), _verified(report), VERIFIED_TTL_S)
    now = timezone.now()
    cache.set(_key(case, "full", head), {"report": asdict(report), "at": now}, FULL_TTL_S)
    cache.set(_key(case, "quick", head), {"report": asdict(report)}, QUICK_TTL_S)
    return Badge(report, now)
