"""A body that stops part-way (a phone losing signal, an app killed mid-upload) or lacks its
closing boundary is refused with a 400 and stores nothing. Sent over a raw socket to a real
server, since a test client cannot send a body shorter than its Content-Length."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from locker import services
from locker.models import Entry, EvidenceFile

from .dossier_helpers import png_of_size
from .factories import make_case
from .ui_helpers import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "----locker-test-boundary"


def multipart(entry: dict[str, object], picture: bytes) -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="entry"\r\n\r\n'
            f"{json.dumps(entry)}\r\n"
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="files"; filename="shot.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + picture
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def send(url: str, path: str, token: str, body: bytes, content_length: int) -> tuple[int, bytes]:
    """POST `body` announcing `content_length` bytes, then stop sending, as a client that
    lost its connection does; returns the status and body of the answer."""
    parts = urlsplit(url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {content_length}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(head + body)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.fixture
def target(live_server):
    case = make_case()
    token = services.issue_token(user=case.owner)[1]
    return live_server.url, f"/api/cases/{case.id}/entries", token, case


def test_a_whole_body_is_recorded(target) -> None:
    url, path, token, case = target
    body = multipart({"kind": "note", "body": {"text": "录音"}}, png_of_size(200_000))
    status, answer = send(url, path, token, body, len(body))
    assert status == 201, answer
    assert Entry.objects.filter(case=case).count() == 2


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.99])
def test_a_body_cut_part_way_stores_nothing(target, fraction) -> None:
    url, path, token, case = target
    body = multipart({"kind": "note", "body": {"text": "录音"}}, png_of_size(200_000))
    status, answer = send(url, path, token, body[: int(len(body) * fraction)], len(body))
    assert status == 400, answer
    assert "cut off" in json.loads(answer)["detail"] or "malformed" in json.loads(answer)["detail"]
    assert Entry.objects.filter(case=case).count() == 1
    assert not EvidenceFile.objects.filter(case=case).exists()


def test_a_body_without_its_closing_boundary_stores_nothing(target) -> None:
    url, path, token, case = target
    body = multipart({"kind": "note", "body": {"text": "录音"}}, png_bytes())
    cut = body[: body.rindex(f"\r\n--{BOUNDARY}--".encode())]
    status, answer = send(url, path, token, cut, len(cut))
    assert status == 400, answer
    assert Entry.objects.filter(case=case).count() == 1
