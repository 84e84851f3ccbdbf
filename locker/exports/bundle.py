"""Export bundles (spec section 5): the ZIP written for a case. Verifying one is
locker/exports/verification.py."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

from locker.core import anchors, chain
from locker.infra.storage import iter_stored
from locker.models import Case, Checkpoint, Entry, EvidenceFile
from locker.selectors.anchors import anchors_document
from locker.services.anchors import anchor_case_head

# A bundle uploaded for verification is untrusted input: bound what we are willing to read.
MAX_MEMBERS = 100_000
# 64 MiB holds some 60,000 entries. It is read one line at a time, so the bound is on time,
# not memory.
MAX_JSONL_BYTES = 64 * 1024 * 1024
MAX_JSON_BYTES = 1024 * 1024
# All members of one uploaded bundle together, uncompressed, as stated and as really read: a
# verification here hashes at most this much (evidence is stored, not deflated, in a bundle,
# so this is about the largest upload, LOCKER_VERIFY_MAX_BYTES, plus a full entries.jsonl).
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024

README_TEXT = """\
Evidence Locker export bundle (evidence chain format, version 1)
================================================================

entries.jsonl   one line per record, in order; each line is {"entry": ..., "hash": ...}
                or {"omitted": {"seq", "prev", "hash"}} for a record left out
evidence/<hash> the exact bytes of each evidence file, named by its SHA-256
checkpoint.json the chain head (length and hash of the last record), signed by the
                Evidence Locker instance that exported this bundle
anchors.json    third-party time: signed chain heads with RFC 3161 time-stamp tokens
                from independent time-stamp authorities over a Merkle root that
                includes them (docs/chain-format.md, "Anchors")

How to verify, with any tool, without trusting the server that made this file:
1. For each line with an entry, serialise the entry as canonical JSON (RFC 8785: members
   sorted by name, no spaces, UTF-8) and take its SHA-256; it must equal "hash".
2. Line n must have seq n, and its "prev" must equal the hash of line n-1 (line 1: 64 zeros).
   recorded_at must never decrease.
3. Each file in evidence/ must have the SHA-256 and size its entry states.
4. checkpoint.json's "case", "length" and "head" must match the last line; its "signature"
   (ECDSA P-256 / SHA-256, base64 DER) must verify over the canonical JSON of "checkpoint"
   with the public key of "certificate".
5. anchors.json: for each checkpoint in it, the Merkle proof from the SHA-256 of
   0x00 followed by the canonical JSON of "checkpoint" must lead to "root", and each
   time-stamp token must be a valid RFC 3161 token over SHA-256 of the 32 root bytes.
   Its time shows the records up to that checkpoint's length existed no later than it.
   Records whose attested time is long after their recorded_at deserve a closer look.
If you kept a receipt (a checkpoint from when a record was added), the line at its "length"
must still have its "head" hash: otherwise records were removed or rewritten.

One program that does all of the above, without this server: tools/verify_evidence.py in
Evidence Locker's source (Python 3.11+ and the "cryptography" package only):
    python3 verify_evidence.py this.zip --fingerprint <the signer fingerprint on /keys>

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
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The lines, the checkpoint over their head, and anchors.json. Without a given
    checkpoint, the head's own is used (anchored now if a TSA answers)."""
    lines = bundle_lines(case, include=include)
    length, head = head_of(lines)
    row: Checkpoint | None
    if checkpoint is None:
        row = anchor_case_head(case=case, length=length, head=head)
        checkpoint = row.document
    else:
        body = checkpoint["checkpoint"]
        row = (
            Checkpoint.objects.filter(
                case=case,
                length=body["length"],
                head=body["head"],
                signed_at=chain.parse_timestamp(body["signed_at"]),
            )
            .order_by("id")
            .first()
        )
    return lines, checkpoint, anchors_document(case, up_to_length=length, checkpoint=row)


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
    case: Case,
    lines: list[dict[str, Any]],
    checkpoint: dict[str, Any],
    anchors_json: dict[str, Any],
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
        archive.writestr(anchors.ANCHORS_MEMBER, chain.canonical_bytes(anchors_json))
    yield pipe.drain()


def stream_bundle(
    case: Case,
    *,
    include: Callable[[Entry], bool] | None = None,
    checkpoint: dict[str, Any] | None = None,
) -> Iterator[bytes]:
    """The ZIP as chunks for a streaming response; evidence files are never all in memory.
    Signs a checkpoint for the head unless one is given."""
    lines, checkpoint, anchors_json = _signed_lines(case, include, checkpoint)
    return _zip_chunks(case, lines, checkpoint, anchors_json)


def write_bundle(
    case: Case,
    out: IO[bytes],
    *,
    include: Callable[[Entry], bool] | None = None,
    checkpoint: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the ZIP to `out`; returns the checkpoint it carries."""
    lines, checkpoint, anchors_json = _signed_lines(case, include, checkpoint)
    for chunk in _zip_chunks(case, lines, checkpoint, anchors_json):
        out.write(chunk)
    return checkpoint
