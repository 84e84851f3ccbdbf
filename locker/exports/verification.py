"""Verifying an export bundle (spec section 5) with nothing but its own contents, plus,
where asked, whether this instance signed its head. Dossier PDFs carry the same bundle and
are checked by locker/dossier/verify.py, which calls into this."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

from django.conf import settings

from locker.core import anchors, chain
from locker.core.chain import iter_jsonl, parse_json
from locker.exports.bundle import MAX_JSON_BYTES, MAX_JSONL_BYTES, MAX_MEMBERS
from locker.infra import signing
from locker.models import Checkpoint, Entry
from locker.selectors.anchors import trusted_tsa_roots


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


def _observe(lines: Iterable[Any], seen: _Seen) -> Iterator[Any]:
    # Runs before chain.verify_lines has checked each line, so nothing here may assume a shape;
    # what it gathers is used only once the whole chain has verified.
    for line in lines:
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


EvidenceLookup = Callable[[str], tuple[str, int] | None]


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
) -> BundleReport:
    """Everything spec section 5 asks of a bundle, given its parts: the lines (a list, or a
    stream read once), the checkpoint document, and `evidence_lookup`, which returns (sha256,
    size) of the file stored under a hash, or None when it is absent; pass None to skip
    evidence (a dossier PDF carries no evidence files)."""
    report = BundleReport(ok=True)
    seen = _Seen()
    if receipt is not None and (length := _receipt_length(receipt)) is not None:
        seen.wanted.add(length)
    try:
        chain_report = chain.verify_lines(_observe(lines, seen))
    except (chain.FormatError, zipfile.BadZipFile, OSError, RecursionError) as exc:
        return report.fail(str(exc))
    report.length, report.head = chain_report.length, chain_report.head
    if not chain_report.ok:
        return report.fail(chain_report.problem or "chain broken", chain_report.first_bad_seq)
    if len(seen.cases) > 1:
        return report.fail("entries belong to more than one case")
    report.case = next(iter(seen.cases), None)
    if evidence_lookup is not None:
        for seq, sha256, size in seen.evidence:
            found = evidence_lookup(sha256)
            if found is None:
                return report.fail(f"evidence file {sha256} is missing", seq)
            if found != (sha256, size):
                return report.fail(f"evidence file {sha256} does not match its hash or size", seq)
    try:
        certificate = chain.verify_checkpoint(checkpoint_doc)
    except chain.FormatError as exc:
        return report.fail(f"checkpoint: {exc}")
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
    report.signer = signing.check_signer(certificate)
    report.checkpoint_trusted = report.signer.status != "unknown"
    report.head_known = _head_known(body["case"], body["length"], body["head"])
    if receipt is not None:
        problem = check_receipt(seen.count, seen.held, receipt, report.case)
        report.receipt_checked = True
        if problem:
            return report.fail(problem)
    if anchors_document is not None:
        _attest(report, seen, anchors_document)
    return report


def _attest(report: BundleReport, seen: _Seen, document: Any) -> None:
    """Attested times from anchors.json, for a chain that verified (so every link and
    recorded time below has its checked shape). A bad anchors.json is reported beside the
    chain's result: it takes nothing away from what the chain itself proves."""
    try:
        receipts = anchors.parse_anchors_document(document, case_id=report.case)
        trusted = trusted_tsa_roots()
        checks = []
        for receipt in receipts:
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


def verify_bundle_zip(source: str | IO[bytes], *, receipt: Any = None) -> BundleReport:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        return BundleReport(ok=False, problem=f"not a readable ZIP file: {exc}")
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            return BundleReport(ok=False, problem="too many files in the ZIP")
        members = {info.filename: info for info in infos}
        for required in ("entries.jsonl", "checkpoint.json"):
            if required not in members:
                return BundleReport(ok=False, problem=f"{required} is missing")
        if members["entries.jsonl"].file_size > MAX_JSONL_BYTES:
            return BundleReport(ok=False, problem="entries.jsonl is too large")
        if members["checkpoint.json"].file_size > MAX_JSON_BYTES:
            return BundleReport(ok=False, problem="checkpoint.json is too large")
        try:
            checkpoint_doc = parse_json(archive.read("checkpoint.json"), "checkpoint.json")
        except (chain.FormatError, zipfile.BadZipFile, OSError, RecursionError) as exc:
            return BundleReport(ok=False, problem=str(exc))
        anchors_doc: Any = None
        anchors_problem: str | None = None
        if (info := members.get(anchors.ANCHORS_MEMBER)) is not None:
            try:
                if info.file_size > MAX_JSONL_BYTES:
                    raise chain.FormatError("anchors.json is too large")
                anchors_doc = parse_json(archive.read(info), anchors.ANCHORS_MEMBER)
            except (chain.FormatError, zipfile.BadZipFile, OSError, RecursionError) as exc:
                anchors_problem = str(exc)

        def lookup(sha256: str) -> tuple[str, int] | None:
            info = members.get(f"evidence/{sha256}")
            if info is None:
                return None
            digest = hashlib.sha256()
            size = 0
            try:
                with archive.open(info) as handle:
                    while chunk := handle.read(1024 * 1024):
                        digest.update(chunk)
                        size += len(chunk)
            except (zipfile.BadZipFile, OSError):
                return ("", -1)
            return digest.hexdigest(), size

        with archive.open("entries.jsonl") as entries:
            report = verify_lines_and_checkpoint(
                iter_jsonl(entries),
                checkpoint_doc,
                lookup,
                receipt=receipt,
                anchors_document=anchors_doc,
            )
        if anchors_problem and report.ok:
            report.anchors_problem = anchors_problem
        return report
