"""The evidence store fills up: gunicorn's MEDIA_ROOT is a 2 MB tmpfs. Uploads until it is
full are answered 201 or 507 with a clear JSON message, never 500; no partial file is left
under an evidence name; a page's picture of stored evidence is the "being prepared"
placeholder (the worker makes pictures, the web writes none), never a 500 or a partial
derived copy; once space is freed, the refused bytes sent again are stored whole and a
worker makes the pictures;
a stale partial copy under a file's name (what an older version left) is replaced; and the
chain verifies, every stored file hashing to its name."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.dossier_helpers import png_of_size
from tests.prerequisites import needs

from .conftest import SLOW_S, Stack, Timed, Visitor, needs_redis_server, signed_in
from .processes import can_mount_tmpfs, mount_tmpfs, unmount, unsealed

pytestmark = [
    pytest.mark.faults,
    needs_redis_server,
    needs(can_mount_tmpfs(), "mounting a tmpfs (root, outside a locked-down container)"),
]

FILE_SIZE = 300 * 1024
MAX_UPLOADS = 12  # 2 MB hold at most six such files: bounds the run whatever happens


def evidence_bytes(number: int) -> bytes:
    """A distinct 300 kB PNG."""
    return png_of_size(FILE_SIZE, seed=number)


@pytest.fixture
def media(stack: Stack) -> Iterator[Path]:
    """The stack's MEDIA_ROOT on a 2 MB tmpfs, mounted before the web server starts."""
    directory = Path(stack.env["MEDIA_ROOT"])
    mount_tmpfs(directory, "2m")
    try:
        yield directory
    finally:
        unmount(directory)


def fill(path: Path) -> int:
    """Write to `path` until the disk is full; the bytes written."""
    written = 0
    with path.open("ab", buffering=0) as handle:
        try:
            while True:
                written += handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return written


def upload(visitor: Visitor, case_id: str, content: bytes) -> requests.Response:
    sha256 = hashlib.sha256(content).hexdigest()
    entry = {
        "kind": "message",
        "body": {"channel": "wechat", "sender": "催收", "text": sha256[:12]},
        "files": [{"size": len(content), "sha256": sha256}],
    }
    return visitor.api(
        "POST",
        f"/api/cases/{case_id}/entries",
        data={"entry": json.dumps(entry, ensure_ascii=False)},
        files=[("files", (f"{sha256[:8]}.png", content, "image/png"))],
    )


def assert_refused_as_full(response: requests.Response) -> None:
    assert response.status_code == 507, response.text[:500]
    assert response.headers["Content-Type"] == "application/json"
    assert "no room to store the file" in response.json()["detail"]


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in (media / "evidence").rglob("*") if p.is_file())


def assert_every_stored_file_is_whole(media: Path) -> None:
    for path in stored_files(media):
        assert not path.name.startswith(".incoming-"), f"temporary file left: {path}"
        assert hashlib.sha256(unsealed(path)).hexdigest() == path.name, f"corrupt: {path}"


def test_a_full_evidence_store_refuses_with_507_and_stores_whole_files_after(
    stack: Stack, media: Path
) -> None:
    timed = Timed()
    web, visitor, case_id = signed_in(stack, timed, "磁盘满")
    filler = media / "filler"  # ours, not evidence: freed later
    filler.write_bytes(b"\0" * (1024 * 1024))

    stored: dict[str, bytes] = {}  # sha256 -> bytes, acknowledged
    refused: list[bytes] = []
    for number in range(MAX_UPLOADS):
        content = evidence_bytes(number)
        entries = stack.count("locker_entry")
        response = upload(visitor, case_id, content)
        if response.status_code == 201:
            stored[hashlib.sha256(content).hexdigest()] = content
            continue
        assert_refused_as_full(response)
        assert stack.count("locker_entry") == entries, "a refused upload left an entry"
        refused.append(content)
        assert_every_stored_file_is_whole(media)
        if len(refused) == 2:
            break
    print(f"disk full after {len(stored)} files; refused {len(refused)} with 507")
    assert stored and refused, "the disk never filled, or nothing fitted: the test proved nothing"
    assert stack.count("locker_evidencefile") == len(stored)

    # Quite full now (what the failed write held was freed: fill the rest): the web form is
    # refused with a page too, and a picture of stored evidence is no 500.
    fill(media / "filler-rest")
    web_form = visitor.browser.post(
        f"{web.base_url}/cases/{case_id}/log/note/",
        data={
            "text": "网页上传",
            "occurred_at": "2026-01-05T23:20",
            "submission": str(uuid.uuid4()),
            "csrfmiddlewaretoken": visitor.browser.cookies["csrftoken"],
        },
        files=[("files", ("web.png", refused[0], "image/png"))],
        allow_redirects=False,
        timeout=10,
    )
    assert web_form.status_code == 507, web_form.text[:500]
    assert "text/html" in web_form.headers["Content-Type"]
    first = next(iter(stored))
    picture_path = f"/cases/{case_id}/files/{first}/view.jpg"
    # Pictures are the worker's (none runs yet): the web answers with the "being prepared"
    # placeholder, writes nothing and decodes nothing, full disk or not.
    picture = visitor.page(picture_path)
    assert picture.status_code == 200, picture.text[:500]
    assert picture.headers["Content-Type"].startswith("image/svg+xml")
    derived = media / "derived"
    assert not derived.exists() or not any(p.is_file() for p in derived.rglob("*"))
    assert_every_stored_file_is_whole(media)

    # Space freed: the refused bytes, sent again, are stored whole.
    filler.unlink()
    (media / "filler-rest").unlink()
    for content in refused:
        response = upload(visitor, case_id, content)
        assert response.status_code == 201, response.text[:500]
        stored[hashlib.sha256(content).hexdigest()] = content
    # A worker now makes the pictures the appends asked for; the page then serves one.
    stack.worker()
    deadline = time.monotonic() + 60
    while True:
        picture = visitor.page(picture_path)
        assert picture.status_code == 200, picture.text[:500]
        if picture.headers["Content-Type"] == "image/jpeg" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert Image.open(io.BytesIO(picture.content)).format == "JPEG"

    # A partial copy under a file's name (the corruption an older version left) is not
    # trusted: the upload replaces it with the whole bytes.
    content = evidence_bytes(MAX_UPLOADS)
    sha256 = hashlib.sha256(content).hexdigest()
    stale = media / "evidence" / case_id / sha256[:2] / sha256
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(content[: len(content) // 3])
    response = upload(visitor, case_id, content)
    assert response.status_code == 201, response.text[:500]
    stored[sha256] = content
    assert unsealed(stale) == content

    assert_every_stored_file_is_whole(media)
    assert {p.name for p in stored_files(media)} == set(stored)
    for path in stored_files(media):
        assert unsealed(path) == stored[path.name]
    assert [call for call in timed.calls if call[1] >= 500 and call[1] != 507] == []
    assert timed.slowest() < SLOW_S
    verified = stack.manage("verify_chain")
    assert f"ok   {case_id}" in verified
    assert "no longer match" not in verified
