"""Evidence files in the "evidence" storage alias: content-addressed, written once, never
overwritten or deleted by the app (except a stored copy whose bytes no longer match its name,
which is replaced by the right bytes). S3 replaces the file system by configuration alone.

A write is complete or absent: on the file system the bytes go to a temporary name in the
final directory, are flushed to disk and checked (size and SHA-256), and only then renamed
to their content address; on S3 a PUT is whole or nothing, and the stored object is read
back and checked. A full disk or a failing store is a StorageFull or StorageUnavailable,
never a partial file under an evidence name."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from locker.infra.content import ContentRefused, check_content

CHUNK = 64 * 1024
log = logging.getLogger(__name__)


class UploadError(ValueError):
    """The upload is refused. The message is lazy: it is put into words in the language
    active where it is shown (the page's, or English for the API)."""


class FileTooLarge(UploadError):
    """The file is over LOCKER_MAX_UPLOAD_BYTES (or the limit passed)."""


class StorageError(RuntimeError):
    """Storing evidence failed for a reason that is not the upload's fault. Nothing was
    stored under an evidence name; the message is lazy, like UploadError's."""


class StorageFull(StorageError):
    """No space left (ENOSPC, EDQUOT): the operator must free space; answer 507."""

    def __init__(self) -> None:
        super().__init__(
            _("the server has no room to store the file; nothing was saved. Try again later.")
        )


class StorageUnavailable(StorageError):
    """The store failed or answered wrongly; worth retrying later: answer 503. What went
    wrong is logged, not shown: it can name paths and internals."""

    def __init__(self, cause: str) -> None:
        log.warning("evidence store unavailable: %s", cause)
        super().__init__(
            _(
                "the file could not be stored just now; nothing was saved. "
                "Try again in a few minutes."
            )
        )


# errno values that mean "the disk or the quota is full".
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    storage_name: str


def evidence_storage() -> Storage:
    return storages["evidence"]


def storage_name_for(case_id: str, sha256: str) -> str:
    return f"evidence/{case_id}/{sha256[:2]}/{sha256}"


def clean_file_name(name: str | None) -> str:
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:200] or "file"


@dataclass
class SpooledUpload:
    """An upload copied to a private temporary file, hashed and its content checked, not yet
    stored: every file of a request is spooled and checked before any is stored, so a refused
    file leaves nothing behind. Close it (or use it as a context manager) when done."""

    spool: IO[bytes]
    sha256: str
    size: int
    media_type: str

    def close(self) -> None:
        self.spool.close()

    def __enter__(self) -> SpooledUpload:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def spool_upload(upload: IO[bytes], *, max_bytes: int | None = None) -> SpooledUpload:
    """Copy an upload to a temporary file while hashing it, then check what it is by parsing
    it (locker/infra/content.py). Raises UploadError (FileTooLarge over the limit)."""
    limit = max_bytes if max_bytes is not None else settings.LOCKER_MAX_UPLOAD_BYTES
    digest = hashlib.sha256()
    size = 0
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        if hasattr(upload, "seek"):
            upload.seek(0)
        while chunk := upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise FileTooLarge(
                    format_lazy(
                        _("file is larger than the limit of {megabytes} MB"),
                        megabytes=limit // (1024 * 1024),
                    )
                )
            digest.update(chunk)
            spool.write(chunk)
        if size == 0:
            raise UploadError(_("file is empty"))
        spool.flush()
        try:
            media_type = check_content(spool)
        except ContentRefused as exc:
            raise UploadError(exc.args[0]) from exc
    except BaseException:
        spool.close()
        raise
    return SpooledUpload(spool=spool, sha256=digest.hexdigest(), size=size, media_type=media_type)


def store_spooled(case_id: str, spooled: SpooledUpload) -> StoredFile:
    """Store a checked upload under its content address in the case (kept as it is when
    those bytes are already there). Raises StorageFull / StorageUnavailable."""
    name = storage_name_for(case_id, spooled.sha256)
    write_verified(name, spooled.spool, sha256=spooled.sha256, size=spooled.size)
    return StoredFile(
        sha256=spooled.sha256, size=spooled.size, media_type=spooled.media_type, storage_name=name
    )


def store_upload(case_id: str, upload: IO[bytes], *, max_bytes: int | None = None) -> StoredFile:
    """Spool, check and store one upload."""
    with spool_upload(upload, max_bytes=max_bytes) as spooled:
        return store_spooled(case_id, spooled)


def _matches(name: str, sha256: str, size: int) -> bool:
    return rehash_stored(name) == (sha256, size)


def write_verified(name: str, spool: IO[bytes], *, sha256: str, size: int) -> None:
    """Store `spool`'s bytes under `name` so that afterwards the stored bytes are exactly
    those (`sha256`, `size`), or raise StorageFull / StorageUnavailable having stored nothing
    under `name`. A copy already under `name` is kept only if its bytes match."""
    storage = evidence_storage()
    try:
        if storage.exists(name) and _matches(name, sha256, size):
            return
        spool.seek(0)
        if isinstance(storage, FileSystemStorage):
            _write_file_atomically(storage, name, spool, sha256=sha256, size=size)
        else:
            _write_object(storage, name, spool)
        if not _matches(name, sha256, size):
            raise StorageUnavailable("the stored copy did not match what was sent")
    except StorageError:
        raise
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            raise StorageFull() from exc
        raise StorageUnavailable(repr(exc)) from exc
    except Exception as exc:
        # Object stores raise their own errors (botocore's ClientError, EndpointConnectionError
        # …); to the caller each means "not stored, try again later".
        raise StorageUnavailable(repr(exc)) from exc


def _write_file_atomically(
    storage: FileSystemStorage, name: str, spool: IO[bytes], *, sha256: str, size: int
) -> None:
    path = storage.path(name)
    directory = os.path.dirname(path)
    _make_directories(directory, storage.directory_permissions_mode)
    temporary = os.path.join(directory, f".incoming-{secrets.token_hex(8)}")
    file_mode = storage.file_permissions_mode or 0o600
    digest = hashlib.sha256()
    written = 0
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode)
        with os.fdopen(descriptor, "wb") as handle:
            while chunk := spool.read(CHUNK):
                handle.write(chunk)
                digest.update(chunk)
                written += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if (digest.hexdigest(), written) != (sha256, size):
            raise StorageUnavailable("the bytes changed while they were written")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # The rename is durable only once the directory entry is on disk too.
    directory_descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_descriptor)
    finally:
        os.close(directory_descriptor)


def _make_directories(directory: str, mode: int | None) -> None:
    # As FileSystemStorage does: the configured mode regardless of the process's umask.
    if mode is None:
        os.makedirs(directory, exist_ok=True)
        return
    old_umask = os.umask(0o777 & ~mode)
    try:
        os.makedirs(directory, mode=mode, exist_ok=True)
    finally:
        os.umask(old_umask)


def _write_object(storage: Storage, name: str, spool: IO[bytes]) -> None:
    # An object store's PUT is whole or nothing; a stale object under the name is replaced.
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, File(spool, name=os.path.basename(name)))
    if saved != name:
        raise StorageUnavailable(f"saved under {saved!r}, not {name!r}")


def iter_stored(storage_name: str) -> Iterator[bytes]:
    with evidence_storage().open(storage_name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def rehash_stored(storage_name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in iter_stored(storage_name):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
