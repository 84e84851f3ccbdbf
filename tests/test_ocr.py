"""The text read from screenshots (OCR, issue 15 part 2): real Tesseract (chi_sim + eng) on a
screenshot drawn here with the WenQuanYi font the project ships, the text sealed at rest and
never in the chain, found by the timeline's search, offered as a message's text by a
correction, quoted in dossiers as machine-read, and gone with the erased evidence. Without
Tesseract the page says so and the sweep picks the picture up once it is there."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFont

from locker import services
from locker.infra import ocr
from locker.infra.fonts import cjk_font_path
from locker.models import Entry, EvidenceFile, EvidenceText
from locker.selectors import evidence_text as text_reads
from locker.services import complainant as complainant_services
from locker.services import deletion
from locker.services import evidence_text as text_services

from .dossier_helpers import has, make_dossier, pdf_text, wav_bytes
from .factories import (
    PASSWORD,
    UserFactory,
    add_entry,
    make_case,
    run_worker_on_text,
    share_with,
)
from .prerequisites import needs
from .ui_helpers import client_for, csrf_post

pytestmark = pytest.mark.django_db


def _tesseract_ready() -> bool:
    program = shutil.which("tesseract")
    if program is None:
        return False
    listed = subprocess.run(
        [program, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.split()
    return "chi_sim" in listed and "eng" in listed


needs_tesseract = needs(
    _tesseract_ready(),
    "Tesseract with chi_sim and eng is not installed "
    "(apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng)",
)

NUMBER = "13800138000"
LINES = (NUMBER, "您的借款已逾期，请立即还款", "否则我们将联系您的家人", "Overdue notice zebracode")


def screenshot(lines: tuple[str, ...] = LINES) -> bytes:
    """An SMS screenshot as a phone makes one: dark text on white, 1080 px wide."""
    font = ImageFont.truetype(str(cjk_font_path()), 44)
    image = Image.new("RGB", (1080, 160 + 110 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((60, 80 + 110 * index), line, fill=(20, 20, 20), font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _message(case, data: bytes, text: str = "", sender: str = "") -> Entry:
    body = {"channel": "sms", "text": text, "sender": sender}
    return add_entry(
        case, "message", body, uploads=[services.Upload("Screenshot_1.png", io.BytesIO(data))]
    )


def _page(case, entry, user=None) -> str:
    client = client_for(user or case.owner)
    return client.get(reverse("entry_detail", args=[case.pk, entry.seq])).content.decode()


@needs_tesseract
def test_the_number_and_chinese_are_read_from_a_screenshot_and_sealed(tmp_path: Path) -> None:
    case = make_case()
    entry = _message(case, screenshot())
    row = EvidenceText.objects.get(evidence__case=case)
    assert row.state == EvidenceText.State.PENDING  # the append read nothing itself

    assert "正在识别这张图片中的文字" in _page(case, entry)
    assert run_worker_on_text(case) == ["ready"]
    assert run_worker_on_text(case) == []  # read: never claimed again

    row.refresh_from_db()
    read = text_reads.texts_of(case.pk, [entry.evidence[0]["sha256"]])[entry.evidence[0]["sha256"]]
    assert NUMBER in read.text
    assert "还款" in read.text and "家人" in read.text
    assert read.numbers == [NUMBER]
    assert row.engine.startswith("tesseract ") and row.languages == "chi_sim+eng"
    assert row.confidence is not None and row.confidence > 50
    # Sealed at rest: the database holds no word of it.
    assert NUMBER.encode() not in bytes(row.sealed)
    assert "家人".encode() not in bytes(row.sealed)
    # Never the chain's: the entry's body and hash are what they were.
    stored = Entry.objects.get(pk=entry.pk)
    assert stored.body.get("text") == "" and stored.hash == entry.hash

    page = _page(case, entry)
    assert "机器识别文字（可能有误）" in page
    assert "家人" in page


@needs_tesseract
def test_the_timeline_finds_a_word_only_in_the_screenshot() -> None:
    case = make_case()
    pictured = _message(case, screenshot())
    add_entry(case, "note", {"text": "another note about a call"})
    run_worker_on_text(case)
    client = client_for(case.owner)
    url = reverse("timeline", args=[case.pk])
    found = client.get(url, {"q": "zebracode"}).content.decode()
    assert reverse("entry_detail", args=[case.pk, pictured.seq]) in found
    assert "another note about a call" not in found
    # Chinese, typed without the spaces Tesseract may put between characters.
    found = client.get(url, {"q": "家人"}).content.decode()
    assert reverse("entry_detail", args=[case.pk, pictured.seq]) in found
    # Words of the entries' own text still match; a word nowhere matches nothing.
    found = client.get(url, {"q": "another"}).content.decode()
    assert "another note about a call" in found
    nothing = client.get(url, {"q": "nowhere-such-word"}).content.decode()
    assert reverse("entry_detail", args=[case.pk, pictured.seq]) not in nothing


@needs_tesseract
def test_the_lawyers_review_search_finds_a_word_only_in_the_screenshot() -> None:
    """The review page searches as the timeline does (one search function): a word only in
    a picture finds its entry, with the other filters still applied."""
    case = make_case()
    pictured = _message(case, screenshot())
    note = add_entry(case, "note", {"text": "another note about a call"})
    run_worker_on_text(case)
    lawyer = UserFactory()
    share_with(case, lawyer, "reviewer")
    client = client_for(lawyer)
    url = reverse("review", args=[case.pk])

    def rows(**query: str) -> list[int]:
        page = client.get(url, query)
        assert page.status_code == 200
        return [entry.seq for entry in page.context["entries"]]

    assert rows(q="zebracode") == [pictured.seq]
    assert rows(q="家人 zebracode") == [pictured.seq]  # every word, each anywhere
    assert rows(q="家人", kind="note") == []
    assert rows(q="another") == [note.seq]
    assert rows(q="nowhere-such-word") == []


@needs_tesseract
def test_the_read_text_is_added_as_the_message_text_by_a_correction() -> None:
    case = make_case()
    entry = _message(case, screenshot())
    run_worker_on_text(case)
    page = _page(case, entry)
    assert "把这段文字添加为短信内容" in page
    assert f'value="{NUMBER}"' in page  # the sender number found in the picture
    client = client_for(case.owner)
    url = reverse("entry_use_text", args=[case.pk, entry.seq])
    response = csrf_post(client, url, {"text": "您的借款已逾期，请立即还款", "sender": NUMBER})
    assert response.status_code == 302
    correction = Entry.objects.get(case=case, kind="correction")
    assert correction.body["corrects_seq"] == entry.seq
    assert correction.body["changes"] == {
        "text": "您的借款已逾期，请立即还款",
        "sender": NUMBER,
        "sender_e164": "+8613800138000",
    }
    # The message itself is unchanged, and the offer is not made twice.
    assert Entry.objects.get(pk=entry.pk).body["text"] == ""
    assert "把这段文字添加为短信内容" not in _page(case, entry)
    # Only the owner may: another account gets no such case.
    stranger = make_case().owner
    assert csrf_post(client_for(stranger), url, {"text": "x"}).status_code == 404


@needs_tesseract
@pytest.mark.skipif(not has("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_dossiers_quote_the_text_as_machine_read(tmp_path: Path) -> None:
    case = make_case()
    _message(case, screenshot())
    run_worker_on_text(case)
    _dossier, data = make_dossier(case, template="court", language="en")
    path = tmp_path / "dossier.pdf"
    path.write_bytes(data)
    text = pdf_text(str(path))
    assert "Machine-read text (may contain errors)" in text
    assert NUMBER in text and "zebracode" in text


@needs_tesseract
def test_erasure_removes_the_read_text(django_capture_on_commit_callbacks) -> None:
    case = make_case()
    entry = _message(case, screenshot())
    run_worker_on_text(case)
    assert EvidenceText.objects.filter(evidence__case=case).exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.erase_entry(
            case=case, seq=entry.seq, user=case.owner, author=f"user:{case.owner_id}"
        )
    assert not EvidenceText.objects.exists()
    found = client_for(case.owner).get(reverse("timeline", args=[case.pk]), {"q": "zebracode"})
    assert reverse("entry_detail", args=[case.pk, entry.seq]) not in found.content.decode()


def test_case_deletion_removes_the_read_text(settings) -> None:
    settings.LOCKER_TESSERACT = "no-such-tesseract-here"
    case = make_case()
    _message(case, screenshot())
    assert EvidenceText.objects.count() == 1
    deletion.delete_case(case=case, user=case.owner, password=PASSWORD)
    assert not EvidenceText.objects.exists() and not EvidenceFile.objects.exists()


def test_a_worker_finishing_after_the_erasure_writes_nothing(
    django_capture_on_commit_callbacks,
) -> None:
    case = make_case()
    entry = _message(case, screenshot())
    row = text_services.claim_text(evidence_id=EvidenceText.objects.get().pk)
    assert row is not None
    with django_capture_on_commit_callbacks(execute=True):
        services.erase_entry(
            case=case, seq=entry.seq, user=case.owner, author=f"user:{case.owner_id}"
        )
    reading = ocr.Reading(ocr.Outcome.READY, "催收", 90)
    assert text_services.finish_text(row=row, reading=reading) is False
    assert not EvidenceText.objects.exists()


def test_without_tesseract_the_page_says_so_and_the_sweep_reads_it_later(settings) -> None:
    settings.LOCKER_TESSERACT = "no-such-tesseract-here"
    ocr.probe(fresh=True)
    case = make_case()
    entry = _message(case, screenshot())
    assert run_worker_on_text(case) == ["no_tool"]
    page = _page(case, entry)
    assert "服务器缺少文字识别程序（Tesseract）" in page
    assert text_services.sweep_text() == []  # still missing: nothing sent
    settings.LOCKER_TESSERACT = "tesseract"
    ocr.probe(fresh=True)
    if _tesseract_ready():
        assert text_services.sweep_text() == [EvidenceText.objects.get().pk]
        assert EvidenceText.objects.get().state == EvidenceText.State.PENDING


def test_a_file_that_is_no_picture_waits_for_no_reading() -> None:
    case = make_case()
    add_entry(
        case,
        "call",
        {"number": "95588"},
        uploads=[services.Upload("call.wav", io.BytesIO(wav_bytes()))],
    )
    assert not EvidenceText.objects.exists()


def test_text_of_tsv_joins_chinese_without_spaces() -> None:
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight"
        "\tconf\ttext\n"
        "5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t96\t请\n"
        "5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t90\t还款\n"
        "5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t80\tcall\n"
        "5\t1\t1\t1\t2\t2\t0\t0\t1\t1\t70\t138\n"
        "5\t1\t2\t1\t1\t1\t0\t0\t1\t1\t-1\t \n"
        "5\t1\t3\t1\t1\t1\t0\t0\t1\t1\t60\t家人\n"
    )
    assert ocr.text_of_tsv(tsv) == ("请还款\ncall 138\n\n家人", 79)


def test_master_key_rotation_rewraps_the_read_text() -> None:
    case = make_case()
    _message(case, screenshot())
    row = EvidenceText.objects.get()
    claimed = text_services.claim_text(evidence_id=row.pk)
    assert claimed is not None
    text_services.finish_text(row=claimed, reading=ocr.Reading(ocr.Outcome.READY, "催收 95588", 88))
    # Re-wrapped with the other sealed rows (the complainant's details, devices' secrets).
    assert EvidenceText in complainant_services.SEALED_ROW_MODELS
    rewrapped, failed = complainant_services.rewrap_sealed_details()
    assert (rewrapped, failed) == (0, [])  # already under the current key
    read = text_reads.texts_of(case.pk, [row.evidence.sha256])[row.evidence.sha256]
    assert read.text == "催收 95588" and read.numbers == ["95588"]
