from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from locker import services
from locker.core import chain
from locker.exports import bundle
from locker.exports.verification import verify_bundle_zip
from locker.infra.storage import evidence_storage
from locker.models import EvidenceFile
from locker.selectors.chain import verify_case

from .factories import add_entry, make_case
from .tamper import delete_entry, rewrite_body
from .test_api import client_for
from .test_services import PNG

pytestmark = pytest.mark.django_db


def case_with_evidence():
    case = make_case()
    add_entry(case, kind="call", body={"number": "95xxx", "summary": "威胁爆通讯录"})
    add_entry(
        case,
        kind="message",
        body={"channel": "sms", "text": "三天内不还，通知你全部联系人"},
        uploads=[services.Upload("短信截图.png", io.BytesIO(PNG))],
    )
    add_entry(case, kind="note", body={"text": "晚上11点又打来"})
    return case


def export_to(path: Path, case) -> Path:
    with path.open("wb") as out:
        bundle.write_bundle(case, out)
    return path


def run_command(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def test_verify_chain_passes_on_untouched_data() -> None:
    case_with_evidence()
    code, output = run_command("verify_chain")
    assert code == 0 and "ok" in output


def test_editing_an_entry_behind_the_apps_back_is_detected(tmp_path) -> None:
    case = case_with_evidence()
    target = case.entries.get(seq=3)
    rewrite_body(target.pk, {**target.body, "text": "改过的短信"})
    code, output = run_command("verify_chain", "--case", str(case.id))
    assert code == 1
    assert f"FAIL {case.id} seq 3" in output
    owner_api = client_for(case.owner)
    result = owner_api.get(f"/api/cases/{case.id}/verify").json()
    assert result["ok"] is False and result["first_bad_seq"] == 3
    assert "hash" in result["problem"]


def test_changing_an_evidence_file_in_storage_is_detected() -> None:
    case = case_with_evidence()
    stored = EvidenceFile.objects.get(case=case)
    path = Path(evidence_storage().path(stored.storage_name))
    path.write_bytes(PNG + b"tampered")
    report = verify_case(case)
    assert not report.ok and report.first_bad_seq == 3
    assert "no longer match" in (report.problem or "")
    code, _ = run_command("verify_chain")
    assert code == 1


def test_removing_the_last_entry_is_caught_by_the_checkpoints_issued() -> None:
    case = case_with_evidence()
    last = case.entries.get(seq=4)
    delete_entry(last.pk)
    # The remaining chain is internally consistent...
    assert chain.verify_lines(bundle.bundle_lines(case)).ok
    # ...but the receipt this instance signed for seq 4 proves something is gone.
    report = verify_case(case)
    assert not report.ok and "removed from the end" in (report.problem or "")


def test_export_round_trip_verifies(tmp_path) -> None:
    case = case_with_evidence()
    path = export_to(tmp_path / "case.zip", case)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {"entries.jsonl", "checkpoint.json", "README.txt"} <= names
        assert f"evidence/{chain.sha256_hex(PNG)}" in names
        assert archive.read(f"evidence/{chain.sha256_hex(PNG)}") == PNG
    code, output = run_command("verify_bundle", str(path))
    assert code == 0, output
    assert "VERIFIED" in output and "head signed by this instance: yes" in output


def test_streamed_export_is_the_same_kind_of_bundle(tmp_path) -> None:
    case = case_with_evidence()
    path = tmp_path / "streamed.zip"
    path.write_bytes(b"".join(bundle.stream_bundle(case)))
    assert verify_bundle_zip(str(path)).ok


def _rewrite_member(source: Path, target: Path, name: str, change) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, change(data) if info.filename == name else data)
    return target


def test_tampered_bundles_fail(tmp_path) -> None:
    case = case_with_evidence()
    good = export_to(tmp_path / "good.zip", case)
    sha = chain.sha256_hex(PNG)

    def edit_line(data: bytes) -> bytes:
        lines = data.decode().splitlines()
        line = json.loads(lines[2])
        line["entry"]["body"]["summary"] = "没有威胁"
        lines[2] = chain.canonical_bytes(line).decode()
        return ("\n".join(lines) + "\n").encode()

    def drop_line(data: bytes) -> bytes:
        lines = data.decode().splitlines(keepends=True)
        return "".join(lines[:2] + lines[3:]).encode()

    cases = {
        "entries.jsonl": (edit_line, "does not match the entry"),
        f"evidence/{sha}": (lambda d: d + b"x", "does not match its hash"),
        "checkpoint.json": (lambda d: d.replace(b'"length":4', b'"length":3'), "checkpoint"),
    }
    for name, (change, message) in cases.items():
        bad = _rewrite_member(good, tmp_path / "bad.zip", name, change)
        report = verify_bundle_zip(str(bad))
        assert not report.ok and message in (report.problem or ""), (name, report)
        code, _ = run_command("verify_bundle", str(bad))
        assert code == 1
    dropped = _rewrite_member(good, tmp_path / "dropped.zip", "entries.jsonl", drop_line)
    report = verify_bundle_zip(str(dropped))
    assert not report.ok and report.first_bad_seq == 3


def test_receipt_detects_a_removed_last_entry(tmp_path) -> None:
    case = case_with_evidence()
    receipt = services.append_entry(
        case=case, author="user:1", kind="note", body={"text": "最后一条"}
    ).receipt
    receipt_path = tmp_path / "receipt.json"
    receipt_path.write_text(json.dumps(receipt))
    code, _ = run_command(
        "verify_bundle", str(export_to(tmp_path / "full.zip", case)), "--receipt", str(receipt_path)
    )
    assert code == 0
    delete_entry(case.entries.get(seq=5).pk)
    truncated = export_to(tmp_path / "truncated.zip", case)
    assert run_command("verify_bundle", str(truncated))[0] == 0  # looks fine on its own
    code, output = run_command("verify_bundle", str(truncated), "--receipt", str(receipt_path))
    assert code == 1 and "removed from the end" in output


def test_not_a_zip_is_a_clear_failure(tmp_path) -> None:
    path = tmp_path / "junk.zip"
    path.write_bytes(b"not a zip at all")
    code, output = run_command("verify_bundle", str(path))
    assert code == 1 and "not a readable ZIP" in output


def test_entries_are_read_as_a_stream_with_the_same_checks(tmp_path) -> None:
    """verify_bundle_zip reads entries.jsonl line by line: a receipt for an entry in the
    middle is still checked against that line, and a malformed file still fails clearly."""
    case = case_with_evidence()
    middle = services.append_entry(case=case, author="user:1", kind="note", body={"text": "中"})
    add_entry(case, "note", {"text": "后来的"})
    good = export_to(tmp_path / "good.zip", case)
    report = verify_bundle_zip(str(good), receipt=middle.receipt)
    assert report.ok and report.receipt_checked and report.length == middle.entry.seq + 1

    forged = json.loads(json.dumps(middle.receipt))
    forged["checkpoint"]["head"] = "0" * 64
    report = verify_bundle_zip(str(good), receipt=forged)
    assert not report.ok and "receipt" in (report.problem or "")

    cases = {
        "no final newline": (lambda d: d.rstrip(b"\n"), "must end with a newline"),
        "spaces": (lambda d: d.replace(b'{"entry":{', b'{"entry": {', 1), "line 1 is not in"),
        "not JSON": (lambda d: d + b"{oops\n", "is not valid UTF-8 JSON"),
    }
    for label, (change, message) in cases.items():
        bad = _rewrite_member(good, tmp_path / "bad.zip", "entries.jsonl", change)
        report = verify_bundle_zip(str(bad))
        assert not report.ok and message in (report.problem or ""), (label, report)
