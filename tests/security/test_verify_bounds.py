"""Public verification (/verify, POST /api/verify) bounds the work one request can ask: a ZIP
naming a member twice is refused before anything is decompressed, each member is hashed
once however many entries name it, the checkpoint's signature is checked before any file
is hashed, stated and really read bytes are bounded, and a deadline stops the work. The
bounds are asserted as amounts of work, not as wall time (bench/verify_bomb.py times it)."""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from locker.dossier import verify as dossier_verify
from locker.exports import verification
from locker.exports.verification import (
    UNBOUNDED,
    VerificationTooCostly,
    Work,
    WorkLimits,
    verify_bundle_zip,
)

from . import bombs
from .bombs import MiB

pytestmark = pytest.mark.django_db


class Spy:
    """Records every member the verifier decompresses and every byte it hashes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[str] = []
        self.hashed: list[str] = []
        real_open = zipfile.ZipFile.open
        real_hash = verification._hash_member

        def opening(archive: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
            self.opened.append(name if isinstance(name, str) else name.filename)
            return real_open(archive, name, *args, **kwargs)

        def hashing(archive: zipfile.ZipFile, info: zipfile.ZipInfo, work: Work) -> Any:
            self.hashed.append(info.filename)
            return real_hash(archive, info, work)

        monkeypatch.setattr(zipfile.ZipFile, "open", opening)
        monkeypatch.setattr(verification, "_hash_member", hashing)

    @property
    def evidence_opened(self) -> list[str]:
        return [name for name in self.opened if name.startswith("evidence/")]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


@pytest.fixture(scope="module")
def issue_bomb() -> bytes:
    """Issue 12's: one 256 MiB member of zeros, named 400 times by the central directory and
    by 400 entries of a validly signed chain; about half a megabyte."""
    return bombs.one_member_bundle(256 * MiB, references=400, repeat=400)


def test_the_issue_bomb_is_refused_before_anything_is_decompressed(issue_bomb, spy) -> None:
    assert len(issue_bomb) < 1_200_000
    report = verify_bundle_zip(io.BytesIO(issue_bomb))
    assert not report.ok and "more than once" in (report.problem or "")
    assert spy.opened == [] and spy.hashed == []


def test_the_issue_bomb_sent_to_the_api_is_refused_without_hashing(client, issue_bomb, spy) -> None:
    for _attempt in range(2):  # the issue sent it twice
        response = client.post(
            "/api/verify", {"file": io.BytesIO(issue_bomb)}, HTTP_ACCEPT_LANGUAGE="en"
        )
        assert response.status_code == 200
        assert response.json()["ok"] is False
        assert "more than once" in response.json()["problem"]
    assert spy.hashed == []


def test_a_member_named_by_many_entries_is_hashed_once(spy) -> None:
    bundle = bombs.one_member_bundle(8 * MiB, references=400)
    limits = WorkLimits(max_bytes=64 * MiB, time_limit_s=None)
    report = verify_bundle_zip(io.BytesIO(bundle), limits=limits)
    assert report.ok, report.problem
    assert len(spy.hashed) == 1 and spy.evidence_opened == spy.hashed


def test_a_member_whose_stated_size_differs_from_its_entry_is_not_read(spy) -> None:
    _data, _crc, sha256 = bombs.zeros(4 * MiB)
    lines, checkpoint = bombs.signed_chain([bombs.evidence_item(sha256, 4 * MiB + 1)], entries=3)
    bundle = bombs.zip_bytes(
        [
            bombs.Member.stored("entries.jsonl", lines),
            bombs.Member.stored("checkpoint.json", checkpoint),
            bombs.zeros_member(f"evidence/{sha256}", 4 * MiB),
        ]
    )
    report = verify_bundle_zip(io.BytesIO(bundle))
    assert not report.ok and "does not match its hash or size" in (report.problem or "")
    assert report.first_bad_seq == 1
    assert spy.hashed == []


def _with_forged_signature(checkpoint: bytes) -> bytes:
    document = json.loads(checkpoint)
    signature = bytearray(document["signature"].encode())
    signature[10] = ord("A") if signature[10] != ord("A") else ord("B")
    document["signature"] = signature.decode()
    return json.dumps(document).encode()


def test_the_checkpoint_signature_is_checked_before_any_line_or_file(spy, monkeypatch) -> None:
    bundle = bombs.one_member_bundle(4 * MiB, references=5, edit_checkpoint=_with_forged_signature)
    read_lines: list[bytes] = []
    real_counted = verification._counted_lines

    def counting(handle: Any, work: Work) -> Iterator[bytes]:
        for line in real_counted(handle, work):
            read_lines.append(line)
            yield line

    monkeypatch.setattr(verification, "_counted_lines", counting)
    report = verify_bundle_zip(io.BytesIO(bundle))
    assert not report.ok and (report.problem or "").startswith("checkpoint:")
    assert read_lines == [] and spy.hashed == []


def test_a_good_chain_with_a_bad_file_is_still_reported_at_its_entry(spy) -> None:
    # The order changed; what is reported for an honest mistake did not.
    _data, _crc, sha256 = bombs.zeros(4 * MiB)
    lines, checkpoint = bombs.signed_chain([bombs.evidence_item(sha256, 4 * MiB)], entries=2)
    other = bombs.zeros_member(f"evidence/{sha256}", 4 * MiB)
    tampered = bombs.Member(other.name, 0, bytes(4 * MiB - 1) + b"x", 0, 4 * MiB)
    bundle = bombs.zip_bytes(
        [
            bombs.Member.stored("entries.jsonl", lines),
            bombs.Member.stored("checkpoint.json", checkpoint),
            tampered,
        ]
    )
    report = verify_bundle_zip(io.BytesIO(bundle))
    assert not report.ok and report.first_bad_seq == 1
    assert "does not match" in (report.problem or "")
    assert len(spy.hashed) == 1


def test_members_stating_more_than_the_bound_are_refused_before_reading(spy) -> None:
    lines, checkpoint = bombs.signed_chain([], entries=1)
    liar = bombs.Member("evidence/" + "0" * 64, 0, b"tiny", zlib.crc32(b"tiny"), 2 * 1024**3)
    bundle = bombs.zip_bytes(
        [
            bombs.Member.stored("entries.jsonl", lines),
            bombs.Member.stored("checkpoint.json", checkpoint),
            liar,
        ]
    )
    with pytest.raises(VerificationTooCostly) as refused:
        verify_bundle_zip(io.BytesIO(bundle))
    assert "more than 1024 MB" in str(refused.value)
    assert spy.opened == []
    # The command-line verifier has no such bound (and finds the chain fine: no entry names it).
    assert verify_bundle_zip(io.BytesIO(bundle), limits=UNBOUNDED).ok


def test_bytes_really_read_are_counted_against_the_bound() -> None:
    work = Work(WorkLimits(max_bytes=10, time_limit_s=None))
    work.allow(10)  # what the headers state is within the bound
    work.spend(6)
    with pytest.raises(VerificationTooCostly):
        work.spend(5)  # but more arrived than they said


def test_a_member_that_inflates_past_its_stated_size_is_not_believed(monkeypatch) -> None:
    # The ZIP says 1 MiB; the deflated data holds 4 MiB: zipfile stops at the stated size and
    # the CRC does not match, so the file is reported wrong, never hashed past 1 MiB.
    data, crc, sha256 = bombs.zeros(4 * MiB)
    lines, checkpoint = bombs.signed_chain([bombs.evidence_item(sha256, 1 * MiB)], entries=1)
    bundle = bombs.zip_bytes(
        [
            bombs.Member.stored("entries.jsonl", lines),
            bombs.Member.stored("checkpoint.json", checkpoint),
            bombs.Member(f"evidence/{sha256}", 8, data, crc, 1 * MiB),
        ]
    )
    work_seen: list[int] = []
    real_hash = verification._hash_member

    def measuring(archive: Any, info: Any, work: Work) -> Any:
        result = real_hash(archive, info, work)
        work_seen.append(work.bytes_read)
        return result

    monkeypatch.setattr(verification, "_hash_member", measuring)
    report = verify_bundle_zip(io.BytesIO(bundle))
    assert not report.ok and "does not match" in (report.problem or "")
    assert work_seen and work_seen[0] <= 1 * MiB + len(lines) + len(checkpoint)


class SteppingClock:
    """A clock that moves `step` seconds each time it is read (no real time involved)."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_the_deadline_stops_hashing_part_way(spy) -> None:
    bundle = bombs.one_member_bundle(32 * MiB, references=3)
    # Every tick costs 10 ms here: the lines pass, the 32 chunks of the member do not.
    limits = WorkLimits(max_bytes=None, time_limit_s=0.15, clock=SteppingClock(0.01))
    read: list[int] = []
    real_spend = Work.spend

    def spending(work: Work, count: int) -> None:
        read.append(count)
        real_spend(work, count)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Work, "spend", spending)
        with pytest.raises(VerificationTooCostly) as stopped:
            verify_bundle_zip(io.BytesIO(bundle), limits=limits)
    assert "took longer than the 0.15 seconds" in str(stopped.value)
    assert spy.hashed == [spy.evidence_opened[0]]  # it was hashing when it stopped
    assert sum(read) < 32 * MiB


def test_the_deadline_is_the_setting(settings) -> None:
    settings.LOCKER_VERIFY_TIME_LIMIT_S = 2.5
    limits = WorkLimits.public()
    assert limits.time_limit_s == 2.5 and limits.max_bytes == 1024 * MiB


def test_the_api_answers_413_when_the_work_runs_out(client, settings, monkeypatch) -> None:
    bundle = bombs.one_member_bundle(8 * MiB, references=2)
    monkeypatch.setattr(verification, "MAX_UNCOMPRESSED_BYTES", 4 * MiB)
    for language, expected in (("en", "more than 4 MB to check"), ("zh-CN", "超过 4 MB")):
        response = client.post(
            "/api/verify", {"file": io.BytesIO(bundle)}, HTTP_ACCEPT_LANGUAGE=language
        )
        assert response.status_code == 413
        assert expected in response.json()["detail"]


def test_the_page_says_it_took_too_long_in_chinese(client, settings) -> None:
    settings.LOCKER_VERIFY_TIME_LIMIT_S = 0  # any work at all is past the deadline
    bundle = bombs.one_member_bundle(4 * MiB, references=2)
    client.get(reverse("verify"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.post(
        reverse("verify"),
        {"file": io.BytesIO(bundle)},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert "所以已停止" in response.content.decode()


def test_the_command_line_verifier_has_no_deadline(tmp_path, settings) -> None:
    from django.core.management import call_command

    settings.LOCKER_VERIFY_TIME_LIMIT_S = 0
    path = tmp_path / "bundle.zip"
    path.write_bytes(bombs.one_member_bundle(4 * MiB, references=2))
    out = io.StringIO()
    call_command("verify_bundle", str(path), stdout=out)
    assert "length      2" in out.getvalue()


def test_a_dossier_stream_that_inflates_past_its_bound_is_refused_unread() -> None:
    from pyhanko.pdf_utils import generic

    stream = generic.StreamObject(
        {"/Filter": generic.NameObject("/FlateDecode")},
        encoded_data=zlib.compress(bytes(8 * MiB), 9),
    )
    work = Work(UNBOUNDED)
    with pytest.raises(dossier_verify.DossierInvalid):
        dossier_verify._decoded(stream, work, 1 * MiB)
    assert work.bytes_read <= 2 * MiB  # stopped within a piece of the bound
    small = generic.StreamObject(
        {"/Filter": generic.NameObject("/FlateDecode")}, encoded_data=zlib.compress(b"ok")
    )
    assert dossier_verify._decoded(small, work, 1 * MiB) == b"ok"
