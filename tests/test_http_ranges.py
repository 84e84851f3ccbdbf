"""Evidence downloads answer Range requests, so that an audio player can seek in a long call
recording; access rules and the access log stay as for a whole download."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from locker import services
from locker.core.http_ranges import Unsatisfiable, parse_range
from locker.models import AccessLog, Share

from .factories import UserFactory, make_case, share_with
from .ui_helpers import client_for

pytestmark = pytest.mark.django_db

# A WAV header followed by silence: recognised as audio by its bytes.
AUDIO = (
    b"RIFF" + (36 + 4000).to_bytes(4, "little") + b"WAVEfmt "
    + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
    + (8000).to_bytes(4, "little") + (8000).to_bytes(4, "little")
    + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    + b"data" + (4000).to_bytes(4, "little") + bytes(range(250)) * 16
)  # fmt: skip


def test_parse_range() -> None:
    size = 1000
    assert parse_range("bytes=0-99", size) == (0, 99)
    assert parse_range("bytes=900-", size) == (900, 999)
    assert parse_range("bytes=-100", size) == (900, 999)
    assert parse_range("bytes=-5000", size) == (0, 999)
    assert parse_range("bytes=990-5000", size) == (990, 999)
    for ignored in ("", "bytes=", "bytes=-", "items=0-1", "bytes=5-1", "bytes=0-1,5-9", "x"):
        assert parse_range(ignored, size) is None, ignored
    assert parse_range("bytes=" + "9" * 30 + "-", size) is None
    for beyond in ("bytes=1000-", "bytes=5000-6000", "bytes=-0"):
        with pytest.raises(Unsatisfiable):
            parse_range(beyond, size)


@pytest.fixture
def recording():
    case = make_case()
    entry = services.append_entry(
        case=case,
        author=f"user:{case.owner.pk}",
        kind="call",
        body={"number": "95188", "duration_s": 600},
        uploads=[services.Upload("call.wav", io.BytesIO(AUDIO))],
    ).entry
    sha = entry.evidence[0]["sha256"]
    return case, sha, reverse("evidence_original", args=[case.pk, sha])


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_owner_seeks_in_a_recording(recording) -> None:
    case, sha, url = recording
    owner = client_for(case.owner)
    whole = owner.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert _body(whole) == AUDIO and whole["ETag"] == f'"{sha}"'

    part = owner.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(AUDIO)}"
    assert part["Content-Length"] == "100" and _body(part) == AUDIO[100:200]
    assert part["Content-Type"] == "audio/x-wav" or part["Content-Type"].startswith("audio/")
    assert part["Content-Disposition"].startswith("attachment")
    assert part["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in part["Content-Security-Policy"]

    tail = owner.get(url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and _body(tail) == AUDIO[-10:]
    beyond = owner.get(url, HTTP_RANGE=f"bytes={len(AUDIO)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(AUDIO)}"
    several = owner.get(url, HTTP_RANGE="bytes=0-1,5-9")
    assert several.status_code == 200 and _body(several) == AUDIO


def test_ranges_follow_the_share_and_are_logged_once(recording) -> None:
    case, sha, url = recording
    lawyer = UserFactory()
    share = share_with(case, lawyer, Share.VIEWER)
    desk = client_for(lawyer)
    for span in ("bytes=0-", "bytes=2000-2999", "bytes=3000-"):
        assert desk.get(url, HTTP_RANGE=span).status_code == 206
    # A player's several requests for one recording are one download in the log.
    rows = AccessLog.objects.filter(case=case, user=lawyer)
    assert [(r.action, r.detail) for r in rows] == [("download", sha)]

    services.end_share(share=share, by=case.owner)
    assert desk.get(url, HTTP_RANGE="bytes=0-9").status_code == 404
    assert client_for(UserFactory()).get(url, HTTP_RANGE="bytes=0-9").status_code == 404
    assert Client().get(url, HTTP_RANGE="bytes=0-9").status_code == 302
