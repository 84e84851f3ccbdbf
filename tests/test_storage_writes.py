"""Evidence writes are whole or absent: a full disk part-way through leaves nothing under the
file's content address, a stored copy is trusted only if its bytes match, and a refused write
changes nothing in the chain."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from locker import services
from locker.core import chain
from locker.infra import storage
from locker.models import EvidenceFile

from .dossier_helpers import png_of_size
from .factories import make_case
from .personas import Personas
from .ui_helpers import csrf_post

pytestmark = pytest.mark.django_db


class DiskFillsAfter:
    """A file handle on a disk with `room` bytes left: writes past it fail with ENOSPC."""

    def __init__(self, handle: Any, room: int) -> None:
        self.handle, self.room = handle, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            self.handle.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return int(self.handle.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    def __enter__(self) -> DiskFillsAfter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def fill_disk_after(monkeypatch: pytest.MonkeyPatch, room: int) -> None:
    real_fdopen = os.fdopen
    monkeypatch.setattr(
        storage.os, "fdopen", lambda fd, *a, **k: DiskFillsAfter(real_fdopen(fd, *a, **k), room)
    )


def media_files(settings: Any) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def picture(size: int = 300_000) -> bytes:
    return png_of_size(size)  # big enough to span chunks


def append_with_picture(case: Any) -> None:
    services.append_entry(
        case=case,
        author="user:1",
        kind="note",
        body={"text": "x"},
        uploads=[services.Upload("shot.png", io.BytesIO(picture()))],
    )


@pytest.mark.parametrize("room", [0, 1, storage.CHUNK, 3 * storage.CHUNK + 5])
def test_a_full_disk_part_way_stores_nothing_and_says_so(settings, monkeypatch, room) -> None:
    case = make_case()
    fill_disk_after(monkeypatch, room)
    with pytest.raises(storage.StorageFull):
        append_with_picture(case)
    assert media_files(settings) == []
    assert case.entries.count() == 1 and not EvidenceFile.objects.exists()


def test_the_same_bytes_sent_again_after_space_is_freed_are_stored_whole(
    settings, monkeypatch
) -> None:
    case = make_case()
    data = picture()
    fill_disk_after(monkeypatch, storage.CHUNK)
    with pytest.raises(storage.StorageFull):
        storage.store_upload(str(case.id), io.BytesIO(data))
    monkeypatch.undo()
    stored = storage.store_upload(str(case.id), io.BytesIO(data))
    assert storage.rehash_stored(stored.storage_name) == (chain.sha256_hex(data), len(data))


def test_a_stored_copy_whose_bytes_do_not_match_is_replaced(settings) -> None:
    case = make_case()
    data = picture()
    name = storage.storage_name_for(str(case.id), chain.sha256_hex(data))
    target = Path(settings.MEDIA_ROOT) / name
    target.parent.mkdir(parents=True)
    target.write_bytes(data[: len(data) // 2])  # what a failed write used to leave behind
    storage.store_upload(str(case.id), io.BytesIO(data))
    with storage.evidence_storage().open(name) as stored:  # sealed on disk: read through it
        assert stored.read() == data
    assert media_files(settings) == [target]


def test_a_matching_stored_copy_is_not_written_again(settings, monkeypatch) -> None:
    case = make_case()
    data = picture()
    stored = storage.store_upload(str(case.id), io.BytesIO(data))
    monkeypatch.setattr(storage.os, "fdopen", lambda *a, **k: pytest.fail("written again"))
    assert storage.store_upload(str(case.id), io.BytesIO(data)) == stored


def test_files_and_directories_keep_the_configured_modes(settings) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": str(settings.MEDIA_ROOT),
                "file_permissions_mode": 0o600,
                "directory_permissions_mode": 0o700,
            },
        },
    }
    stored = storage.store_upload(str(make_case().id), io.BytesIO(picture()))
    path = Path(settings.MEDIA_ROOT) / stored.storage_name
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_another_failure_of_the_store_is_unavailable_not_full(settings, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storage.os, "fsync", broken)
    with pytest.raises(storage.StorageUnavailable):
        storage.store_upload(str(make_case().id), io.BytesIO(picture()))
    assert media_files(settings) == []


# What the person sending is told: the API, the page's upload script and the plain form.


def an_upload(name: str = "shot.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, picture(), content_type="image/png")


@pytest.mark.parametrize(
    ("error", "status"), [(errno.ENOSPC, 507), (errno.EIO, 503)], ids=["full", "failing"]
)
def test_the_api_says_full_or_unavailable_and_records_nothing(
    world: Personas, monkeypatch, error, status
) -> None:
    before = world.case.entries.count()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(storage.os, "fsync", broken)
    entry = json.dumps({"kind": "note", "body": {"text": "录音"}})
    response = world.api("owner").post_multipart(
        f"/api/cases/{world.case.id}/entries", {"entry": entry, "files": [an_upload()]}
    )
    assert response.status_code == status
    assert "nothing was saved" in response.json()["detail"]
    assert ("Retry-After" in response) == (status == 503)
    assert world.case.entries.count() == before


@pytest.mark.parametrize("script", [True, False], ids=["upload script", "plain form"])
def test_the_page_says_the_store_is_full_in_the_users_language(
    world: Personas, monkeypatch, script
) -> None:
    before = world.case.entries.count()
    fill_disk_after(monkeypatch, 0)
    extra = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"} if script else {}
    response = csrf_post(
        world.web("owner"),
        reverse("log_entry", args=[world.case.pk, "note"]),
        {"text": "他们又打电话了", "occurred_at": "2026-11-28T22:40", "files": [an_upload()]},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **extra,
    )
    assert response.status_code == 507
    zh = "服务器没有空间保存这个文件"
    if script:
        assert zh in response.json()["errors"][0]
    else:
        assert zh in response.content.decode() and 'id="quick-exit"' in response.content.decode()
    assert world.case.entries.count() == before


def test_a_file_removed_before_its_entry_is_made_fails_the_append(settings, monkeypatch) -> None:
    # evidence_orphans removing the file between the upload and the entry (both under the
    # case's lock): the append must fail as a retryable error, never name a missing file.
    case = make_case()
    real_store = storage.store_spooled

    def store_then_lose(case_id: str, spooled: Any) -> storage.StoredFile:
        stored = real_store(case_id, spooled)
        storage.evidence_storage().delete(stored.storage_name)
        return stored

    monkeypatch.setattr("locker.services.entries.store_spooled", store_then_lose)
    with pytest.raises(storage.StorageUnavailable):
        append_with_picture(case)
    assert case.entries.count() == 1 and not EvidenceFile.objects.exists()
