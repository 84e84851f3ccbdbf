"""Erasing one record's content (issue 12, item 6): a relative's phone number or a contact's
statement that must go. Each test is an attack or a fault with the outcome expected: only the
owner erases, once; the content and the file bytes are gone; the chain, its exports and the
dossiers made afterwards still verify, with the erased entry as an omitted line; the trace
left in the chain says nothing of what was removed. The database triggers that allow exactly
this transition are tested in test_erasure_triggers.py."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import filesystem
from django.urls import reverse
from pyhanko.pdf_utils.reader import PdfFileReader

from locker import services
from locker.core import chain
from locker.dossier.verify import _embedded_files, verify_dossier_pdf
from locker.exports import bundle
from locker.exports.verification import verify_bundle_zip
from locker.infra.print_copies import print_copy_name
from locker.infra.storage import evidence_storage
from locker.infra.thumbs import SIZES, derived_name, make_pictures
from locker.models import Entry, EvidenceFile, SecurityEvent
from locker.selectors.cases import case_overview
from locker.selectors.chain import verify_case
from locker.selectors.orphans import iter_orphans
from locker.selectors.receipts import kept_receipts_of

from ..dossier_helpers import CHINESE_PHRASE, distinct_png, make_dossier, screenshot_png
from ..factories import add_entry, make_case
from ..personas import PERSONAS, Personas
from ..ui_helpers import body_of, client_for, csrf_post

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "verify_evidence.py"
# What the erased record says, each piece checked for wherever the chain is shown or exported.
RELATIVE_NUMBER = "13912345678"
RELATIVE_NAME = "王阿姨"
STATEMENT = f"催收员打给我说{CHINESE_PHRASE}"
FILE_NAME = "aunt-id-card.png"
SECRETS = (RELATIVE_NUMBER, RELATIVE_NAME, STATEMENT, FILE_NAME)


def statement_entry(case: Any, picture: bytes | None = None) -> Entry:
    """A contact's statement naming a relative, with a picture of her ID card."""
    return add_entry(
        case,
        "contact_report",
        {
            "contact_name": RELATIVE_NAME,
            "relation": f"姨妈 {RELATIVE_NUMBER}",
            "summary": STATEMENT,
            "tags": ["third_party_contact"],
        },
        occurred_at="2026-01-07T10:00:00+08:00",
        uploads=[services.Upload(FILE_NAME, io.BytesIO(picture or screenshot_png(seed=7)))],
    )


def erase(entry: Entry, reason: str | None = None, **kw: Any) -> services.ErasureResult:
    case = entry.case
    return services.erase_entry(
        case=case,
        seq=entry.seq,
        user=case.owner,
        author=f"user:{case.owner_id}",
        reason=reason,
        **kw,
    )


def erase_committed(entry: Entry, capture: Any, **kw: Any) -> services.ErasureResult:
    """Erase, and run what waits for the commit (removing the file bytes)."""
    with capture(execute=True):
        return erase(entry, **kw)


def assert_says_nothing_of_the_secrets(data: bytes | str, where: str) -> None:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for secret in SECRETS:
        assert secret not in text, f"{where} still holds {secret!r}"


# What erasing does ----------------------------------------------------------------------------


def test_the_entry_keeps_its_links_and_loses_its_content(django_capture_on_commit_callbacks):
    case = make_case()
    target = statement_entry(case)
    after = add_entry(case, "note", {"text": "之后又打来了"})
    result = erase_committed(target, django_capture_on_commit_callbacks, reason="contact_asked")
    erased = Entry.objects.get(pk=target.pk)
    assert (erased.seq, erased.prev, erased.hash, erased.recorded_at, erased.kind) == (
        target.seq,
        target.prev,
        target.hash,
        target.recorded_at,
        target.kind,
    )
    assert (erased.body, erased.evidence, erased.occurred_at) == ({}, [], None)
    redaction = result.redaction
    assert erased.erased_by_id == redaction.pk and erased.erased_at == redaction.recorded_at
    assert redaction.seq == after.seq + 1 and redaction.prev == after.hash
    assert erased.as_line() == {
        "omitted": {"seq": target.seq, "prev": target.prev, "hash": target.hash}
    }
    assert verify_case(case, rehash_files=True).ok
    assert result.receipt["checkpoint"]["head"] == redaction.hash


def test_the_redaction_entry_says_nothing_of_the_content(django_capture_on_commit_callbacks):
    case = make_case()
    target = statement_entry(case)
    result = erase_committed(target, django_capture_on_commit_callbacks, reason="contact_asked")
    redaction = result.redaction.as_entry()
    assert redaction["kind"] == "redaction"
    assert redaction["body"] == {"erased_seq": target.seq, "reason": "contact_asked"}
    assert redaction["evidence"] == [] and redaction["occurred_at"] is None
    assert redaction["author"] == f"user:{case.owner_id}"
    canonical = chain.canonical_bytes(redaction)
    assert_says_nothing_of_the_secrets(canonical, "the redaction entry")
    assert target.evidence[0]["sha256"].encode() not in canonical
    event = SecurityEvent.objects.get(user=case.owner, kind=SecurityEvent.Kind.RECORD_ERASED)
    assert event.detail == f"case {case.pk} entry {target.seq}"


def test_the_file_bytes_their_pictures_and_print_copy_are_gone(django_capture_on_commit_callbacks):
    world = Personas()
    target = statement_entry(world.case)
    sha = target.evidence[0]["sha256"]
    stored = EvidenceFile.objects.get(case=world.case, sha256=sha)
    # The worker made the pages' pictures and the dossiers' print copy.
    assert make_pictures(stored)
    names = [
        stored.storage_name,
        *(derived_name(stored, size) for size in SIZES),
        print_copy_name(world.case.pk, sha),
    ]
    assert all(evidence_storage().exists(name) for name in names)
    erase_committed(target, django_capture_on_commit_callbacks)
    assert [name for name in names if evidence_storage().exists(name)] == []
    assert not EvidenceFile.objects.filter(case=world.case, sha256=sha).exists()
    owner = world.web("owner")
    for url in (
        reverse("evidence_original", args=[world.case.pk, sha]),
        reverse("evidence_derived", args=[world.case.pk, sha, "thumb"]),
    ):
        assert owner.get(url).status_code == 404


def test_bytes_another_entry_still_names_stay(django_capture_on_commit_callbacks):
    """The same picture attached twice is stored once: erasing one entry must not take the
    other's evidence (a lost record); erasing the second then removes it."""
    case = make_case()
    picture = distinct_png(screenshot_png(), 3)
    first, second = statement_entry(case, picture), statement_entry(case, picture)
    sha = first.evidence[0]["sha256"]
    storage_name = EvidenceFile.objects.get(case=case, sha256=sha).storage_name
    erase_committed(first, django_capture_on_commit_callbacks)
    assert evidence_storage().exists(storage_name)
    assert verify_case(case, rehash_files=True).ok  # the second's file re-hashes
    erase_committed(Entry.objects.get(pk=second.pk), django_capture_on_commit_callbacks)
    assert not evidence_storage().exists(storage_name)
    assert verify_case(case, rehash_files=True).ok


def test_an_append_racing_the_file_removal_keeps_its_file(django_capture_on_commit_callbacks):
    """The same bytes uploaded again before the removal runs: the new entry's row names the
    file, and the removal (under the case's lock) leaves it."""
    case = make_case()
    picture = distinct_png(screenshot_png(), 4)
    target = statement_entry(case, picture)
    with django_capture_on_commit_callbacks(execute=False) as waiting:
        erase(target)
    again = statement_entry(case, picture)  # before the removal ran
    for callback in waiting:
        callback()
    stored = EvidenceFile.objects.get(case=case, sha256=again.evidence[0]["sha256"])
    assert evidence_storage().exists(stored.storage_name)
    assert verify_case(case, rehash_files=True).ok


def test_a_storage_failure_after_the_erasure_leaves_an_orphan_not_the_content(
    django_capture_on_commit_callbacks, monkeypatch, caplog
):
    """The disk refuses to delete (an I/O error): the erasure stands, nothing is shown or
    exported of the entry, and the bytes left behind are an orphan the sweep removes."""
    case = make_case()
    target = statement_entry(case)
    name = EvidenceFile.objects.get(case=case, sha256=target.evidence[0]["sha256"]).storage_name

    def failing_remove(path: str) -> None:
        raise OSError(5, "Input/output error", path)

    monkeypatch.setattr(filesystem.os, "remove", failing_remove)
    erase_committed(target, django_capture_on_commit_callbacks)
    monkeypatch.undo()
    assert Entry.objects.get(pk=target.pk).is_erased
    assert "could not remove the files of an erased entry" in caplog.text
    assert [orphan.name for orphan in iter_orphans()] == [name]
    assert verify_case(case, rehash_files=True).ok


# Exports, dossiers and pages -----------------------------------------------------------------


def test_a_bundle_made_after_erasure_verifies_with_the_omitted_line(
    django_capture_on_commit_callbacks, tmp_path: Path
):
    case = make_case()
    target = statement_entry(case)
    add_entry(case, "note", {"text": "之后又打来了"})
    erase_committed(target, django_capture_on_commit_callbacks)
    path = tmp_path / "case.zip"
    with path.open("wb") as out:
        bundle.write_bundle(case, out)
    report = verify_bundle_zip(str(path))
    assert report.ok, report.problems
    with zipfile.ZipFile(path) as archive:
        lines = [json.loads(raw) for raw in archive.read("entries.jsonl").splitlines()]
        members = {name: archive.read(name) for name in archive.namelist()}
    assert lines[target.seq - 1] == {
        "omitted": {"seq": target.seq, "prev": target.prev, "hash": target.hash}
    }
    assert f"evidence/{target.evidence[0]['sha256']}" not in members
    for name, data in members.items():
        assert_says_nothing_of_the_secrets(data, name)
    done = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_dossier_made_after_erasure_verifies_and_lacks_the_erased_text(
    django_capture_on_commit_callbacks,
):
    case = make_case()
    add_entry(
        case,
        "call",
        {"number": "17000000001", "summary": "威胁", "tags": ["threat"]},
        occurred_at="2026-01-05T23:10:00+08:00",
    )
    target = statement_entry(case)
    erase_committed(target, django_capture_on_commit_callbacks)
    dossier, pdf = make_dossier(case)
    report = verify_dossier_pdf(io.BytesIO(pdf))
    assert report.ok, report.problems
    files = _embedded_files(PdfFileReader(io.BytesIO(pdf)))
    lines = [json.loads(raw) for raw in files["entries.jsonl"].splitlines()]
    assert lines[target.seq - 1] == {
        "omitted": {"seq": target.seq, "prev": target.prev, "hash": target.hash}
    }
    assert_says_nothing_of_the_secrets(files["entries.jsonl"], "the dossier's entries.jsonl")
    # The summary counts no contact report: the statement was the only one.
    from locker.dossier.build import gather

    data = gather(dossier)
    assert data.conduct.by_kind["contact_report"] == 0
    assert data.conduct.third_party_contacts == 0
    assert data.erased == 1


def test_the_api_lists_and_verifies_the_chain_with_the_omitted_line(
    django_capture_on_commit_callbacks,
):
    world = Personas()
    target = statement_entry(world.case)
    erase_committed(target, django_capture_on_commit_callbacks)
    for persona in ("owner", "reviewer"):
        api = world.api(persona)
        listed = api.get(f"/api/cases/{world.case.pk}/entries?limit=1000").json()["items"]
        assert listed[target.seq - 1] == {
            "omitted": {"seq": target.seq, "prev": target.prev, "hash": target.hash}
        }
        assert listed[-1]["entry"]["kind"] == "redaction"
        assert_says_nothing_of_the_secrets(json.dumps(listed, ensure_ascii=False), persona)
        assert api.get(f"/api/cases/{world.case.pk}/verify").json()["ok"] is True


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_pages_show_a_plain_erased_row_and_no_content(
    django_capture_on_commit_callbacks, language: str
):
    world = Personas()
    target = statement_entry(world.case)
    erase_committed(target, django_capture_on_commit_callbacks)
    words = {"en": "This record's content was erased on", "zh-hans": "此记录的内容已于"}[language]
    pages = {
        "owner": ["case_detail", "timeline", "review"],
        "reviewer": ["case_detail", "timeline", "review"],
    }
    for persona, names in pages.items():
        client = world.web(persona)
        client.cookies["django_language"] = language
        for name in names:
            page = body_of(client.get(reverse(name, args=[world.case.pk]))).decode()
            assert words in page, (persona, name)
            assert_says_nothing_of_the_secrets(page, f"{persona}'s {name}")
        detail = client.get(reverse("entry_detail", args=[world.case.pk, target.seq]))
        text = body_of(detail).decode()
        assert words in text and target.hash in text
        assert_says_nothing_of_the_secrets(text, "the entry page")


def test_case_statistics_leave_the_erased_entry_out(django_capture_on_commit_callbacks):
    case = make_case()
    target = add_entry(
        case, "call", {"number": RELATIVE_NUMBER}, occurred_at="2026-01-05T23:10:00+08:00"
    )
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    assert case_overview(case, zone).summary.calls == 1
    erase_committed(target, django_capture_on_commit_callbacks)
    summary = case_overview(case, zone).summary
    assert (summary.calls, summary.night) == (0, 0)
    assert RELATIVE_NUMBER not in repr(summary)


def test_a_kept_receipt_of_the_erased_entry_still_holds(django_capture_on_commit_callbacks):
    case = make_case()
    target = statement_entry(case)
    receipt = services.issue_checkpoint(case=case, length=target.seq, head=target.hash)
    services.add_kept_receipt(case=case, user=case.owner, data=json.dumps(receipt).encode())
    erase_committed(target, django_capture_on_commit_callbacks)
    assert [row.status for row in kept_receipts_of(case)] == ["holds"]


# Who may erase, and what is refused ---------------------------------------------------------


def test_only_the_owner_can_erase_on_any_route():
    """Every other persona is refused on the page, its POST and the API, and nothing
    changes: lawyers (even a reviewer), a revoked one, a stranger, the signed-out and a
    contact-link holder."""
    world = Personas().everyone()
    target = world.screenshot
    page = reverse("erase_entry", args=[world.case.pk, target.seq])
    api_url = f"/api/cases/{world.case.pk}/entries/{target.seq}/erase"
    for persona in PERSONAS[1:]:
        web = world.web(persona)
        expected = 302 if persona in ("anonymous", "contact") else 404
        assert web.get(page).status_code == expected, persona
        assert csrf_post(web, page, {"reason": "other"}).status_code == expected, persona
        answer = world.api(persona).post_json(api_url, {})
        assert answer.status_code == (401 if expected == 302 else 404), persona
    assert not Entry.objects.get(pk=target.pk).is_erased
    assert not Entry.objects.filter(case=world.case, kind="redaction").exists()
    lawyer = world.user("reviewer")
    with pytest.raises(PermissionError):
        services.erase_entry(case=world.case, seq=target.seq, user=lawyer, author="user:0")


def test_the_owner_erases_through_the_page_with_a_confirmation():
    world = Personas()
    target = world.screenshot
    owner = world.web("owner")
    page = reverse("erase_entry", args=[world.case.pk, target.seq])
    detail = body_of(owner.get(reverse("entry_detail", args=[world.case.pk, target.seq])))
    assert page.encode() in detail
    owner.cookies["django_language"] = "en"
    confirm = body_of(owner.get(page)).decode()
    for words in ("This cannot be undone.", "dossiers already made", "fingerprint (hash)"):
        assert words in confirm
    owner.cookies["django_language"] = "zh-hans"
    assert "此操作无法撤销" in body_of(owner.get(page)).decode()
    answer = csrf_post(owner, page, {"reason": "third_party_data"})
    assert answer.status_code == 302
    assert answer["Location"] == reverse("entry_detail", args=[world.case.pk, target.seq])
    assert Entry.objects.get(pk=target.pk).is_erased
    redaction = Entry.objects.get(case=world.case, kind="redaction")
    assert redaction.body == {"erased_seq": target.seq, "reason": "third_party_data"}
    after = body_of(owner.get(answer["Location"])).decode()
    assert "已擦除" in after  # the result message, in the owner's language
    assert owner.get(page).status_code == 404  # nothing left to erase


def test_a_post_without_csrf_token_erases_nothing():
    world = Personas()
    target = world.screenshot
    client = client_for(world.owner)
    client.handler.enforce_csrf_checks = True
    answer = client.post(reverse("erase_entry", args=[world.case.pk, target.seq]), {})
    assert answer.status_code == 403
    assert not Entry.objects.get(pk=target.pk).is_erased


def test_the_api_erases_once_then_answers_409():
    world = Personas()
    target = world.screenshot
    api = world.api("owner")
    url = f"/api/cases/{world.case.pk}/entries/{target.seq}/erase"
    first = api.post_json(url, {"reason": "recorded_by_mistake"})
    assert first.status_code == 200, first.content
    out = first.json()
    assert out["entry"]["kind"] == "redaction"
    assert out["entry"]["body"] == {"erased_seq": target.seq, "reason": "recorded_by_mistake"}
    assert out["erased"] == {"seq": target.seq, "prev": target.prev, "hash": target.hash}
    assert chain.entry_hash(out["entry"]) == out["hash"]
    assert out["entry"]["author"].startswith("token:")
    second = api.client.post(url, **api.headers)  # no body at all, as `curl -X POST` sends
    assert second.status_code == 409 and "erased already" in second.json()["detail"]
    assert Entry.objects.filter(case=world.case, kind="redaction").count() == 1
    with pytest.raises(services.AlreadyErased):
        erase(Entry.objects.get(pk=target.pk))


@pytest.mark.parametrize(
    ("which", "data", "status"),
    [
        ("redaction", {}, 422),  # the trace of an erasure cannot itself be erased
        ("first", {}, 422),  # the case's opening facts (a case_update) live on the case
        ("screenshot", {"reason": "because her number is 139…"}, 422),  # no free text
        ("screenshot", {"reason": 5}, 422),
        ("screenshot", {"reason": "other", "note": "她的号码"}, 422),  # no member to hide text in
        ("missing", {}, 404),
    ],
)
def test_the_api_refuses_what_cannot_be_erased(which: str, data: dict, status: int):
    world = Personas()
    shot = world.screenshot
    redaction = erase(add_entry(world.case)).redaction
    seq = {"redaction": redaction.seq, "first": 1, "screenshot": shot.seq, "missing": 99}[which]
    before = list(Entry.objects.filter(case=world.case).values_list("hash", "erased_at"))
    answer = world.api("owner").post_json(f"/api/cases/{world.case.pk}/entries/{seq}/erase", data)
    assert answer.status_code == status, answer.content
    assert isinstance(answer.json()["detail"], str)
    after = list(Entry.objects.filter(case=world.case).values_list("hash", "erased_at"))
    assert after == before


@pytest.mark.parametrize(
    ("raw", "english", "chinese"),
    [
        (b"[1]", "must be a JSON object", "必须是 JSON 对象"),
        (b'{"reason": 5}', "reason must be a string", "必须是字符串"),
        (b'{"note": "x"}', "unknown members ['note']", "未知的成员 ['note']"),
        (b"{", "request body is not valid JSON", "不是有效的 JSON"),
        (b'{"reason": "because"}', "unknown reason", "未知的原因"),
    ],
    ids=["not-an-object", "reason-not-a-string", "unknown-member", "not-json", "unknown-reason"],
)
def test_the_api_refuses_a_bad_body_in_the_clients_language(raw: bytes, english: str, chinese: str):
    world = Personas()
    api = world.api("owner")
    url = f"/api/cases/{world.case.pk}/entries/{world.screenshot.seq}/erase"
    words = {}
    for language in ("en", "zh-CN,zh;q=0.9"):
        answer = api.client.post(
            url, raw, content_type="application/json", HTTP_ACCEPT_LANGUAGE=language, **api.headers
        )
        assert answer.status_code in (400, 422), answer.content
        words[language] = answer.json()["detail"]
    assert english in words["en"] and chinese in words["zh-CN,zh;q=0.9"], words
    assert not Entry.objects.filter(case=world.case, kind="redaction").exists()


def test_no_such_entry_is_the_404_of_every_route():
    world = Personas()
    answer = world.api("owner").post_json(f"/api/cases/{world.case.pk}/entries/99/erase", {})
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"})


def test_an_erased_entry_cannot_be_corrected():
    case = make_case()
    target = add_entry(case, "note", {"text": RELATIVE_NUMBER})
    erase(target)
    with pytest.raises(services.InputError, match="its content was erased"):
        add_entry(
            case,
            "correction",
            {"corrects_seq": target.seq, "reason": "号码", "changes": {"text": RELATIVE_NUMBER}},
        )


def test_the_model_layer_allows_only_the_erasure():
    """On every database: saving, updating or deleting an entry is still refused; the
    erasure happens once (a second one changes no row)."""
    case = make_case()
    target = add_entry(case, "note", {"text": RELATIVE_NUMBER})
    target.body = {"text": "改写"}
    for change in (
        target.save,
        target.delete,
        lambda: Entry.objects.filter(pk=target.pk).update(body={"text": "改写"}),
        lambda: Entry.objects.filter(pk=target.pk).delete(),
    ):
        with pytest.raises(PermissionError, match="append-only"):
            change()
    redaction = erase(Entry.objects.get(pk=target.pk)).redaction
    assert target.mark_erased(redaction=redaction) == 0
    erased = Entry.objects.get(pk=target.pk)
    with pytest.raises(PermissionError, match="append-only"):
        Entry.objects.filter(pk=erased.pk).update(erased_at=None, erased_by=None)


def test_a_case_with_an_erased_record_can_still_be_deleted_whole(
    django_capture_on_commit_callbacks,
):
    """The erased entry points at its redaction (RESTRICT): deleting the case takes both in
    one go, on SQLite and, in CI, through PostgreSQL's delete guard."""
    from locker.services import deletion

    from ..factories import PASSWORD

    case = make_case()
    target = statement_entry(case)
    erase_committed(target, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        deletion.delete_case(case=case, user=case.owner, password=PASSWORD)
    assert not Entry.objects.filter(case_id=case.pk).exists()
