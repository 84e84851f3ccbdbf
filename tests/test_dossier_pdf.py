"""The dossier PDF: every template in both languages, its signature as pyHanko and pdfsig see
it, tampering (a flipped byte, an incremental update), the embedded chain checked with
nothing but the spec, Chinese text, literal user markup, fonts, page and Bates numbers."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.utils import translation
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from locker.dossier import build
from locker.dossier.data import include_filter
from locker.dossier.render import render_pdf
from locker.dossier.sign import asn1_certificate, sign_dossier
from locker.dossier.verify import _embedded_files, verify_dossier_pdf
from locker.infra import signing
from locker.models import Checkpoint, Dossier

from .conftest import needs
from .dossier_helpers import (
    CHINESE_PHRASE,
    MARKUP_NOTE,
    has,
    make_dossier,
    pdf_text,
    run_tool,
    small_case,
)
from .factories import add_entry

pytestmark = pytest.mark.django_db

needs_poppler = needs(
    has("pdfsig") and has("pdftotext") and has("pdffonts"),
    "poppler-utils (pdfsig, pdftotext, pdffonts) is not installed",
)

# A phrase of each template in each language, so that a test fails if the wrong one is used.
TEMPLATE_PHRASES = {
    ("cn_regulator", "zh-hans"): "国家金融监督管理总局",
    ("cn_regulator", "en"): "National Financial Regulatory Administration",
    ("cn_12321", "zh-hans"): "12321网络不良与垃圾信息举报受理中心",
    ("cn_12321", "en"): "Spam Reporting Center",
    ("us_cfpb", "zh-hans"): "在不便时间联系",
    ("us_cfpb", "en"): "Contacts at inconvenient times",
    ("court", "zh-hans"): "第九十三条",
    ("court", "en"): "Federal Rules of Evidence 902(11), 902(13), 902(14)",
}


def write(tmp_path: Path, data: bytes, name: str = "dossier.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(("template", "language"), sorted(TEMPLATE_PHRASES))
def test_every_template_in_both_languages_verifies(template: str, language: str) -> None:
    case = small_case()
    dossier, data = make_dossier(case, template, language)
    report = verify_dossier_pdf(io.BytesIO(data))
    assert report.ok, report.problem
    assert report.head_known and report.checkpoint_trusted
    assert (report.length, report.head) == (dossier.chain_length, dossier.chain_head)
    assert dossier.sha256 == hashlib.sha256(data).hexdigest()
    assert dossier.progress == 100 and dossier.pages and dossier.pages >= 5


@needs_poppler
@pytest.mark.parametrize(("template", "language"), sorted(TEMPLATE_PHRASES))
def test_each_template_has_its_own_wording(tmp_path: Path, template: str, language: str) -> None:
    _dossier, data = make_dossier(small_case(), template, language)
    text = re.sub(r"\s+", " ", pdf_text(write(tmp_path, data)))
    assert TEMPLATE_PHRASES[(template, language)] in text
    other = "zh-hans" if language == "en" else "en"
    assert TEMPLATE_PHRASES[(template, other)] not in text


def test_pyhanko_validates_a_certification_covering_the_whole_file() -> None:
    _dossier, data = make_dossier(small_case(), "court", "en")
    signature = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    context = ValidationContext(
        trust_roots=[asn1_certificate(signing.load_signer().ca_certificate)],
        allow_fetching=False,
    )
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert signature.docmdp_level == MDPPerm.NO_CHANGES


@needs_poppler
def test_pdfsig_says_valid_and_total_document_signed(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "cn_12321", "zh-hans")
    out = run_tool("pdfsig", write(tmp_path, data))
    assert "Signature is Valid" in out
    assert "Total document signed" in out


@needs_poppler
def test_one_flipped_byte_makes_the_dossier_invalid(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "cn_regulator", "en")
    # A byte inside the first page's compressed content stream: covered by the signature.
    start = data.index(b"stream\r\n") + 100 if b"stream\r\n" in data else data.index(b"stream\n")
    start += 100
    flipped = bytearray(data)
    flipped[start] ^= 0x01
    report = verify_dossier_pdf(io.BytesIO(bytes(flipped)))
    assert not report.ok
    out = run_tool("pdfsig", write(tmp_path, bytes(flipped)))
    assert "Signature is Valid" not in out


def test_an_incremental_update_after_signing_is_rejected(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "court", "zh-hans")
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    info = writer.trailer["/Info"]
    info["/Title"] = generic.TextStringObject("edited after signing")
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    appended = out.getvalue()
    assert appended.startswith(data)
    with translation.override("en"):
        report = verify_dossier_pdf(io.BytesIO(appended))
    assert not report.ok
    assert "after it was signed" in (report.problem or "")
    if has("pdfsig"):
        # pdfsig still calls the signature valid: only its coverage line tells.
        assert "Not total document signed" in run_tool("pdfsig", write(tmp_path, appended))


def test_garbage_and_unsigned_pdfs_are_invalid() -> None:
    assert not verify_dossier_pdf(io.BytesIO(b"%PDF-1.7\n garbage")).ok
    assert not verify_dossier_pdf(io.BytesIO(b"not a pdf")).ok


def test_a_stated_head_that_differs_from_the_embedded_chain_is_rejected(tmp_path: Path) -> None:
    case = small_case()
    dossier, _data = make_dossier(case, "cn_regulator", "en")
    old = build.gather(dossier)
    unsigned = io.BytesIO()
    render_pdf(old, unsigned, images={}, audio_durations={})
    add_entry(case, "note", {"text": "later"})
    new = build.gather(dossier)
    signed = io.BytesIO()
    unsigned.seek(0)
    sign_dossier(
        unsigned,
        signed,
        entries=build.entries_jsonl(new.lines),
        checkpoint=new.checkpoint,
        anchors=new.anchors,
        reason="test",
    )
    with translation.override("en"):
        report = verify_dossier_pdf(io.BytesIO(signed.getvalue()))
    assert not report.ok
    assert "verification page" in (report.problem or "")


def test_the_embedded_chain_verifies_with_nothing_but_the_spec() -> None:
    case = small_case()
    _dossier, data = make_dossier(case, "court", "en", date_from="2026-01-06", date_to="2026-01-07")
    files = _embedded_files(PdfFileReader(io.BytesIO(data)))
    lines = [json.loads(raw) for raw in files["entries.jsonl"].splitlines()]
    checkpoint = json.loads(files["checkpoint.json"])
    prev = "0" * 64
    for number, line in enumerate(lines, start=1):
        if "entry" in line:
            canonical = json.dumps(
                line["entry"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
            assert hashlib.sha256(canonical).hexdigest() == line["hash"]
            link = {
                "seq": line["entry"]["seq"],
                "prev": line["entry"]["prev"],
                "hash": line["hash"],
            }
        else:
            link = line["omitted"]
        assert link["seq"] == number and link["prev"] == prev
        prev = link["hash"]
    assert checkpoint["checkpoint"]["head"] == prev
    assert checkpoint["checkpoint"]["length"] == len(lines) == 5
    # The range shows the message and the contact report; the rest are stubs.
    assert [("entry" in line) for line in lines] == [False, False, True, True, False]
    certificate = x509.load_pem_x509_certificate(checkpoint["certificate"].encode())
    body = json.dumps(
        checkpoint["checkpoint"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    import base64

    certificate.public_key().verify(  # type: ignore[call-arg]
        base64.b64decode(checkpoint["signature"]), body, ec.ECDSA(hashes.SHA256())
    )


@needs_poppler
def test_chinese_text_and_literal_user_markup_are_in_the_text(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "cn_regulator", "zh-hans")
    text = pdf_text(write(tmp_path, data))
    assert CHINESE_PHRASE in text
    assert "关于暴力催收的投诉" in text
    flat = re.sub(r"\s+", " ", text)
    assert '<font color="red">PAY</font>' in flat
    assert '<img src="x.png"/>' in flat
    assert "张三 <b>bold</b>" in flat
    assert MARKUP_NOTE.split(" and ")[0] in flat


@needs_poppler
def test_every_font_is_embedded(tmp_path: Path) -> None:
    _dossier, data = make_dossier(small_case(), "us_cfpb", "en")
    rows = run_tool("pdffonts", write(tmp_path, data)).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        assert re.search(r"\s+yes\s+yes\s+yes\s+", row), row


@needs_poppler
def test_every_page_has_page_n_of_total_and_a_bates_number(tmp_path: Path) -> None:
    dossier, data = make_dossier(small_case(), "court", "en")
    path = write(tmp_path, data)
    total = dossier.pages
    prefix = f"EL-{dossier.case_id.hex[:8].upper()}-{dossier.id.hex[:8].upper()}-"
    pages = []
    for page in range(1, total + 1):
        text = run_tool("pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8", path, "-")
        assert f"page {page} of {total}" in text
        assert f"{prefix}{page:06d}" in text
        pages.append(text)

    def page_of(marker: str) -> int:
        return next(number for number, text in enumerate(pages, start=1) if marker in text)

    # The exhibit index, before the evidence, names the Bates page its exhibits are on.
    index_page = page_of("Exhibit index")
    layout = run_tool(
        "pdftotext", "-layout", "-f", str(index_page), "-l", str(index_page), path, "-"
    )
    index = re.sub(r"\s+", " ", layout)
    image_page, audio_page = page_of("E-3 · #"), page_of("Audio recordings and other files")
    assert index_page < image_page <= audio_page
    # Exhibits are labelled by the seq of their entry (the screenshot's is #3, the
    # recording's #4: #1 is the case's facts).
    assert f"E-3 {prefix}{image_page:06d} #3" in index
    assert f"E-4 {prefix}{audio_page:06d} #4" in index
    # A page draws only its own refs: the number is on the index and, as its footer, on the
    # exhibit's page, nowhere else.
    on = [n for n, text in enumerate(pages, start=1) if f"{prefix}{image_page:06d}" in text]
    assert on == [index_page, image_page]


def _test_tsa(tmp_path: Path) -> DummyTimeStamper:
    """An offline time-stamp authority whose certificate our CA issued (tests only)."""
    from asn1crypto import keys as asn1_keys
    from django.conf import settings

    ca_key = serialization.load_pem_private_key(
        (Path(settings.LOCKER_KEY_DIR) / "ca.key").read_bytes(), None
    )
    ca_cert = signing.load_signer().ca_certificate
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # Dummy TSA: RSA only
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return DummyTimeStamper(
        tsa_cert=asn1_certificate(cert),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
    )


def test_with_a_time_stamper_given_the_signature_is_time_stamped(tmp_path: Path) -> None:
    # (PAdES B-LTA against a real TSA over HTTP: tests/test_dossier_lta.py.)
    case = small_case()
    dossier, _data = make_dossier(case, "cn_12321", "en")
    data = build.gather(dossier)
    unsigned = io.BytesIO()
    render_pdf(data, unsigned, images={}, audio_durations={})
    unsigned.seek(0)
    signed = io.BytesIO()
    sign_dossier(
        unsigned,
        signed,
        entries=build.entries_jsonl(data.lines),
        checkpoint=data.checkpoint,
        anchors=data.anchors,
        reason="test",
        timestamper=_test_tsa(tmp_path),
    )
    signature = PdfFileReader(io.BytesIO(signed.getvalue())).embedded_signatures[0]
    context = ValidationContext(
        trust_roots=[asn1_certificate(signing.load_signer().ca_certificate)],
        allow_fetching=False,
    )
    status = validate_pdf_signature(signature, context)
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid
    report = verify_dossier_pdf(io.BytesIO(signed.getvalue()))
    assert report.ok, report.problem
    assert any("time-stamped" in note for note in report.notes)


def test_a_dossier_signs_a_checkpoint_for_the_head_it_covers() -> None:
    case = small_case()
    dossier, _data = make_dossier(case, "court", "en", kinds=["note"])
    assert Checkpoint.objects.filter(
        case=case, length=dossier.chain_length, head=dossier.chain_head
    ).exists()
    assert dossier.chain_length == case.entries.count()


def test_include_filter_keeps_corrections_of_shown_entries() -> None:
    case = small_case()
    add_entry(case, "correction", {"corrects_seq": 5, "reason": "typo", "changes": {}})
    dossier = Dossier(case=case, time_zone="Asia/Shanghai", kinds=["note"])
    include = include_filter(dossier)
    shown = [e.seq for e in case.entries.order_by("seq") if include(e)]
    assert shown == [5, 6]


def test_verify_bundle_command_accepts_a_dossier_and_rejects_a_changed_one(
    tmp_path: Path,
) -> None:
    from django.core.management import CommandError, call_command

    _dossier, data = make_dossier(small_case(), "us_cfpb", "zh-hans")
    out = io.StringIO()
    call_command("verify_bundle", write(tmp_path, data), stdout=out)
    assert "VERIFIED" in out.getvalue() and "PAdES certification" in out.getvalue()
    changed = data.replace(b"/Creator", b"/Creatos", 1)
    with pytest.raises(CommandError, match="NOT VERIFIED"):
        call_command("verify_bundle", write(tmp_path, changed, "changed.pdf"), stdout=io.StringIO())
