"""Hostile export bundles, written byte by byte: ZIPs whose central directory names a member
many times, or states sizes that are not the member's, and chains that name one big member
from many entries. Used by test_verify_bounds.py and bench/verify_bomb.py."""

from __future__ import annotations

import hashlib
import struct
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from locker.core import chain
from locker.infra import signing

MiB = 1024 * 1024
_BLOCK = bytes(4 * MiB)


@dataclass(frozen=True)
class Member:
    name: str
    method: int  # 0 stored, 8 deflated
    data: bytes  # as stored in the ZIP
    crc: int
    size: int  # uncompressed, as the headers state it

    @classmethod
    def stored(cls, name: str, data: bytes) -> Member:
        return cls(name, 0, data, zlib.crc32(data), len(data))


@cache
def zeros(size: int) -> tuple[bytes, int, str]:
    """`size` zero bytes (a multiple of 4 MiB) deflated, their CRC-32 and SHA-256, without
    ever holding them: identical blocks are deflated once by a fresh raw compressor each
    (byte-aligned by a full flush, so the pieces join into one stream)."""
    blocks, rest = divmod(size, len(_BLOCK))
    assert rest == 0, "a multiple of 4 MiB"
    piece = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = piece.compress(_BLOCK) + piece.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15)
    ending = final.compress(b"") + final.flush(zlib.Z_FINISH)
    crc, digest = 0, hashlib.sha256()
    for _ in range(blocks):
        crc = zlib.crc32(_BLOCK, crc)
        digest.update(_BLOCK)
    return deflated * blocks + ending, crc, digest.hexdigest()


def zeros_member(name: str, size: int) -> Member:
    data, crc, _sha = zeros(size)
    return Member(name, 8, data, crc, size)


def zip_bytes(members: list[Member], *, repeat: dict[str, int] | None = None) -> bytes:
    """A ZIP of `members`; `repeat` lists members whose central-directory record appears
    that many times (every copy pointing at the one local header)."""
    out = bytearray()
    records = []
    for member in members:
        offset = len(out)
        name = member.name.encode()
        out += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            member.method,
            0,
            0x21,
            member.crc,
            len(member.data),
            member.size,
            len(name),
            0,
        )
        out += name + member.data
        record = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            member.method,
            0,
            0x21,
            member.crc,
            len(member.data),
            member.size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        records += [record + name] * (repeat or {}).get(member.name, 1)
    directory = b"".join(records)
    start = len(out)
    out += directory
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(records), len(records), len(directory), start, 0
    )
    return bytes(out)


def signed_chain(evidence: list[dict[str, Any]], *, entries: int) -> tuple[bytes, bytes]:
    """entries.jsonl and checkpoint.json (signed with this instance's key) of a chain of
    `entries` messages, each naming `evidence`."""
    case_id = str(uuid.uuid4())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = chain.GENESIS_PREV
    lines = []
    for seq in range(1, entries + 1):
        moment = chain.format_timestamp(start + timedelta(seconds=seq))
        entry = {
            "v": chain.VERSION,
            "case": case_id,
            "seq": seq,
            "prev": prev,
            "kind": "message",
            "recorded_at": moment,
            "occurred_at": moment,
            "author": "user:1",
            "body": {"channel": "sms", "text": f"第{seq}条", "tags": []},
            "evidence": evidence,
        }
        prev = chain.entry_hash(entry)
        lines.append(chain.canonical_bytes({"entry": entry, "hash": prev}) + b"\n")
    checkpoint = signing.sign_checkpoint(
        case_id=case_id, length=entries, head=prev, signed_at=start + timedelta(days=1)
    )
    return b"".join(lines), chain.canonical_bytes(checkpoint)


def evidence_item(sha256: str, size: int) -> dict[str, Any]:
    return {"sha256": sha256, "size": size, "media_type": "image/png", "name": "shot.png"}


def one_member_bundle(
    size: int,
    *,
    references: int,
    repeat: int = 1,
    edit_checkpoint: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """A bundle whose `references` entries all name one member of `size` zero bytes, its
    central-directory record repeated `repeat` times. With size 256 MiB, 400 references
    and repeat 400 it is issue 12's bomb: under a megabyte that asked 100 GiB of hashing."""
    _data, _crc, sha256 = zeros(size)
    lines, signed = signed_chain([evidence_item(sha256, size)], entries=references)
    name = f"evidence/{sha256}"
    checkpoint = edit_checkpoint(signed) if edit_checkpoint else signed
    return zip_bytes(
        [
            Member.stored("entries.jsonl", lines),
            Member.stored("checkpoint.json", checkpoint),
            zeros_member(name, size),
        ],
        repeat={name: repeat},
    )
