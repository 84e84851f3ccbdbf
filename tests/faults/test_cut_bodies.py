"""A client that stops sending part-way through an upload (a phone losing signal, an app
killed) against the real server, gunicorn: a raw socket sends a multipart entry POST with a
~300 kB file, cut at several offsets, then shuts down its write side. Each answer is a 400
(or the connection closes unanswered) and nothing is stored: no entry, no EvidenceFile row,
no file. The same body sent whole is recorded with its file, byte-exact. For the API and for
the web quick-log form."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dossier_helpers import png_of_size

from .conftest import SLOW_S, Stack, Timed, needs_redis_server, signed_in
from .processes import Gunicorn, unsealed

pytestmark = [pytest.mark.faults, needs_redis_server]

BOUNDARY = "----locker-faults-" + uuid.uuid4().hex
FILE_SIZE = 300 * 1024


def evidence_bytes() -> bytes:
    return png_of_size(FILE_SIZE)


def multipart(fields: list[tuple[str, str]], file_field: str, content: bytes) -> bytes:
    parts = b""
    for name, value in fields:
        parts += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    parts += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{file_field}"; '
        'filename="shot.png"\r\nContent-Type: image/png\r\n\r\n'
    ).encode()
    return parts + content + f"\r\n--{BOUNDARY}--\r\n".encode()


@dataclass
class Cut:
    name: str
    sent: bytes  # what the client sends before it stops
    declared: int  # its Content-Length


def cuts(body: bytes, content: bytes, json_text: bytes | None) -> list[Cut]:
    """The body cut where a lost connection can cut it; the last one has an honest length
    but no closing boundary (a client that built the body wrong, or a proxy that cut it)."""
    file_start = body.index(content[:64])
    closing = body.rindex(f"\r\n--{BOUNDARY}--".encode())
    found: list[Cut] = []
    if json_text is not None:
        inside_json = body.index(json_text) + len(json_text) // 2
        found.append(Cut("inside the entry JSON", body[:inside_json], len(body)))
    found += [
        Cut("at the file's start", body[: file_start + 10], len(body)),
        Cut("inside the file", body[: file_start + len(content) // 2], len(body)),
        Cut("just before the closing boundary", body[:closing], len(body)),
        Cut("closing boundary missing", body[:closing], closing),
    ]
    return found


@dataclass
class Answer:
    status: int | None  # None: the connection closed unanswered
    headers: dict[str, str]
    body: bytes
    raw: bytes


class _Recorded:
    """What http.client reads an answer from: the bytes a socket received."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, *args: object, **kwargs: object) -> io.BytesIO:
        return io.BytesIO(self.data)


def parse_answer(raw: bytes) -> Answer:
    if not raw:
        return Answer(None, {}, b"", raw)
    response = http.client.HTTPResponse(_Recorded(raw))  # type: ignore[arg-type]
    response.begin()
    return Answer(response.status, dict(response.getheaders()), response.read(), raw)


def send_raw(port: int, path: str, headers: dict[str, str], sent: bytes, declared: int) -> Answer:
    """POST `sent` as a body of `declared` bytes, shut down the write side and read the
    answer."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    head += f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
    head += f"Content-Length: {declared}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=SLOW_S) as connection:
        connection.sendall(head.encode() + b"\r\n" + sent)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return parse_answer(answer)


def stored_files(media: Path) -> list[Path]:
    evidence = media / "evidence"
    return sorted(p for p in evidence.rglob("*") if p.is_file()) if evidence.exists() else []


def assert_cuts_refused(
    stack: Stack,
    web: Gunicorn,
    path: str,
    headers: dict[str, str],
    body: bytes,
    content: bytes,
    json_text: bytes | None,
    refused_body: Callable[[Answer], bool],
) -> None:
    entries, files = stack.count("locker_entry"), stack.count("locker_evidencefile")
    outcomes = []
    for cut in cuts(body, content, json_text):
        answer = send_raw(web.port, path, headers, cut.sent, cut.declared)
        outcomes.append((cut.name, answer.status))
        assert answer.status in (400, None), f"{cut.name}: {answer.raw[:800]!r}\n{web.output()}"
        if answer.status == 400:
            assert refused_body(answer), f"{cut.name}: {answer.raw[:800]!r}"
        assert stack.count("locker_entry") == entries, cut.name
        assert stack.count("locker_evidencefile") == files, cut.name
        assert stored_files(stack.workdir / "media") == [], cut.name
    print(f"{path}: " + ", ".join(f"{name}: {status or 'closed'}" for name, status in outcomes))


def test_a_cut_api_upload_is_refused_and_stores_nothing(stack: Stack) -> None:
    web, visitor, case_id = signed_in(stack, Timed(), "断网上传")
    content = evidence_bytes()
    entry = json.dumps(
        {"kind": "message", "body": {"channel": "sms", "sender": "10690000", "text": "还钱"}},
        ensure_ascii=False,
    )
    body = multipart([("entry", entry)], "files", content)
    path = f"/api/cases/{case_id}/entries"
    # A cut body must not use up its key: the client's whole retry with it is recorded.
    key = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {visitor.token}", "Idempotency-Key": key}

    def clear_refusal(answer: Answer) -> bool:
        detail = json.loads(answer.body)["detail"]
        return answer.headers["Content-Type"] == "application/json" and "cut off" in detail

    assert_cuts_refused(stack, web, path, headers, body, content, entry.encode(), clear_refusal)

    whole = send_raw(web.port, path, headers, body, len(body))
    assert whole.status == 201, whole.raw[:800]
    assert "Idempotent-Replayed" not in whole.headers
    seq = json.loads(whole.body)["seq"]
    again = send_raw(web.port, path, headers, body, len(body))
    assert (again.status, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert json.loads(again.body)["seq"] == seq
    assert_stored_whole(stack, case_id, seq, content)


def test_a_cut_quick_log_upload_is_refused_and_stores_nothing(stack: Stack) -> None:
    web, visitor, case_id = signed_in(stack, Timed(), "断网上传")
    content = evidence_bytes()
    cookies = "; ".join(f"{name}={value}" for name, value in visitor.browser.cookies.items())
    fields = [
        ("csrfmiddlewaretoken", visitor.browser.cookies.get("csrftoken") or ""),
        ("text", "催收员的短信截图"),
        ("occurred_at", "2026-01-05T23:20"),
        ("submission", str(uuid.uuid4())),
    ]
    body = multipart(fields, "files", content)
    path = f"/cases/{case_id}/log/note/"
    headers = {"Cookie": cookies, "Referer": web.base_url + path}

    def refused_page(answer: Answer) -> bool:
        return answer.headers["Content-Type"].startswith("text/html") and (
            b'role="alert"' in answer.body
        )

    assert_cuts_refused(stack, web, path, headers, body, content, None, refused_page)

    whole = send_raw(web.port, path, headers, body, len(body))
    assert whole.status == 302, whole.raw[:800]
    seq = int(whole.headers["Location"].rstrip("/").split("/")[-2])
    assert_stored_whole(stack, case_id, seq, content)


def assert_stored_whole(stack: Stack, case_id: str, seq: int, content: bytes) -> None:
    sha256 = hashlib.sha256(content).hexdigest()
    ((evidence,),) = stack.query(
        "SELECT evidence FROM locker_entry WHERE case_id = ? AND seq = ?",
        uuid.UUID(case_id).hex,
        seq,
    )
    assert [item["sha256"] for item in json.loads(evidence)] == [sha256]
    (stored,) = stored_files(stack.workdir / "media")
    assert stored.name == sha256
    assert unsealed(stored) == content
    assert f"ok   {case_id}" in stack.manage("verify_chain")
