"""Export bundles (spec section 5): writing the ZIP for a case, and verifying one with
nothing but its own contents (plus, where asked, whether this instance signed its head)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from locker.core import chain
from locker.infra import signing
from locker.infra.storage import iter_stored
from locker.models import Case, Checkpoint, Entry, EvidenceFile

# A bundle uploaded for verification is untrusted input: bound what we are willing to read.
MAX_MEMBERS = 100_000
# 64 MiB holds some 60,000 entries. It is read one line at a time, so the bound is on time,
# not memory.
MAX_JSONL_BYTES = 64 * 1024 * 1024
MAX_JSON_BYTES = 1024 * 1024

README_TEXT = """\
Evidence Locker export bundle (evidence chain format, version 1)
================================================================

entries.jsonl   one line per record, in order; each line is {"entry": ..., "hash": ...}
                or {"omitted": {"seq", "prev", "hash"}} for a record left out
evidence/<hash> the exact bytes of each evidence file, named by its SHA-256
checkpoint.json the chain head (length and hash of the last record), signed by the
                Evidence Locker instance that exported this bundle

How to verify, with any tool, without trusting the server that made this file:
1. For each line with an entry, serialise the entry as canonical JSON (RFC 8785: members
   sorted by name, no spaces, UTF-8) and take its SHA-256; it must equal "hash".
2. Line n must have seq n, and its "prev" must equal the hash of line n-1 (line 1: 64 zeros).
   recorded_at must never decrease.
3. Each file in evidence/ must have the SHA-256 and size its entry states.
4. checkpoint.json's "case", "length" and "head" must match the last line; its "signature"
   (ECDSA P-256 / SHA-256, base64 DER) must verify over the canonical JSON of "checkpoint"
   with the public key of "certificate".
If you kept a receipt (a checkpoint from when a record was added), the line at its "length"
must still have its "head" hash: otherwise records were removed or rewritten.

中文说明：entries.jsonl 每行一条记录及其哈希；每条记录的 prev 等于前一条的哈希，
第一条为 64 个 0。evidence/ 下的文件以其 SHA-256 命名，字节必须与记录一致。
checkpoint.json 是实例对链尾（条数与哈希）的签名。任何修改、删除、插入都会被发现。
"""


def bundle_lines(
    case: Case, *, include: Callable[[Entry], bool] | None = None
) -> list[dict[str, Any]]:
    """The case's line objects in seq order; entries `include` rejects become omitted stubs."""
    return [
        entry.as_line() if include is None or include(entry) else entry.as_omitted_line()
        for entry in Entry.objects.filter(case=case).order_by("seq")
    ]


def entries_jsonl(lines: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(chain.canonical_bytes(line) + b"\n" for line in lines)


def head_of(lines: list[dict[str, Any]]) -> tuple[int, str]:
    if not lines:
        return 0, chain.GENESIS_PREV
    last = lines[-1]
    return (
        (last["entry"]["seq"], last["hash"])
        if "entry" in last
        else (
            last["omitted"]["seq"],
            last["omitted"]["hash"],
        )
    )


def _evidence_names(lines: Iterable[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for line in lines:
        for item in line.get("entry", {}).get("evidence", []):
            seen.setdefault(item["sha256"], None)
    return list(seen)


def _signed_lines(
    case: Case,
    include: Callable[[Entry], bool] | None,
    checkpoint: dict[str, Any] | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from locker.services import issue_checkpoint

    lines = bundle_lines(case, include=include)
    if checkpoint is None:
        length, head = head_of(lines)
        checkpoint = issue_checkpoint(case=case, length=length, head=head)
    return lines, checkpoint


class _Pipe:
    """A write-only file whose written bytes a generator drains as it goes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def _zip_chunks(
    case: Case, lines: list[dict[str, Any]], checkpoint: dict[str, Any]
) -> Iterator[bytes]:
    names = _evidence_names(lines)
    stored = {
        f.sha256: f.storage_name for f in EvidenceFile.objects.filter(case=case, sha256__in=names)
    }
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[call-overload]
        archive.writestr("README.txt", README_TEXT)
        archive.writestr("entries.jsonl", entries_jsonl(lines))
        yield pipe.drain()
        for sha256 in names:
            info = zipfile.ZipInfo(f"evidence/{sha256}", date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, mode="w", force_zip64=True) as member:
                for chunk in iter_stored(stored[sha256]):
                    member.write(chunk)
                    if pipe.chunks:
                        yield pipe.drain()
        archive.writestr("checkpoint.json", chain.canonical_bytes(checkpoint))
    yield pipe.drain()


def stream_bundle(
    case: Case,
    *,
    include: Callable[[Entry], bool] | None = None,
    checkpoint: dict[str, Any] | None = None,
) -> Iterator[bytes]:
    """The ZIP as chunks for a streaming response; evidence files are never all in memory.
    Signs a checkpoint for the head unless one is given."""
    lines, checkpoint = _signed_lines(case, include, checkpoint)
    return _zip_chunks(case, lines, checkpoint)


def write_bundle(
    case: Case,
    out: IO[bytes],
    *,
    include: Callable[[Entry], bool] | None = None,
    checkpoint: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the ZIP to `out`; returns the checkpoint it carries."""
    lines, checkpoint = _signed_lines(case, include, checkpoint)
    for chunk in _zip_chunks(case, lines, checkpoint):
        out.write(chunk)
    return checkpoint


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
    receipt_checked: bool = False
    notes: list[str] = field(default_factory=list)

    def fail(self, problem: str, seq: int | None = None) -> BundleReport:
        self.ok = False
        self.problem = problem
        self.first_bad_seq = seq
        return self


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in the chain format")


def parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise chain.FormatError(f"{what} is not valid UTF-8 JSON: {exc}") from exc


def _parse_line(raw: bytes, number: int) -> Any:
    value = parse_json(raw, f"entries.jsonl line {number}")
    if isinstance(value, Mapping):
        chain.check_json_value(value)
        if chain.canonical_bytes(value) != raw:
            raise chain.FormatError(f"entries.jsonl line {number} is not in canonical form")
    return value


def parse_jsonl(data: bytes) -> list[Any]:
    if data and not data.endswith(b"\n"):
        raise chain.FormatError("entries.jsonl must end with a newline")
    return [_parse_line(raw, number) for number, raw in enumerate(data.split(b"\n")[:-1], start=1)]


def iter_jsonl(handle: IO[bytes]) -> Iterator[Any]:
    """The lines of an entries.jsonl read from a stream one at a time, so that verifying a
    large upload holds one entry in memory, not all of them."""
    for number, raw in enumerate(handle, start=1):
        if not raw.endswith(b"\n"):
            raise chain.FormatError("entries.jsonl must end with a newline")
        yield _parse_line(raw[:-1], number)


@dataclass
class _Seen:
    """What the checks after the chain's own need from its lines, gathered while the lines
    stream past: the cases named, the evidence listed, and the hash at the lengths asked."""

    count: int = 0
    cases: set[Any] = field(default_factory=set)
    evidence: list[tuple[int, Any, Any]] = field(default_factory=list)  # (seq, sha256, size)
    wanted: set[int] = field(default_factory=set)
    held: dict[int, Any] = field(default_factory=dict)


def _observe(lines: Iterable[Any], seen: _Seen) -> Iterator[Any]:
    # Runs before chain.verify_lines has checked each line, so nothing here may assume a shape;
    # what it gathers is used only once the whole chain has verified.
    for line in lines:
        seen.count += 1
        if isinstance(line, Mapping):
            entry = line.get("entry")
            if isinstance(entry, Mapping):
                seen.cases.add(entry.get("case"))
                for item in entry.get("evidence") or ():
                    if isinstance(item, Mapping):
                        seen.evidence.append((seen.count, item.get("sha256"), item.get("size")))
            if seen.count in seen.wanted:
                omitted = line.get("omitted")
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
    report.checkpoint_trusted = signing.is_trusted(certificate)
    report.head_known = _head_known(body["case"], body["length"], body["head"])
    if receipt is not None:
        problem = check_receipt(seen.count, seen.held, receipt, report.case)
        report.receipt_checked = True
        if problem:
            return report.fail(problem)
    return report


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
            return verify_lines_and_checkpoint(
                iter_jsonl(entries), checkpoint_doc, lookup, receipt=receipt
            )
