"""Evidence files in the "evidence" storage alias: content-addressed, written once, never
overwritten or deleted by the app. S3 replaces the file system by configuration alone."""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import filetype
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

CHUNK = 64 * 1024

# What collectors send and phones record: screenshots, photos, call recordings, documents.
ALLOWED_MEDIA_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/bmp",
        "audio/mpeg",
        "audio/mp4",
        "audio/m4a",
        "audio/x-m4a",
        "audio/amr",
        "audio/x-wav",
        "audio/wav",
        "audio/ogg",
        "audio/aac",
        "audio/x-flac",
        "audio/flac",
        "video/mp4",
        "video/3gpp",
        "application/pdf",
    }
)


class UploadError(ValueError):
    """The upload is refused. The message is lazy: it is put into words in the language
    active where it is shown (the page's, or English for the API)."""


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


def sniff_media_type(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = str(kind.mime)
    if mime == "video/mp4" and b"M4A " in head[:32]:
        return "audio/mp4"
    return mime


def store_upload(case_id: str, upload: IO[bytes], *, max_bytes: int | None = None) -> StoredFile:
    """Copy an upload to a temporary file while hashing it, check it, then store it under
    its hash unless those bytes are already stored for this case."""
    limit = max_bytes if max_bytes is not None else settings.LOCKER_MAX_UPLOAD_BYTES
    digest = hashlib.sha256()
    size = 0
    head = b""
    with tempfile.TemporaryFile() as spool:
        if hasattr(upload, "seek"):
            upload.seek(0)
        while chunk := upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise UploadError(
                    format_lazy(
                        _("file is larger than the limit of {megabytes} MB"),
                        megabytes=limit // (1024 * 1024),
                    )
                )
            if len(head) < 8192:
                head += chunk[: 8192 - len(head)]
            digest.update(chunk)
            spool.write(chunk)
        if size == 0:
            raise UploadError(_("file is empty"))
        media_type = sniff_media_type(head)
        if media_type not in ALLOWED_MEDIA_TYPES:
            raise UploadError(
                _("file type is not accepted: send images, audio recordings, videos or PDFs")
            )
        sha256 = digest.hexdigest()
        name = storage_name_for(case_id, sha256)
        storage = evidence_storage()
        if not storage.exists(name):
            spool.seek(0)
            saved = storage.save(name, File(spool, name=sha256))
        else:
            saved = name
    return StoredFile(sha256=sha256, size=size, media_type=media_type, storage_name=saved)


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
