"""Evidence files in the "evidence" storage alias: content-addressed, written once, never
overwritten or deleted by the app (except a stored copy whose bytes no longer match its name,
which is replaced by the right bytes). S3 replaces the file system by configuration alone.

A write is complete or absent: on the file system the bytes go to a temporary name in the
final directory, are flushed to disk and checked (size and SHA-256), and only then renamed
to their content address; on S3 a PUT is whole or nothing, and the stored object is read
back and checked. A full disk or a failing store is a StorageFull or StorageUnavailable,
never a partial file under an evidence name.

Every file in the alias (originals, derived copies, dossier PDFs) is sealed at rest
(SealedStorage: AES-256-GCM under its own data key, wrapped by the master key; the format is
locker/core/envelope.py, docs/storage-encryption.md); what callers read and what is hashed
is the plaintext. Files stored before sealing existed are read as they are, until `manage.py
encrypt_evidence` seals them."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, cast

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from locker.core import envelope
from locker.infra import master_keys
from locker.infra.content import ContentRefused, check_content, check_device_post

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


class StoredFileUnreadable(StorageError, OSError):
    """A stored file cannot be read back: its sealed bytes fail authentication (changed, cut,
    extended, reordered: an integrity failure), or the master key it is sealed under is not
    configured. An OSError too, so that readers which skip an unreadable file (thumbnails,
    dossier pictures) skip this one, and the chain check reports it. Logged with the name
    and the reason; the person is told only that the file cannot be read (503)."""

    def __init__(self, name: str, reason: str) -> None:
        log.error("stored file %s cannot be read: %s", name, reason)
        super().__init__(
            _(
                "a stored file cannot be read: it fails its integrity check. "
                "The operator has been told."
            )
        )
        self.name = name
        self.reason = reason


class StoredFileTampered(StoredFileUnreadable):
    """The sealed bytes fail authentication."""


class MasterKeyMissing(StoredFileUnreadable):
    """The file is sealed under a master key that is not configured."""


# errno values that mean "the disk or the quota is full".
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    storage_name: str


def evidence_storage() -> SealedStorage:
    """The "evidence" alias, sealing what it stores and unsealing what it opens."""
    return SealedStorage(storages["evidence"])


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


def spool_upload(
    upload: IO[bytes], *, max_bytes: int | None = None, device_post: bool = False
) -> SpooledUpload:
    """Copy an upload to a temporary file while hashing it, then check what it is by parsing
    it (locker/infra/content.py). Raises UploadError (FileTooLarge over the limit).
    `device_post`: the raw body a capture device received, checked as text instead."""
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
            media_type = check_device_post(spool) if device_post else check_content(spool)
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
    """Store `spool`'s bytes under `name`, sealed, so that afterwards the stored file opens to
    exactly those bytes (`sha256`, `size`), or raise StorageFull / StorageUnavailable having
    stored nothing under `name`. A copy already under `name` is kept only if it opens to them."""
    storage = evidence_storage()
    try:
        if storage.exists(name) and _matches(name, sha256, size):
            return
        spool.seek(0)
        _store_sealed(storage, name, spool, sha256=sha256, size=size)
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


class _Hashing:
    """A reader that hashes what is read through it."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


def _store_sealed(
    storage: SealedStorage, name: str, spool: IO[bytes], *, sha256: str, size: int
) -> None:
    """Seal `spool` (read from where it is) under `name`, replacing what is there whole."""
    inner = storage.inner
    if not isinstance(inner, FileSystemStorage):
        _write_object(storage, name, spool)
        return
    plain = _Hashing(spool)

    def unchanged() -> None:
        if (plain.digest.hexdigest(), plain.size) != (sha256, size):
            raise StorageUnavailable("the bytes changed while they were written")

    current = master_keys.keyring().current
    _write_file_atomically(inner, name, envelope.seal(plain, current), before_rename=unchanged)


def _write_file_atomically(
    storage: FileSystemStorage,
    name: str,
    chunks: Iterator[bytes],
    *,
    before_rename: Callable[[], None],
) -> None:
    path = storage.path(name)
    directory = os.path.dirname(path)
    _make_directories(directory, storage.directory_permissions_mode)
    temporary = os.path.join(directory, f".incoming-{secrets.token_hex(8)}")
    file_mode = storage.file_permissions_mode or 0o600
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode)
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        before_rename()
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
    # Deleted through the wrapped backend: a replacement keeps the older version on a
    # versioned bucket, where SealedStorage.delete (an erasure) would purge every version.
    backend = storage.inner if isinstance(storage, SealedStorage) else storage
    if backend.exists(name):
        backend.delete(name)
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


class _Unsealed(File):
    """A sealed file's plaintext, opened: reads that fail authentication raise
    StoredFileTampered (an OSError and a StorageError) rather than the format's ValueError."""

    def __init__(self, opened: envelope.Opened, name: str) -> None:
        # Opened is an io.RawIOBase, which the stubs do not count as an IO[bytes].
        super().__init__(cast(IO[bytes], opened), name=name)
        self._opened = opened

    def read(self, size: int = -1) -> bytes:
        try:
            return self._opened.read(size)
        except envelope.Tampered as exc:
            raise StoredFileTampered(str(self.name), str(exc)) from exc

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class SealedStorage(Storage):
    """Any Django Storage (the file system, S3 through django-storages), its files sealed:
    `save` seals what it is given, `open` (read-only) unseals, `size` is the plaintext's. A
    file without the sealed header is a plaintext one stored before sealing existed, and is
    read as it is. Names, listing, deletion and times are the wrapped storage's."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def __getattr__(self, attribute: str) -> Any:
        # The wrapped backend's own settings (location, modes, bucket) for those who ask.
        if attribute == "inner":
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode.strip("b") != "r":
            raise ValueError("sealed evidence files are opened for reading only")
        handle = self.inner.open(name, "rb")
        try:
            head = handle.read(len(envelope.MAGIC))
            if not envelope.is_sealed(head):
                handle.seek(0)
                return handle
            try:
                opened = envelope.open_sealed(handle, handle.size, master_keys.keyring().by_id)
            except envelope.UnknownKey as exc:
                raise MasterKeyMissing(name, str(exc)) from exc
            except envelope.EnvelopeError as exc:
                raise StoredFileTampered(name, str(exc)) from exc
        except BaseException:
            handle.close()
            raise
        return _Unsealed(opened, name)

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        """Seal `content` into a temporary file, then store that under `name` (or the name
        the wrapped storage chooses, as Storage.save does)."""
        if name is None:
            name = content.name
        if hasattr(content, "seek"):
            content.seek(0)
        with tempfile.TemporaryFile() as sealed:
            for chunk in envelope.seal(content, master_keys.keyring().current):
                sealed.write(chunk)
            sealed.seek(0)
            return self.inner.save(
                name, File(sealed, name=os.path.basename(name)), max_length=max_length
            )

    def _save(self, name: str, content: Any) -> str:
        return self.save(name, content)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def delete(self, name: str) -> None:
        self.inner.delete(name)
        if isinstance(self.inner, S3Storage):
            _purge_versions(self.inner, name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.inner.listdir(path)

    def size(self, name: str) -> int:
        total = self.inner.size(name)
        with self.inner.open(name, "rb") as handle:
            head = handle.read(envelope.HEADER_SIZE)
        if not envelope.is_sealed(head):
            return total
        try:
            return envelope.plain_size(total, envelope.Header.parse(head).segment_size)
        except envelope.EnvelopeError:
            return total  # cut short or damaged: opening it says so

    def path(self, name: str) -> str:
        return self.inner.path(name)

    def url(self, name: str | None) -> str:
        return self.inner.url(name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.inner.get_available_name(name, max_length=max_length)

    def get_accessed_time(self, name: str) -> datetime:
        return self.inner.get_accessed_time(name)

    def get_created_time(self, name: str) -> datetime:
        return self.inner.get_created_time(name)

    def get_modified_time(self, name: str) -> datetime:
        return self.inner.get_modified_time(name)

    def is_sealed(self, name: str) -> bool:
        with self.inner.open(name, "rb") as handle:
            return envelope.is_sealed(handle.read(len(envelope.MAGIC)))


def _purge_versions(storage: S3Storage, name: str) -> None:
    """Every stored version of `name` removed, and the delete marker the DELETE left: on a
    versioned bucket (compose.yaml's, docs/deploy.md) a plain DELETE only hides the object,
    and the app deletes to erase (an erased entry's file, a deleted case, an expired data
    export), so the bytes must go. Versioning still keeps what is overwritten (a re-wrap,
    a mismatching copy replaced) and whatever anyone without the app's credentials deletes."""
    key = storage._normalize_name(clean_name(name))
    for version in storage.bucket.object_versions.filter(Prefix=key):
        if version.object_key == key:
            version.delete()


def walk_stored(directory: str = "") -> Iterator[str]:
    """Every file name in the evidence alias under `directory`, leaving out temporary ones
    (`.incoming-*` and other dot-names: writes in flight)."""
    storage = evidence_storage()
    try:
        directories, files = storage.listdir(directory)
    except FileNotFoundError:
        return
    prefix = f"{directory}/" if directory else ""
    for file_name in sorted(files):
        if not file_name.startswith("."):
            yield f"{prefix}{file_name}"
    for sub in sorted(directories):
        yield from walk_stored(f"{prefix}{sub}")


def seal_stored(name: str, *, sha256: str | None) -> bool:
    """Seal a plaintext file stored before sealing existed, in place: its bytes are copied to
    a temporary file while hashed, checked against `sha256` when that is known (a file that
    no longer matches is left as it is, for the chain check to report), sealed under the
    same name whole or not at all, and read back. True when it was sealed; False when it
    already was, or does not match. Raises StorageFull / StorageUnavailable."""
    storage = evidence_storage()
    try:
        if storage.is_sealed(name):
            return False
        with tempfile.TemporaryFile() as spool:
            digest = hashlib.sha256()
            size = 0
            with storage.inner.open(name, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    spool.write(chunk)
            if sha256 is not None and digest.hexdigest() != sha256:
                log.warning("not sealing %s: its bytes no longer match its hash", name)
                return False
            spool.seek(0)
            _store_sealed(storage, name, spool, sha256=digest.hexdigest(), size=size)
        if not storage.is_sealed(name) or not _matches(name, digest.hexdigest(), size):
            raise StorageUnavailable(f"{name}: the sealed copy did not open to the same bytes")
    except StorageError:
        raise
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            raise StorageFull() from exc
        raise StorageUnavailable(repr(exc)) from exc
    return True


def rewrap_stored(name: str) -> bool:
    """Re-wrap a sealed file's data key under the current master key: the header is
    rewritten, the sealed segments are copied as they are (no bulk re-encryption), and the
    file under `name` is replaced whole. True when it was re-wrapped; False when it is
    already under the current key, or plaintext. Raises MasterKeyMissing when the key it is
    under is not configured, StorageFull / StorageUnavailable when the store fails."""
    storage = evidence_storage()
    ring = master_keys.keyring()
    try:
        with tempfile.TemporaryFile() as copy:
            with storage.inner.open(name, "rb") as handle:
                head = handle.read(envelope.HEADER_SIZE)
                if not envelope.is_sealed(head):
                    return False
                header = envelope.Header.parse(head)
                if header.key_id == ring.current_id:
                    return False
                try:
                    data_key = header.unwrap(ring.by_id)
                except envelope.UnknownKey as exc:
                    raise MasterKeyMissing(name, str(exc)) from exc
                except envelope.EnvelopeError as exc:
                    raise StoredFileTampered(name, str(exc)) from exc
                copy.write(header.rewrapped(data_key, ring.current).to_bytes())
                while chunk := handle.read(CHUNK):
                    copy.write(chunk)
            copy.seek(0)
            _replace_raw(storage, name, copy)
        with storage.inner.open(name, "rb") as handle:
            stored = envelope.Header.parse(handle.read(envelope.HEADER_SIZE))
        if stored.key_id != ring.current_id:
            raise StorageUnavailable(f"{name}: the re-wrapped header did not stay")
    except StorageError:
        raise
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            raise StorageFull() from exc
        raise StorageUnavailable(repr(exc)) from exc
    return True


def _replace_raw(storage: SealedStorage, name: str, raw: IO[bytes]) -> None:
    """Put already-sealed bytes under `name`, whole or not at all."""
    inner = storage.inner
    if isinstance(inner, FileSystemStorage):
        _write_file_atomically(
            inner, name, iter(lambda: raw.read(CHUNK), b""), before_rename=lambda: None
        )
        return
    _write_object(inner, name, raw)


def sealed_key_id(name: str) -> bytes | None:
    """The id of the master key a stored file is sealed under; None for a plaintext one."""
    with evidence_storage().inner.open(name, "rb") as handle:
        head = handle.read(envelope.HEADER_SIZE)
    if not envelope.is_sealed(head):
        return None
    return envelope.Header.parse(head).key_id


_probe_clients: dict[tuple[Any, ...], Any] = {}


def storage_answers(timeout_s: float = 2.0) -> bool:
    """Whether the evidence store can be used now, within about `timeout_s` (GET /readyz):
    the directory (or its nearest existing parent) is writable; the bucket answers a HEAD,
    through a client of its own with short timeouts and no retries, so that a store that
    does not answer costs the probe `timeout_s`, not the app's longer AWS_S3_TIMEOUT_S."""
    inner = storages["evidence"]
    try:
        if isinstance(inner, S3Storage):
            key = (inner.endpoint_url, inner.region_name, inner.access_key, inner.bucket_name)
            client = _probe_clients.get(key)
            if client is None:
                import boto3
                from botocore.config import Config

                style = inner.client_config.s3 or {}
                client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=inner.endpoint_url,
                    region_name=inner.region_name,
                    aws_access_key_id=inner.access_key,
                    aws_secret_access_key=inner.secret_key,
                    config=Config(
                        connect_timeout=timeout_s,
                        read_timeout=timeout_s,
                        retries={"max_attempts": 1, "mode": "standard"},
                        s3=style,
                    ),
                )
                _probe_clients[key] = client
            client.head_bucket(Bucket=inner.bucket_name)
            return True
        if isinstance(inner, FileSystemStorage):
            path = os.path.abspath(inner.location)
            while not os.path.exists(path) and os.path.dirname(path) != path:
                path = os.path.dirname(path)
            return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)
        inner.exists("readyz-probe")
        return True
    except Exception:  # the store's own errors (botocore, OSError): not ready
        log.warning("readyz: the evidence store does not answer", exc_info=True)
        return False
