"""The sealed-file format of stored evidence (docs/storage-encryption.md): envelope
encryption, each file under its own random AES-256 data key, the data key wrapped (AES key
wrap, RFC 3394) by a master key named in the header. The body is AES-256-GCM in segments of
64 KiB, so a file of any size is written and read as a stream, and a range of it is read by
decrypting only the segments it spans.

    offset  size  field
         0     8  magic b"\\x89LOCKER\\n"
         8     1  version (1)
         9     1  log2 of the segment size (16: 64 KiB)
        10    16  master key id (locker.core.envelope.key_id of the wrapping key)
        26    40  the data key, wrapped by that master key (AES-KW)
        66     7  nonce prefix, random per file
        73     …  segments: each segment's plaintext (the segment size, the last one
                  0 … segment size bytes) encrypted, followed by its 16-byte GCM tag

Segment i's nonce is prefix ‖ i (4 bytes, big-endian) ‖ final (1 byte: 1 for the last
segment, else 0); its additional data is the header's first 10 bytes and the nonce prefix,
then i and final again. A flipped byte, a segment moved to another place, a file cut at a
segment boundary (its last segment is then not marked final) or extended all fail
authentication. The key id and the wrapped key are not in the additional data, so that
rotating the master key rewrites only them (`rewrap`); a wrong wrapped key fails the key
unwrap instead.

Pure code: no Django, no storage. Hashes of evidence are over the plaintext, never these
bytes."""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

MAGIC = b"\x89LOCKER\n"
VERSION = 1
SEGMENT_LOG2 = 16
SEGMENT_SIZE = 1 << SEGMENT_LOG2
TAG_SIZE = 16
KEY_SIZE = 32
KEY_ID_SIZE = 16
WRAPPED_KEY_SIZE = KEY_SIZE + 8
NONCE_PREFIX_SIZE = 7
_FIXED = struct.Struct(f">{len(MAGIC)}sBB")
HEADER_SIZE = _FIXED.size + KEY_ID_SIZE + WRAPPED_KEY_SIZE + NONCE_PREFIX_SIZE
# The segment sizes a reader accepts: a header cannot make it allocate without bound.
_SEGMENT_LOG2_RANGE = range(12, 25)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class EnvelopeError(ValueError):
    """The sealed bytes cannot be opened."""


class Tampered(EnvelopeError):
    """The bytes fail authentication: changed, cut, extended or reordered."""


class UnknownKey(EnvelopeError):
    """The header names a master key that is not among those given."""

    def __init__(self, key_id: bytes) -> None:
        super().__init__(f"sealed under master key {key_id.hex()}, which is not configured")
        self.key_id = key_id


def key_id(master_key: bytes) -> bytes:
    """A master key's public name: a hash of it, so no table of names is kept."""
    return hashlib.sha256(b"evidence-locker master key id\0" + master_key).digest()[:KEY_ID_SIZE]


def is_sealed(head: bytes) -> bool:
    return head.startswith(MAGIC)


@dataclass(frozen=True)
class Header:
    segment_log2: int
    key_id: bytes
    wrapped_key: bytes
    nonce_prefix: bytes

    @property
    def segment_size(self) -> int:
        return 1 << self.segment_log2

    def to_bytes(self) -> bytes:
        return (
            _FIXED.pack(MAGIC, VERSION, self.segment_log2)
            + self.key_id
            + self.wrapped_key
            + self.nonce_prefix
        )

    @classmethod
    def parse(cls, data: bytes) -> Header:
        if len(data) < HEADER_SIZE or not is_sealed(data):
            raise Tampered("the sealed header is cut short")
        _magic, version, segment_log2 = _FIXED.unpack_from(data)
        if version != VERSION:
            raise EnvelopeError(f"sealed-file version {version} is not known")
        if segment_log2 not in _SEGMENT_LOG2_RANGE:
            raise Tampered("the sealed header names an impossible segment size")
        at = _FIXED.size
        key = data[at : at + KEY_ID_SIZE]
        at += KEY_ID_SIZE
        wrapped = data[at : at + WRAPPED_KEY_SIZE]
        at += WRAPPED_KEY_SIZE
        return cls(segment_log2, key, wrapped, data[at : at + NONCE_PREFIX_SIZE])

    def unwrap(self, master_keys: dict[bytes, bytes]) -> bytes:
        """The data key, unwrapped by the master key the header names."""
        master = master_keys.get(self.key_id)
        if master is None:
            raise UnknownKey(self.key_id)
        try:
            return aes_key_unwrap(master, self.wrapped_key)
        except InvalidUnwrap as exc:
            raise Tampered("the wrapped data key does not open with its master key") from exc

    def rewrapped(self, data_key: bytes, master_key: bytes) -> Header:
        return Header(
            self.segment_log2,
            key_id(master_key),
            aes_key_wrap(master_key, data_key),
            self.nonce_prefix,
        )

    def _nonce_and_aad(self, index: int, final: bool) -> tuple[bytes, bytes]:
        position = struct.pack(">IB", index, int(final))
        nonce = self.nonce_prefix + position
        return nonce, _FIXED.pack(MAGIC, VERSION, self.segment_log2) + self.nonce_prefix + position


def new_header(master_key: bytes) -> tuple[Header, bytes]:
    """A header for a new file and its fresh data key."""
    data_key = AESGCM.generate_key(bit_length=KEY_SIZE * 8)
    header = Header(
        SEGMENT_LOG2, key_id(master_key), aes_key_wrap(master_key, data_key), os.urandom(7)
    )
    return header, data_key


def sealed_size(plain_size: int, segment_size: int = SEGMENT_SIZE) -> int:
    segments = max(1, -(-plain_size // segment_size))
    return HEADER_SIZE + plain_size + segments * TAG_SIZE


def plain_size(sealed: int, segment_size: int = SEGMENT_SIZE) -> int:
    """The plaintext size of a well-formed sealed file of `sealed` bytes."""
    body = sealed - HEADER_SIZE
    if body < TAG_SIZE:
        raise Tampered("the sealed file is cut short")
    segments = -(-body // (segment_size + TAG_SIZE))
    return body - segments * TAG_SIZE


def seal(plain: Readable, master_key: bytes) -> Iterator[bytes]:
    """The sealed bytes of `plain` (read to its end), as chunks: the header, then one chunk
    per segment. A fresh data key and nonce prefix each time it is called."""
    header, data_key = new_header(master_key)
    aead = AESGCM(data_key)
    yield header.to_bytes()
    index = 0
    segment = _read_full(plain, header.segment_size)
    while True:
        following = (
            _read_full(plain, header.segment_size) if len(segment) == header.segment_size else b""
        )
        final = not following
        nonce, aad = header._nonce_and_aad(index, final)
        yield aead.encrypt(nonce, segment, aad)
        if final:
            return
        segment = following
        index += 1


def _read_full(handle: Readable, size: int) -> bytes:
    # A file object may return less than asked before its end (a socket, S3's body).
    parts = []
    left = size
    while left > 0:
        chunk = handle.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


class Opened(io.RawIOBase):
    """The plaintext of a sealed file, readable and seekable: a read decrypts (and
    authenticates) only the segments it touches. `sealed` is positioned anywhere; its size
    must be `sealed_size`."""

    def __init__(self, sealed: IO[bytes], header: Header, data_key: bytes, sealed_total: int):
        super().__init__()
        self._sealed = sealed
        self._header = header
        self._aead = AESGCM(data_key)
        self._segment = header.segment_size
        self.size = plain_size(sealed_total, self._segment)
        self._segments = max(1, -(-self.size // self._segment))
        self._position = 0
        self._cached: tuple[int, bytes] | None = None
        self._bulk: dict[int, bytes] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def _plain_segment(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        self._sealed.seek(HEADER_SIZE + index * (self._segment + TAG_SIZE))
        return self._decrypt(index, _read_full(self._sealed, self._expected(index)))

    def _expected(self, index: int) -> int:
        final = index == self._segments - 1
        return (self.size - index * self._segment if final else self._segment) + TAG_SIZE

    def _decrypt(self, index: int, data: bytes) -> bytes:
        if len(data) != self._expected(index):
            raise Tampered(f"segment {index} is cut short")
        nonce, aad = self._header._nonce_and_aad(index, index == self._segments - 1)
        try:
            plain = self._aead.decrypt(nonce, data, aad)
        except InvalidTag as exc:
            raise Tampered(f"segment {index} fails authentication") from exc
        self._cached = (index, plain)
        return plain

    def _read_segments(self, first: int, last: int) -> None:
        """Decrypt segments first..last from one read of their sealed bytes (a whole file
        read segment by segment costs a system call, and a wait for the interpreter lock
        in a busy process, per 64 KiB), leaving the last one cached; the parts are kept in
        self._bulk by index."""
        stride = self._segment + TAG_SIZE
        self._sealed.seek(HEADER_SIZE + first * stride)
        sizes = [self._expected(index) for index in range(first, last + 1)]
        blob = memoryview(_read_full(self._sealed, sum(sizes)))
        offset = 0
        for index, size in zip(range(first, last + 1), sizes, strict=True):
            self._bulk[index] = self._decrypt(index, bytes(blob[offset : offset + size]))
            offset += size

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read of a closed file")
        end = self.size if size is None or size < 0 else min(self.size, self._position + size)
        parts = []
        self._bulk = {}
        first, last = self._position // self._segment, (end - 1) // self._segment
        if last > first:
            self._read_segments(first, last)
        while self._position < end:
            index, within = divmod(self._position, self._segment)
            plain = self._bulk.pop(index) if index in self._bulk else self._plain_segment(index)
            part = plain[within : within + end - self._position]
            parts.append(part)
            self._position += len(part)
        if self.size == 0 and self._cached is None:
            self._plain_segment(0)  # an empty file is still authenticated
        return b"".join(parts)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._sealed.close()
        super().close()


def open_sealed(sealed: IO[bytes], sealed_total: int, master_keys: dict[bytes, bytes]) -> Opened:
    """The plaintext reader of a sealed file whose header is at `sealed`'s start. Raises
    UnknownKey or Tampered when its key does not open; segments are checked as they are read."""
    sealed.seek(0)
    header = Header.parse(_read_full(sealed, HEADER_SIZE))
    data_key = header.unwrap(master_keys)
    return Opened(sealed, header, data_key, sealed_total)


# Small values held in the database (a complainant's ID number, locker/infra/sealed_values.py)
# use the same format as files, whole in memory.


def seal_bytes(plain: bytes, master_key: bytes) -> bytes:
    return b"".join(seal(io.BytesIO(plain), master_key))


def open_bytes(sealed: bytes, master_keys: dict[bytes, bytes]) -> bytes:
    """The plaintext of sealed bytes; raises UnknownKey or Tampered."""
    return open_sealed(io.BytesIO(sealed), len(sealed), master_keys).read()


def rewrap_bytes(sealed: bytes, master_keys: dict[bytes, bytes], current: bytes) -> bytes | None:
    """The same sealed value with its data key wrapped by `current`; None when it already is."""
    header = Header.parse(sealed[:HEADER_SIZE])
    if header.key_id == key_id(current):
        return None
    data_key = header.unwrap(master_keys)
    return header.rewrapped(data_key, current).to_bytes() + sealed[HEADER_SIZE:]
