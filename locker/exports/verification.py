"""Verifying an export bundle (spec section 5) with nothing but its own contents, plus,
where asked, whether this instance signed its head. Dossier PDFs carry the same bundle and
are checked by locker/dossier/verify.py, which calls into this."""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from locker.core import anchors, chain
from locker.core.chain import iter_jsonl, parse_json
from locker.exports.bundle import (
    MAX_JSON_BYTES,
    MAX_JSONL_BYTES,
    MAX_MEMBERS,
    MAX_UNCOMPRESSED_BYTES,
)
from locker.infra import signing
from locker.models import Checkpoint, Entry
from locker.selectors.anchors import trusted_tsa_roots
from locker.services import TooLarge

HASH_CHUNK = 1024 * 1024


class VerificationTooCostly(TooLarge):
    """The file asks more work than one verification here may do (bytes to read, or time):
    it was not found wrong, it was not finished. The message is lazy and says what to do."""


@dataclass(frozen=True)
class WorkLimits:
    """What one verification may read (uncompressed bytes) and how long it may run. None is
    no bound (the command-line verifier). The time is checked while reading and hashing, so
    a request gives its web worker back within about one chunk's work of the limit; no
    signal or thread is involved. `clock` is injectable for tests."""

    max_bytes: int | None
    time_limit_s: float | None
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def public(cls) -> WorkLimits:
        """The bounds of /verify and POST /api/verify."""
        return cls(
            max_bytes=MAX_UNCOMPRESSED_BYTES, time_limit_s=settings.LOCKER_VERIFY_TIME_LIMIT_S
        )


UNBOUNDED = WorkLimits(max_bytes=None, time_limit_s=None)


class Work:
    """The work of one verification so far, against its limits."""

    def __init__(self, limits: WorkLimits) -> None:
        self.limits = limits
        self.bytes_read = 0
        self.deadline = (
            None if limits.time_limit_s is None else limits.clock() + limits.time_limit_s
        )

    def too_much(self) -> VerificationTooCostly:
        return VerificationTooCostly(
            format_lazy(
                gettext_lazy(
                    "this file holds more than {megabytes} MB to check, more than one "
                    "verification here reads; it was not found wrong. Check it with the "
                    "command-line verifier (manage.py verify_bundle) or by hand "
                    "(docs/chain-format.md)"
                ),
                megabytes=(self.limits.max_bytes or 0) // (1024 * 1024),
            )
        )

    def allow(self, total: int) -> None:
        """Refuse at once what would read more than the limit (sizes as the file states)."""
        if self.limits.max_bytes is not None and total > self.limits.max_bytes:
            raise self.too_much()

    def spend(self, count: int) -> None:
        """`count` more bytes really read (a ZIP's stated sizes can lie)."""
        self.bytes_read += count
        if self.limits.max_bytes is not None and self.bytes_read > self.limits.max_bytes:
            raise self.too_much()
        self.tick()

    def tick(self) -> None:
        if self.deadline is not None and self.limits.clock() > self.deadline:
            raise VerificationTooCostly(
                format_lazy(
                    gettext_lazy(
                        "checking this file took longer than the {seconds} seconds one "
                        "verification here may take, so it was stopped; it was not found "
                        "wrong. Check it with the command-line verifier (manage.py "
                        "verify_bundle) or by hand (docs/chain-format.md)"
                    ),
                    seconds=f"{self.limits.time_limit_s:g}",
                )
            )


@dataclass
class BundleReport:
    """Outcome of verifying a bundle or dossier. `ok` covers the chain, the evidence files
    present, the checkpoint and its signature, and the receipt when one was given."""

    ok: bool
    length: int = 0
    head: str = chain.GENESIS_PREV
    problem: str | None = None
    first_bad_seq: int | None = None
    case: str | None = None
    checkpoint_trusted: bool = False
    head_known: bool = False
    signer_fingerprint: str | None = None
    # The checkpoint's signer: this instance's current key, a former one, or unknown here.
    signer: signing.SignerCheck | None = None
    receipt_checked: bool = False
    notes: list[str] = field(default_factory=list)
    # Third-party time from anchors.json (None: the bundle has none, as older ones do).
    attestation: anchors.AttestationReport | None = None
    anchors_problem: str | None = None
    # The anchors.json read from the bundle or dossier (its outer shape checked; each
    # anchored receipt is for the caller to check), or None when it carries none.
    anchors: dict[str, Any] | None = None

    def fail(self, problem: str, seq: int | None = None) -> BundleReport:
        self.ok = False
        self.problem = problem
        self.first_bad_seq = seq
        return self


@dataclass
class _Seen:
    """What the checks after the chain's own need from its lines, gathered while the lines
    stream past: the cases named, the evidence listed, and the hash at the lengths asked."""

    count: int = 0
    cases: set[Any] = field(default_factory=set)
    evidence: list[tuple[int, Any, Any]] = field(default_factory=list)  # (seq, sha256, size)
    wanted: set[int] = field(default_factory=set)
    held: dict[int, Any] = field(default_factory=dict)
    # (seq, hash) of every line and the recorded_at of full entries, for attested times.
    links: list[tuple[Any, Any]] = field(default_factory=list)
    recorded: dict[Any, Any] = field(default_factory=dict)


def _observe(lines: Iterable[Any], seen: _Seen, work: Work) -> Iterator[Any]:
    # Runs before chain.verify_lines has checked each line, so nothing here may assume a shape;
    # what it gathers is used only once the whole chain has verified.
    for line in lines:
        work.tick()
        seen.count += 1
        if isinstance(line, Mapping):
            entry = line.get("entry")
            omitted = line.get("omitted")
            if isinstance(entry, Mapping):
                seen.links.append((entry.get("seq"), line.get("hash")))
                seen.recorded[entry.get("seq")] = entry.get("recorded_at")
            elif isinstance(omitted, Mapping):
                seen.links.append((omitted.get("seq"), omitted.get("hash")))
            if isinstance(entry, Mapping):
                seen.cases.add(entry.get("case"))
                for item in entry.get("evidence") or ():
                    if isinstance(item, Mapping):
                        seen.evidence.append((seen.count, item.get("sha256"), item.get("size")))
            if seen.count in seen.wanted:
                seen.held[seen.count] = (
                    line.get("hash")
                    if entry is not None
                    else omitted.get("hash")
                    if isinstance(omitted, Mapping)
                    else None
                )
        yield line


# (sha256, size stated by the entry) -> (sha256, size) of the file stored under that hash, or
# None when there is none. The stated size lets a lookup refuse a mismatch without hashing.
EvidenceLookup = Callable[[str, int], tuple[str, int] | None]


def _receipt_length(receipt: Any) -> int | None:
    body = receipt.get("checkpoint") if isinstance(receipt, Mapping) else None
    length = body.get("length") if isinstance(body, Mapping) else None
    return length if isinstance(length, int) and not isinstance(length, bool) else None


def verify_lines_and_checkpoint(
    lines: Iterable[Any],
    checkpoint_doc: Any,
    evidence_lookup: EvidenceLookup | None,
    *,
    receipt: Any = None,
    anchors_document: Any = None,
    work: Work | None = None,
) -> BundleReport:
    """Everything spec section 5 asks of a bundle, given its parts: the lines (a list, or a
    stream read once), the checkpoint document, and `evidence_lookup`, which returns (sha256,
    size) of the file stored under a hash, or None when it is absent; pass None to skip
    evidence (a dossier PDF carries no evidence files).

    In order of cost: the checkpoint's signature first, then the lines and whether the
    checkpoint covers them, and only then the evidence files, each distinct file once.
    Raises VerificationTooCostly when `work` runs out of bytes or time."""
    work = work or Work(UNBOUNDED)
    report = BundleReport(ok=True)
    seen = _Seen()
    if receipt is not None and (length := _receipt_length(receipt)) is not None:
        seen.wanted.add(length)
    try:
        certificate = chain.verify_checkpoint(checkpoint_doc)
    except chain.FormatError as exc:
        return report.fail(f"checkpoint: {exc}")
    try:
        chain_report = chain.verify_lines(_observe(lines, seen, work))
    except (chain.FormatError, zipfile.BadZipFile, OSError, RecursionError) as exc:
        return report.fail(str(exc))
    report.length, report.head = chain_report.length, chain_report.head
    if not chain_report.ok:
        return report.fail(chain_report.problem or "chain broken", chain_report.first_bad_seq)
    if len(seen.cases) > 1:
        return report.fail("entries belong to more than one case")
    report.case = next(iter(seen.cases), None)
    body = checkpoint_doc["checkpoint"]
    report.signer_fingerprint = signing.fingerprint(certificate)
    if report.case is None:
        report.case = body["case"]
    if body["case"] != report.case:
        return report.fail("checkpoint names another case")
    if body["length"] != report.length or body["head"] != report.head:
        return report.fail(
            f"checkpoint covers {body['length']} entries with head {body['head'][:12]}…, "
            f"the bundle has {report.length} ending in {report.head[:12]}…"
        )
    if evidence_lookup is not None:
        for seq, sha256, size in seen.evidence:
            found = evidence_lookup(sha256, size)
            if found is None:
                return report.fail(f"evidence file {sha256} is missing", seq)
            if found != (sha256, size):
                return report.fail(f"evidence file {sha256} does not match its hash or size", seq)
    report.signer = signing.check_signer(certificate)
    report.checkpoint_trusted = report.signer.status != "unknown"
    report.head_known = _head_known(body["case"], body["length"], body["head"])
    if receipt is not None:
        problem = check_receipt(seen.count, seen.held, receipt, report.case)
        report.receipt_checked = True
        if problem:
            return report.fail(problem)
    if anchors_document is not None:
        _attest(report, seen, anchors_document, work)
    return report


def _attest(report: BundleReport, seen: _Seen, document: Any, work: Work) -> None:
    """Attested times from anchors.json, for a chain that verified (so every link and
    recorded time below has its checked shape). A bad anchors.json is reported beside the
    chain's result: it takes nothing away from what the chain itself proves."""
    try:
        receipts = anchors.parse_anchors_document(document, case_id=report.case)
        trusted = trusted_tsa_roots()
        checks = []
        for receipt in receipts:
            work.tick()  # each anchored receipt validates time-stamp tokens: seconds of CPU
            check = anchors.check_anchored_receipt(receipt, trusted_roots=trusted)
            if check.checkpoint["case"] != report.case:
                raise anchors.AnchorFormatError("an anchored checkpoint names another case")
            checks.append(check)
    except (anchors.AnchorFormatError, chain.FormatError) as exc:
        report.anchors_problem = str(exc)
        return
    if not checks:
        return  # the file carries no third-party time: said as such, not as "not yet"
    recorded = {seq: chain.parse_timestamp(text) for seq, text in seen.recorded.items()}
    report.attestation = anchors.attest(
        links=seen.links,
        recorded=recorded,
        checks=checks,
        late_after=timedelta(seconds=settings.LOCKER_ANCHOR_LATE_S),
    )


def check_receipt(
    count: int, held: Mapping[int, Any], receipt: Any, case_id: str | None
) -> str | None:
    """None when the chain (`count` lines; `held` maps a length to the hash of that line)
    still holds the receipt's head at the receipt's length."""
    try:
        chain.verify_checkpoint(receipt)
    except chain.FormatError as exc:
        return f"receipt: {exc}"
    body = receipt["checkpoint"]
    if case_id is not None and body["case"] != case_id:
        return "the receipt is for another case"
    length = body["length"]
    if length > count:
        return (
            f"the receipt shows {length} entries but the chain now has {count}: "
            "entries were removed from the end"
        )
    if length == 0:
        return None
    if held.get(length) != body["head"]:
        return f"entry {length} is not the one the receipt was issued for: the chain was rewritten"
    return None


def _head_known(case_id: str, length: int, head: str) -> bool:
    if Checkpoint.objects.filter(case_id=case_id, length=length, head=head).exists():
        return True
    return Entry.objects.filter(case_id=case_id, seq=length, hash=head).exists()


def _counted_lines(handle: IO[bytes], work: Work) -> Iterator[bytes]:
    for line in handle:
        work.spend(len(line))
        yield line


def verify_bundle_zip(
    source: str | IO[bytes], *, receipt: Any = None, limits: WorkLimits | None = None
) -> BundleReport:
    """Verify an export bundle. `limits` bound the work (default: the public ones of /verify;
    UNBOUNDED for the command line); past them VerificationTooCostly is raised. Nothing is
    decompressed before the members' stated sizes are within the limit and their names
    distinct, and nothing is hashed before the checkpoint's signature and the chain check."""
    work = Work(limits or WorkLimits.public())
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        return BundleReport(ok=False, problem=f"not a readable ZIP file: {exc}")
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            return BundleReport(ok=False, problem="too many files in the ZIP")
        repeated = [name for name, count in Counter(i.filename for i in infos).items() if count > 1]
        if repeated:
            # Two members of one name: which one is "the" file is the reader's guess.
            return BundleReport(ok=False, problem=f"the ZIP holds {repeated[0]} more than once")
        work.allow(sum(info.file_size for info in infos))
        members = {info.filename: info for info in infos}
        for required in ("entries.jsonl", "checkpoint.json"):
            if required not in members:
                return BundleReport(ok=False, problem=f"{required} is missing")
        if members["entries.jsonl"].file_size > MAX_JSONL_BYTES:
            return BundleReport(ok=False, problem="entries.jsonl is too large")
        if members["checkpoint.json"].file_size > MAX_JSON_BYTES:
            return BundleReport(ok=False, problem="checkpoint.json is too large")
        try:
            data = archive.read("checkpoint.json")
            work.spend(len(data))
            checkpoint_doc = parse_json(data, "checkpoint.json")
        except (chain.FormatError, zipfile.BadZipFile, OSError, RecursionError) as exc:
            return BundleReport(ok=False, problem=str(exc))
        anchors_doc: Any = None
        anchors_problem: str | None = None
        if (info := members.get(anchors.ANCHORS_MEMBER)) is not None:
            try:
                if info.file_size > MAX_JSONL_BYTES:
                    raise chain.FormatError("anchors.json is too large")
                data = archive.read(info)
                work.spend(len(data))
                anchors_doc = parse_json(data, anchors.ANCHORS_MEMBER)
            except (chain.FormatError, zipfile.BadZipFile, OSError, RecursionError) as exc:
                anchors_problem = str(exc)

        # Each member is hashed at most once, however many entries name it.
        hashed: dict[str, tuple[str, int]] = {}

        def lookup(sha256: str, size: int) -> tuple[str, int] | None:
            info = members.get(f"evidence/{sha256}")
            if info is None:
                return None
            if info.file_size != size:
                return ("", info.file_size)  # refused on the stated size, nothing read
            if info.filename not in hashed:
                hashed[info.filename] = _hash_member(archive, info, work)
            return hashed[info.filename]

        with archive.open("entries.jsonl") as entries:
            report = verify_lines_and_checkpoint(
                iter_jsonl(_counted_lines(entries, work)),
                checkpoint_doc,
                lookup,
                receipt=receipt,
                anchors_document=anchors_doc,
                work=work,
            )
        if anchors_problem and report.ok:
            report.anchors_problem = anchors_problem
        return report


def _hash_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, work: Work) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(HASH_CHUNK):
                work.spend(len(chunk))
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, OSError):
        return ("", -1)
    return digest.hexdigest(), size
