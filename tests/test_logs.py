"""Structured logs (issue 14): with LOCKER_LOG_FORMAT=json every line of the app's log is one
JSON object carrying the request's id (a well-formed incoming X-Request-ID, else a new one,
returned in the response's X-Request-ID), and no line shows a phone number, a token or the
text of a record, whether they came in the path, the query, the body or a header."""

from __future__ import annotations

import io
import json
import logging
import os
import runpy
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from django.test import Client

from locker.infra.logs import JsonFormatter, RequestIdFilter
from locker.infra.redact import RedactSecretsFilter

pytestmark = pytest.mark.django_db

SETTINGS = Path(__file__).resolve().parent.parent / "config" / "settings.py"
PHONE = "13912345678"
SPACED_PHONE = "+86 139-1234-5678"
TOKEN = "Zk3v9QmXr2LwT8pY5bNc"  # the shape of a contact-link or API token
RECORD_TEXT = "催收员威胁要打给我妈妈"


@pytest.fixture
def log_output(tmp_path) -> Iterator[io.StringIO]:
    """The console handler as config/settings.py configures it under LOCKER_LOG_FORMAT=json,
    writing into a buffer, on the root logger for the test."""
    env = {"LOCKER_DATA_DIR": str(tmp_path), "LOCKER_LOG_FORMAT": "json"}
    with mock.patch.dict(os.environ, env, clear=True):
        logging_config = runpy.run_path(str(SETTINGS))["LOGGING"]
    console = logging_config["handlers"]["console"]
    assert console["formatter"] == "json" and console["filters"] == ["request_id", "redact"]
    assert logging_config["formatters"]["json"]["()"] == "locker.infra.logs.JsonFormatter"
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_a_request_id_is_taken_when_well_formed_and_made_otherwise() -> None:
    client = Client()
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c21-0001")
    assert response["X-Request-ID"] == "lb-7f3a9c21-0001"
    for bad in ("short", "has space in it", "x" * 200, "evil\r\nSet-Cookie: a=b", "ünïcode-id-123"):
        made = client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert made != bad and len(made) == 32 and int(made, 16) >= 0
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


def test_json_lines_carry_the_request_id_and_leak_no_phone_token_or_record_text(
    log_output,
) -> None:
    client = Client(raise_request_exception=False)
    request_id = "trace-0123456789abcdef"
    # A phone number and a token in the path, the query, the body and the headers; each
    # answer is a 4xx that Django logs with its path.
    client.get(
        f"/cases/{PHONE}/?phone={PHONE}&token={TOKEN}&q={RECORD_TEXT}",
        HTTP_X_REQUEST_ID=request_id,
    )
    client.post(
        f"/c/{TOKEN}/?from={PHONE}",
        data={"text": RECORD_TEXT, "number": SPACED_PHONE, "token": TOKEN},
        HTTP_X_REQUEST_ID=request_id,
    )
    client.post(
        "/api/cases",
        data=json.dumps({"title": RECORD_TEXT, "phone": PHONE}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_X_REQUEST_ID=request_id,
    )
    # A message of our own that quotes a number (as an error might).
    logging.getLogger("locker.test").warning("caller %s then %s", PHONE, SPACED_PHONE)

    output = log_output.getvalue()
    parsed = lines(log_output)
    assert parsed, "nothing was logged"
    assert {"time", "level", "logger", "message", "request_id"} <= set(parsed[0])
    assert any(line["request_id"] == request_id for line in parsed), parsed
    assert any(line["logger"] == "django.request" for line in parsed), parsed
    for secret in (PHONE, "1234-5678", TOKEN, RECORD_TEXT):
        assert secret not in output, f"{secret!r} reached the log:\n{output}"
    assert "[number]" in output  # the redaction is what removed them, not silence
    # Outside a request there is no id.
    assert parsed[-1]["logger"] == "locker.test" and parsed[-1]["request_id"] is None


def test_text_is_the_default_format_and_json_what_compose_sets(tmp_path) -> None:
    with mock.patch.dict(os.environ, {"LOCKER_DATA_DIR": str(tmp_path)}, clear=True):
        assert runpy.run_path(str(SETTINGS))["LOGGING"]["handlers"]["console"]["formatter"] == (
            "text"
        )


@pytest.mark.django_db(transaction=True)
def test_real_gunicorn_writes_json_access_and_app_lines_without_the_secrets(tmp_path) -> None:
    """gunicorn with the project's config and LOCKER_LOG_FORMAT=json, as compose runs it: its
    access lines and the app's own are JSON objects with the request id, and neither holds
    the phone number or the token sent in the path, the query and the body."""
    import urllib.error
    import urllib.request

    from .faults.processes import Gunicorn, app_env, manage

    env = app_env(
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis_url="",
        LOCKER_LOG_FORMAT="json",
    )
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    web = Gunicorn(tmp_path, env, workers=1)
    request_id = "proxy-0c1d2e3f4a5b6c7d"
    try:
        web.start().wait_ready(60)
        request = urllib.request.Request(  # noqa: S310 - http to our own port
            f"{web.base_url}/cases/{PHONE}/?phone={PHONE}&token={TOKEN}",
            data=f"text={RECORD_TEXT}&phone={PHONE}&token={TOKEN}".encode(),
            headers={"X-Request-ID": request_id},
        )
        try:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        except urllib.error.HTTPError as answer:
            assert answer.headers["X-Request-ID"] == request_id
    finally:
        web.stop()
    written = web.log_path.read_text(errors="replace")
    for secret in (PHONE, TOKEN, RECORD_TEXT):
        assert secret not in written, f"{secret!r} reached the log:\n{written[-3000:]}"
    objects = []
    for line in written.splitlines():
        if line.startswith("{"):
            objects.append(json.loads(line))
    access = [o for o in objects if o["logger"] == "gunicorn.access"]
    app = [o for o in objects if o["logger"] == "django.request"]
    assert access and app, written[-3000:]
    assert access[-1]["request_id"] == request_id and access[-1]["path"] == "/cases/[number]/"
    assert access[-1]["method"] == "POST" and access[-1]["status"] in {403, 404, 405}
    assert app[-1]["request_id"] == request_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13912345678", "[number]"),
        ("tel +86 139-1234-5678.", "tel [number]."),
        ("139-1234-5678", "[number]"),
        ("call 139 1234 5678 now", "call [number] now"),
        ("/cases/13912345678/", "/cases/[number]/"),
        # Not phone numbers: kept, so that log lines stay readable.
        ('"GET / HTTP/1.1" 410 3597', '"GET / HTTP/1.1" 410 3597'),
        ("2026-01-05 23:10:00", "2026-01-05 23:10:00"),
        ("sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", None),
        ("127.0.0.1:8000 pid 32746", None),
    ],
)
def test_phone_numbers_are_masked_and_dates_sizes_and_hashes_kept(text, expected) -> None:
    from locker.infra.redact import redact_phone_numbers

    assert redact_phone_numbers(text) == (text if expected is None else expected)
