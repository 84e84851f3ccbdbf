"""Idempotency keys for the API's creating POSTs (issue 10): a retry with the same
`Idempotency-Key` and the same request gets the first result again (same seq, same
receipt); the same key with another request is refused.

The key's row is inserted, the action run and its result stored in one transaction. A
concurrent retry with the same key therefore waits on the row's unique index (PostgreSQL)
or on the write lock (SQLite, BEGIN IMMEDIATE) until the first commits, and then finds the
stored result; if the first failed, nothing was committed and the retry runs the action
itself. There is never a row without its result, nor two rows for one key."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from locker.models import IdempotencyKey

# Keys are kept at least this long; the periodic clean-up removes older ones.
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
_KEY_PATTERN = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
_CHUNK = 64 * 1024

Action = Callable[[], tuple[int, bytes]]


class IdempotencyError(ValueError):
    """A refused Idempotency-Key; the message is lazy, put into words where it is shown."""


class InvalidIdempotencyKey(IdempotencyError):
    """The header is not 1–255 printable ASCII characters: answer 400."""

    def __init__(self) -> None:
        super().__init__(
            gettext_lazy("Idempotency-Key must be 1 to 255 printable ASCII characters")
        )


class IdempotencyKeyReused(IdempotencyError):
    """The key was used before with another request: answer 422."""

    def __init__(self) -> None:
        super().__init__(
            gettext_lazy(
                "this Idempotency-Key was already used for a different request; "
                "send a new key with a new request"
            )
        )


def is_kept(status_code: int) -> bool:
    """Whether a result is stored for replay. Server errors and rate limits are not: the
    client is meant to try again, and the retry must run the action again."""
    return status_code < 500 and status_code != 429


def validate_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not _KEY_PATTERN.fullmatch(key):
        raise InvalidIdempotencyKey()
    return key


def _framed(digest: Any, part: bytes) -> None:
    # Length-prefixed, so that no two different requests hash the same parts alike.
    digest.update(len(part).to_bytes(8, "big"))
    digest.update(part)


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """SHA-256 (hex) of a request with a body read whole (JSON)."""
    digest = hashlib.sha256(b"request\n")
    for part in (method.upper().encode(), path.encode(), body):
        _framed(digest, part)
    return digest.hexdigest()


def multipart_fingerprint(
    *,
    method: str,
    path: str,
    fields: Iterable[tuple[str, str]],
    files: Iterable[tuple[str, str, IO[bytes]]],
) -> str:
    """SHA-256 (hex) of a multipart request from its parsed parts: fields (name, value) and
    files (field name, file name, stream; each read in chunks, then rewound for the action).
    Not of the raw body: a client's retry may choose a new boundary, and a body with files
    is larger than Django lets `request.body` read."""
    digest = hashlib.sha256(b"multipart\n")
    for part in (method.upper().encode(), path.encode()):
        _framed(digest, part)
    for name, value in fields:
        _framed(digest, b"field")
        _framed(digest, name.encode())
        _framed(digest, value.encode())
    for field, file_name, stream in files:
        _framed(digest, b"file")
        _framed(digest, field.encode())
        _framed(digest, file_name.encode())
        content = hashlib.sha256()
        size = 0
        stream.seek(0)
        while chunk := stream.read(_CHUNK):
            content.update(chunk)
            size += len(chunk)
        stream.seek(0)
        _framed(digest, size.to_bytes(8, "big") + content.digest())
    return digest.hexdigest()


class _NotKept(Exception):
    """Leaves the transaction so that neither the key nor the action's writes are kept."""

    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.body = body


def run_once(*, user: Any, key: str, fingerprint: str, action: Action) -> tuple[int, bytes, bool]:
    """Run `action` once per (user, key) and return (status, body, replayed).

    First request with a key: runs `action` and, if its status is kept (is_kept), stores
    status and body with the key; replayed is False. A later request with the same key and
    fingerprint: the stored status and body, replayed True, without running `action`.
    Same key, other fingerprint: IdempotencyKeyReused. A key that is not 1–255 printable
    ASCII: InvalidIdempotencyKey.

    `action` runs inside this function's transaction. When it returns a status that is not
    kept (5xx, 429) or raises, that transaction is rolled back: the key is not stored, and
    nor is anything `action` wrote, so the client's retry starts afresh."""
    validate_key(key)
    try:
        with transaction.atomic():
            # Inserting the key first is what serializes concurrent retries: a second insert
            # of the same (user, key) waits until this transaction ends, then fails and reads
            # the committed row (get_or_create retries the read after an IntegrityError).
            record, created = IdempotencyKey.objects.get_or_create(
                user=user, key=key, defaults={"fingerprint": fingerprint}
            )
            if not created:
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                return int(record.status_code or 0), bytes(record.response_body), True
            status_code, body = action()
            if not is_kept(status_code):
                raise _NotKept(status_code, body)
            record.status_code = status_code
            record.response_body = body
            record.save(update_fields=["status_code", "response_body"])
            return status_code, body, False
    except _NotKept as not_kept:
        return not_kept.status_code, not_kept.body, False


def delete_expired_keys(*, older_than: timedelta = KEY_LIFETIME) -> int:
    """Remove keys older than `older_than` (never less than KEY_LIFETIME: clients are
    promised that long); returns how many. Meant to run periodically."""
    cutoff = timezone.now() - max(older_than, KEY_LIFETIME)
    with transaction.atomic():
        deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
