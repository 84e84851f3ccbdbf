"""Sealed values in the database: a small JSON object encrypted at rest in the sealed-file
format (locker/core/envelope.py) under the current master key, like the stored files. Used
for the complainant's identity and contact details (locker/models/complainant.py).

Each value names what it belongs to (`purpose`, e.g. "complainant:<user id>") inside the
encrypted part, and opening it checks that name: a sealed value copied onto another row
does not open there."""

from __future__ import annotations

import json
from typing import Any

from locker.core import envelope
from locker.infra import master_keys


class SealedValueUnreadable(Exception):
    """The value does not open: its master key is not configured, or it was changed."""


def seal_json(value: dict[str, Any], *, purpose: str) -> bytes:
    plain = json.dumps({"for": purpose, "value": value}, ensure_ascii=False).encode()
    return envelope.seal_bytes(plain, master_keys.keyring().current)


def open_json(sealed: bytes | memoryview | None, *, purpose: str) -> dict[str, Any]:
    """The sealed object, {} for none. Raises SealedValueUnreadable."""
    if not sealed:
        return {}
    try:
        document = json.loads(envelope.open_bytes(bytes(sealed), master_keys.keyring().by_id))
    except (envelope.EnvelopeError, ValueError) as exc:
        raise SealedValueUnreadable(str(exc)) from exc
    if not isinstance(document, dict) or document.get("for") != purpose:
        raise SealedValueUnreadable(f"the sealed value is not the one of {purpose}")
    value = document.get("value")
    return value if isinstance(value, dict) else {}


def rewrapped(sealed: bytes | memoryview) -> bytes | None:
    """The value re-wrapped under the current master key, None when it already is. Raises
    SealedValueUnreadable when the key it is under is not configured."""
    ring = master_keys.keyring()
    try:
        return envelope.rewrap_bytes(bytes(sealed), ring.by_id, ring.current)
    except envelope.EnvelopeError as exc:
        raise SealedValueUnreadable(str(exc)) from exc


def key_id_of(sealed: bytes | memoryview) -> bytes | None:
    data = bytes(sealed)
    if not envelope.is_sealed(data):
        return None
    return envelope.Header.parse(data[: envelope.HEADER_SIZE]).key_id
