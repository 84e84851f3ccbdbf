"""The evidence chain format, version 1 (docs/chain-format.md): canonical bytes, hashes,
and verification of a sequence of line objects and of a signed checkpoint.

Pure: no database, no storage, no settings. An auditor can read this file alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

VERSION = 1
GENESIS_PREV = "0" * 64
MAX_SAFE_INTEGER = 2**53 - 1
ENTRY_MEMBERS = frozenset(
    {"v", "case", "seq", "prev", "kind", "recorded_at", "occurred_at", "author", "body", "evidence"}
)
EVIDENCE_MEMBERS = frozenset({"sha256", "size", "media_type", "name"})
CHECKPOINT_MEMBERS = frozenset({"v", "case", "length", "head", "signed_at"})

_TIMESTAMP_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_KIND_RE = re.compile(r"^[a-z][a-z_]*$")
_SNAKE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class FormatError(ValueError):
    """A value that the chain format does not allow; the message says which and why."""


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise FormatError("timestamp must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    if not isinstance(text, str) or not _TIMESTAMP_RE.match(text):
        raise FormatError(f"timestamp {text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        # The pattern above fixed the shape; fromisoformat only has to reject dates that do
        # not exist (February 30th), and is much faster than strptime.
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError as exc:
        raise FormatError(f"timestamp {text!r} is not a real date and time") from exc


class _Refused(Exception):
    """A value check_json_value refuses; the path to it is collected while unwinding, so that
    a valid document (the usual case) never pays for building paths."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.steps: list[str] = []


def check_json_value(value: Any, path: str = "$") -> None:
    """Refuse what the canonical form cannot carry: floats, big integers, lone surrogates,
    non-string keys. Raises FormatError naming the offending path."""
    try:
        _check_value(value)
    except _Refused as refused:
        where = path + "".join(reversed(refused.steps))
        raise FormatError(f"{where}: {refused.reason}") from None


def _check_value(value: Any) -> None:
    # The plain types json.loads and the body models give are tested by exact type first
    # (this runs on every value of every record twice: the body as sent, and the entry
    # before it is hashed); anything else takes the general path below.
    kind = type(value)
    if kind is str:
        # ASCII text (most of it) cannot hold a lone surrogate; only the rest is encoded.
        if not value.isascii():
            _check_text(value)
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or type(item) is not str:
                _check_member(key, item)
            elif not item.isascii():
                try:
                    _check_text(item)
                except _Refused as refused:
                    refused.steps.append(f".{key}")
                    raise
        return
    if kind is list:
        _check_items(value)
        return
    if value is None or kind is bool:
        return
    if kind is int:
        if abs(value) > MAX_SAFE_INTEGER:
            raise _Refused(f"integer {value} is beyond 2^53")
        return
    _check_other(value)


def _check_items(items: list[Any]) -> None:
    for index, item in enumerate(items):
        if type(item) is str and item.isascii():
            continue
        try:
            _check_value(item)
        except _Refused as refused:
            refused.steps.append(f"[{index}]")
            raise


def _check_member(key: Any, item: Any) -> None:
    if not isinstance(key, str):
        raise _Refused("member names must be strings")
    if not key.isascii():
        try:
            _check_text(key)
        except _Refused as refused:
            refused.steps.append(" member name")
            raise
    try:
        _check_value(item)
    except _Refused as refused:
        refused.steps.append(f".{key}")
        raise


def _check_other(value: Any) -> None:
    """Values of other types than the plain ones (subclasses, other mappings)."""
    if isinstance(value, bool):
        return
    if isinstance(value, str):
        if not value.isascii():
            _check_text(value)
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise _Refused(f"integer {value} is beyond 2^53")
        return
    if isinstance(value, float):
        raise _Refused(
            "floating-point numbers are not allowed; use integers "
            "(minor units of money, whole seconds)"
        )
    if isinstance(value, list):
        _check_items(value)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_member(key, item)
        return
    raise _Refused(f"{type(value).__name__} is not a JSON value")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused("string is not valid Unicode (lone surrogate)") from None


def is_snake_case(name: str) -> bool:
    return bool(_SNAKE_RE.match(name))


def canonical_bytes(value: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes for values that pass check_json_value with ASCII member names."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def is_sha256_hex(value: str) -> bool:
    """A SHA-256 written as the chain writes hashes: 64 lower-case hex digits."""
    return bool(_HASH_RE.match(value))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint_groups(hex_digest: str, size: int = 4) -> str:
    """A fingerprint in blocks of `size` characters, for reading aloud and comparing by eye
    (the /keys page, receipts, dossiers); the blocks joined again are the fingerprint."""
    return " ".join(hex_digest[i : i + size] for i in range(0, len(hex_digest), size))


def entry_hash(entry: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_bytes(entry))


def _checked_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise FormatError(f"integer {value} is beyond 2^53")
    return value


def _refused_float(text: str) -> Any:
    raise FormatError(
        f"floating-point number {text} is not allowed; use integers "
        "(minor units of money, whole seconds)"
    )


def _refused_constant(name: str) -> Any:
    return reject_json_constant(name)


_CHECKED_JSON = json.JSONDecoder(
    parse_int=_checked_int, parse_float=_refused_float, parse_constant=_refused_constant
)


def loads_checked(text: str) -> Any:
    """JSON text decoded, refusing as it goes the values check_json_value refuses (floats,
    integers beyond 2^53, NaN and Infinity), so that a value read this way need not be
    walked again. JSON cannot have non-string member names; a lone surrogate (from a \\u
    escape) is refused when the value is encoded (canonical_bytes, under link_of_entry).
    Raises FormatError."""
    try:
        return _CHECKED_JSON.decode(text)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"stored JSON cannot be read: {exc}") from exc


def check_entry_shape(entry: Any, *, stored: bool = False) -> None:
    """Every rule of spec section 1 that one entry can be checked against on its own.

    `stored`: the entry was rebuilt from a stored row by its caller, who vouches for what
    the rebuilding fixed: the ten members, v, case (the case's id) and seq (a positive
    integer column); the timestamps written by format_timestamp from datetimes (their
    pattern is still checked, not the date: a datetime is a real one); body and evidence
    decoded by loads_checked (which refused floats and big integers); every other value a
    str or None. What a stored row may still hold wrongly (prev, kind, author, the members
    of body and evidence, a timestamp out of range) is checked as always."""
    if not stored:
        if not isinstance(entry, Mapping):
            raise FormatError("entry is not a JSON object")
        members = set(entry)
        if members != ENTRY_MEMBERS:
            missing = sorted(ENTRY_MEMBERS - members)
            extra = sorted(members - ENTRY_MEMBERS)
            raise FormatError(f"entry members wrong: missing {missing}, unexpected {extra}")
        check_json_value(entry)
        if entry["v"] != VERSION or isinstance(entry["v"], bool):
            raise FormatError(f"v must be {VERSION}")
        if not isinstance(entry["case"], str) or not _UUID_RE.match(entry["case"]):
            raise FormatError("case must be a lowercase UUID")
        seq = entry["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise FormatError("seq must be a positive integer")
    if not isinstance(entry["prev"], str) or not _HASH_RE.match(entry["prev"]):
        raise FormatError("prev must be 64 lowercase hex characters")
    if not isinstance(entry["kind"], str) or not _KIND_RE.match(entry["kind"]):
        raise FormatError("kind must be a lowercase ASCII word")
    if stored:
        for name in ("recorded_at", "occurred_at"):
            if entry[name] is not None and not _TIMESTAMP_RE.match(entry[name]):
                raise FormatError(f"timestamp {entry[name]!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    else:
        parse_timestamp(entry["recorded_at"])
        if entry["occurred_at"] is not None:
            parse_timestamp(entry["occurred_at"])
    if not isinstance(entry["author"], str) or not entry["author"]:
        raise FormatError("author must be a non-empty string")
    if not isinstance(entry["body"], Mapping):
        raise FormatError("body must be a JSON object")
    for name in entry["body"]:
        if not _SNAKE_RE.match(name):
            raise FormatError(f"body member {name!r} is not ASCII snake_case")
    if not isinstance(entry["evidence"], list):
        raise FormatError("evidence must be an array")
    for index, item in enumerate(entry["evidence"]):
        check_evidence_item(item, f"evidence[{index}]")


def check_evidence_item(item: Any, path: str = "evidence") -> None:
    if not isinstance(item, Mapping) or set(item) != EVIDENCE_MEMBERS:
        raise FormatError(f"{path} must have exactly sha256, size, media_type, name")
    if not isinstance(item["sha256"], str) or not _HASH_RE.match(item["sha256"]):
        raise FormatError(f"{path}.sha256 must be 64 lowercase hex characters")
    size = item["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise FormatError(f"{path}.size must be a non-negative integer")
    if not isinstance(item["media_type"], str) or not isinstance(item["name"], str):
        raise FormatError(f"{path}.media_type and name must be strings")


@dataclass(frozen=True)
class ChainReport:
    """Outcome of verifying a chain: ok, or the first bad seq and why."""

    ok: bool
    length: int
    head: str
    first_bad_seq: int | None = None
    problem: str | None = None


class Link(NamedTuple):
    """One link of a chain. A named tuple, not a dataclass: verification makes one per
    entry, and a tuple is made several times faster."""

    seq: int
    prev: str
    hash: str
    recorded_at: datetime | None


def link_of_line(line: Any) -> tuple[Link, Mapping[str, Any] | None]:
    """The chain link a line object stands for, and its entry if it is a full line.
    Raises FormatError when the line is malformed or its hash does not match its entry."""
    if not isinstance(line, Mapping):
        raise FormatError("line is not a JSON object")
    if set(line) == {"entry", "hash"}:
        return link_of_entry(line["entry"], line["hash"])
    if set(line) == {"omitted"}:
        stub = line["omitted"]
        if not isinstance(stub, Mapping) or set(stub) != {"seq", "prev", "hash"}:
            raise FormatError("omitted line must have exactly seq, prev, hash")
        seq = stub["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise FormatError("omitted seq must be a positive integer")
        for name in ("prev", "hash"):
            if not isinstance(stub[name], str) or not _HASH_RE.match(stub[name]):
                raise FormatError(f"omitted {name} must be 64 lowercase hex characters")
        return Link(seq, stub["prev"], stub["hash"], None), None
    raise FormatError("line must be {entry, hash} or {omitted}")


def link_of_entry(
    entry: Any,
    claimed_hash: Any,
    recorded_at: datetime | None = None,
    *,
    stored: bool = False,
) -> tuple[Link, Mapping[str, Any]]:
    """The link of a full line: `entry` with the hash the line (or a stored row) claims for
    it. Raises FormatError when the entry is malformed or does not hash to that. A caller
    that holds the entry's recorded_at as a datetime may pass it, sparing the parse;
    `stored` as for check_entry_shape."""
    check_entry_shape(entry, stored=stored)
    try:
        actual = entry_hash(entry)
    except UnicodeEncodeError:
        raise FormatError("a string of the entry is not valid Unicode (lone surrogate)") from None
    if claimed_hash != actual:
        raise FormatError(f"hash {claimed_hash!r} does not match the entry (it hashes to {actual})")
    if recorded_at is None:
        recorded_at = parse_timestamp(entry["recorded_at"])
    return Link(entry["seq"], entry["prev"], actual, recorded_at), entry


class BadLine(Exception):
    """Raised by a source of links for verify_links: the next line is malformed (the reason
    is the message). Distinct from FormatError, which the source of the lines themselves
    may raise (a reader refusing its input) and which verify_lines lets through."""


def _links_of_lines(lines: Iterable[Any]) -> Iterator[tuple[Link, Mapping[str, Any] | None]]:
    for line in lines:
        try:
            link = link_of_line(line)
        except FormatError as exc:
            raise BadLine(str(exc)) from exc
        yield link


def verify_lines(
    lines: Iterable[Any],
    case_id: str | None = None,
    *,
    after: tuple[int, str, datetime | None] | None = None,
) -> ChainReport:
    """Check the chain rules (spec section 3) across line objects in order. With `after`
    (seq, hash, recorded_at of an entry verified before), the lines are the ones that follow
    it: the first must be seq + 1 and link to that hash (the case page's badge checks only
    what was added since its last check; the reported length is the whole chain's)."""
    return verify_links(_links_of_lines(lines), case_id, after=after)


def verify_links(
    links: Iterable[tuple[Link, Mapping[str, Any] | None]],
    case_id: str | None = None,
    *,
    after: tuple[int, str, datetime | None] | None = None,
) -> ChainReport:
    """verify_lines over links already made (link_of_line, link_of_entry): a BadLine raised
    while the next one is made is the first bad line. `after` as for verify_lines."""
    expected_seq = 1
    prev_hash = GENESIS_PREV
    last_recorded: datetime | None = None
    if after is not None:
        expected_seq, prev_hash, last_recorded = after[0] + 1, after[1], after[2]
    made = iter(links)
    while True:
        try:
            link, entry = next(made)
        except StopIteration:
            break
        except BadLine as exc:
            return ChainReport(False, expected_seq - 1, prev_hash, expected_seq, str(exc))
        problem = None
        if link.seq != expected_seq:
            problem = f"seq is {link.seq}, expected {expected_seq}"
        elif link.prev != prev_hash:
            problem = "prev does not equal the hash of the previous entry"
        elif entry is not None and case_id is not None and entry["case"] != case_id:
            problem = f"entry belongs to case {entry['case']}, not {case_id}"
        elif link.recorded_at is not None and last_recorded and link.recorded_at < last_recorded:
            problem = "recorded_at is earlier than the previous entry's"
        if problem:
            return ChainReport(False, expected_seq - 1, prev_hash, expected_seq, problem)
        if entry is not None and case_id is None:
            case_id = entry["case"]
        if link.recorded_at is not None:
            last_recorded = link.recorded_at
        prev_hash = link.hash
        expected_seq += 1
    return ChainReport(True, expected_seq - 1, prev_hash)


def checkpoint_body(case_id: str, length: int, head: str, signed_at: datetime) -> dict[str, Any]:
    return {
        "v": VERSION,
        "case": str(uuid.UUID(case_id)),
        "length": length,
        "head": head,
        "signed_at": format_timestamp(signed_at),
    }


def check_checkpoint_shape(document: Any) -> None:
    """Every rule of spec section 4 but the signature: the members and their values."""
    if not isinstance(document, Mapping) or set(document) != {
        "checkpoint",
        "signature",
        "certificate",
    }:
        raise FormatError(
            "checkpoint document must have exactly checkpoint, signature, certificate"
        )
    body = document["checkpoint"]
    if not isinstance(body, Mapping) or set(body) != CHECKPOINT_MEMBERS:
        raise FormatError("checkpoint must have exactly v, case, length, head, signed_at")
    check_json_value(body)
    if body["v"] != VERSION or not isinstance(body["length"], int) or body["length"] < 0:
        raise FormatError("checkpoint v or length is wrong")
    if not isinstance(body["head"], str) or not _HASH_RE.match(body["head"]):
        raise FormatError("checkpoint head must be 64 lowercase hex characters")
    if not isinstance(body["case"], str) or not _UUID_RE.match(body["case"]):
        raise FormatError("checkpoint case must be a lowercase UUID")
    parse_timestamp(body["signed_at"])


def verify_checkpoint(document: Any) -> x509.Certificate:
    """Check a signed checkpoint's shape and its signature against its own certificate.
    Returns the certificate so the caller can decide whether it trusts the signer."""
    check_checkpoint_shape(document)
    body = document["checkpoint"]
    try:
        certificate = x509.load_pem_x509_certificate(str(document["certificate"]).encode())
        signature = base64.b64decode(str(document["signature"]), validate=True)
    except ValueError as exc:
        raise FormatError(f"checkpoint certificate or signature cannot be read: {exc}") from exc
    public_key = certificate.public_key()
    data = canonical_bytes(body)
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            if not isinstance(public_key.curve, ec.SECP256R1):
                raise FormatError("checkpoint key must be on P-256")
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            if public_key.key_size < 3072:
                raise FormatError("checkpoint RSA key is shorter than 3072 bits")
            try:
                public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
                public_key.verify(signature, data, pss, hashes.SHA256())
        else:
            raise FormatError("checkpoint key type is not ECDSA P-256 or RSA")
    except InvalidSignature as exc:
        raise FormatError("checkpoint signature does not verify") from exc
    return certificate


# Reading untrusted JSON and JSON Lines in the chain's own strict form (spec sections 2, 5).


def reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in the chain format")


def parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"), parse_constant=reject_json_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"{what} is not valid UTF-8 JSON: {exc}") from exc


def _parse_line(raw: bytes, number: int) -> Any:
    value = parse_json(raw, f"entries.jsonl line {number}")
    if isinstance(value, Mapping):
        check_json_value(value)
        if canonical_bytes(value) != raw:
            raise FormatError(f"entries.jsonl line {number} is not in canonical form")
    return value


def parse_jsonl(data: bytes) -> list[Any]:
    if data and not data.endswith(b"\n"):
        raise FormatError("entries.jsonl must end with a newline")
    return [_parse_line(raw, number) for number, raw in enumerate(data.split(b"\n")[:-1], start=1)]


def iter_jsonl(handle: Iterable[bytes]) -> Iterator[Any]:
    """The lines of an entries.jsonl read from a stream one at a time, so that verifying a
    large upload holds one entry in memory, not all of them."""
    for number, raw in enumerate(handle, start=1):
        if not raw.endswith(b"\n"):
            raise FormatError("entries.jsonl must end with a newline")
        yield _parse_line(raw[:-1], number)
