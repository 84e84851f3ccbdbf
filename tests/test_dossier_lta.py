"""The dossier's long-term signature against a real RFC 3161 service on loopback
(tests/tsa_server.py): PAdES B-LTA as pyHanko's AdES validation sees it (offline, with
nothing but the TSA root and the instance CA trusted, now and after every CRL in it has
expired) and as pdfsig sees it; B-B with the visible note when no TSA is configured; and
the embedded anchors.json."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.utils import translation
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed
from pyhanko.sign.validation import DocumentSecurityStore
from pyhanko.sign.validation.ades import (
    AdESLTAValidationResult,
    ades_lta_validation,
    simulate_future_ades_lta_validation,
)
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from locker.core import anchors, chain
from locker.dossier import build
from locker.dossier.pdf_verification import no_third_party_time_note
from locker.dossier.render import render_pdf
from locker.dossier.sign import (
    ANCHORS_NAME,
    EMBEDDED_NAMES,
    TIMESTAMP_FIELD_NAME,
    asn1_certificate,
    first_answering,
    sign_dossier,
)
from locker.dossier.verify import _embedded_files, verify_dossier_pdf
from locker.infra import signing
from locker.infra.tsa import TSAUnavailable, authority
from locker.services import dossiers as dossier_services

from .dossier_helpers import has, make_dossier, pdf_text, run_tool, small_case
from .prerequisites import needs
from .tsa import LoopbackTSA, closed_url

pytestmark = pytest.mark.django_db

needs_poppler = needs(
    has("pdfsig") and has("pdftotext"),
    "poppler-utils (pdfsig, pdftotext) is not installed",
)


@pytest.fixture(scope="module")
def loopback_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackTSA]:
    """One real TSA process for the module (starting one takes about a second)."""
    tsa = LoopbackTSA(tmp_path_factory.mktemp("lta-tsa"), name="Loopback LTA TSA").start()
    try:
        yield tsa
    finally:
        tsa.stop()


@pytest.fixture
def with_tsa(settings, loopback_tsa: LoopbackTSA) -> LoopbackTSA:
    # A TSA that is down comes first: the signature must fall back to the next one.
    settings.LOCKER_TSA_URLS = [closed_url(), loopback_tsa.url]
    return loopback_tsa


def _der(pem_path: Path) -> asn1_x509.Certificate:
    return asn1_certificate(x509.load_pem_x509_certificate(pem_path.read_bytes()))


def _spec(*trusted: asn1_x509.Certificate) -> PdfSignatureValidationSpec:
    """AdES validation that trusts only `trusted`, needs revocation data for every
    certificate below a root, and fetches nothing: what the PDF carries must suffice."""
    required = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=list(trusted)),
                revinfo_policy=CertRevTrustPolicy(
                    RevocationCheckingPolicy(
                        ee_certificate_rule=required, intermediate_ca_cert_rule=required
                    )
                ),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )


def _describe(result: AdESLTAValidationResult) -> str:
    ts = result.signature_timestamp_status
    return (
        f"indication={result.ades_subindic} failure={result.failure_msg!r} "
        f"best_signature_time={result.best_signature_time} "
        f"oldest_document_time_stamp={result.oldest_evidence_record_timestamp} "
        f"signature_time_stamp={ts.ades_subindic if ts else None}"
    )


def write(tmp_path: Path, data: bytes, name: str = "dossier.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def lta_dossier(with_tsa: LoopbackTSA) -> tuple[bytes, LoopbackTSA]:
    _dossier, data = make_dossier(small_case(), "court", "en")
    return data, with_tsa


def test_with_a_tsa_the_dossier_is_pades_b_lta(lta_dossier) -> None:
    data, tsa = lta_dossier
    reader = PdfFileReader(io.BytesIO(data))
    [signature] = reader.embedded_regular_signatures
    [document_time_stamp] = reader.embedded_timestamp_signatures
    assert signature.attached_timestamp_data is not None, "no signature time-stamp"
    # Signed by the TSA that answered (the first configured one is down).
    stamped_by = {c.chosen.dump() for c in signature.attached_timestamp_data["certificates"]}
    assert _der(tsa.certificate_pem).dump() in stamped_by
    assert document_time_stamp.signed_revision > signature.signed_revision

    # The DSS holds every certificate and CRL a validator needs, offline.
    dss = DocumentSecurityStore.read_dss(reader)
    signer = signing.load_signer()
    tsa_root, tsa_certificate = _der(tsa.root_pem), _der(tsa.certificate_pem)
    instance_ca, signing_certificate = (
        asn1_certificate(signer.ca_certificate),
        asn1_certificate(signer.certificate),
    )
    certificates = {c.dump() for c in dss.load_certs()}
    for needed in (instance_ca, signing_certificate, tsa_certificate, tsa_root):
        assert needed.dump() in certificates, needed.subject.human_friendly
    crl_issuers = {
        asn1_crl.CertificateList.load(c.get_object().data)["tbs_cert_list"]["issuer"].dump()
        for c in dss.crls
    }
    assert crl_issuers == {instance_ca.subject.dump(), tsa_root.subject.dump()}

    # pyHanko's AdES B-LTA validation with only the two roots trusted: PASSED, now …
    spec = _spec(instance_ca, tsa_root)
    result = asyncio.run(ades_lta_validation(signature, spec))
    assert result.ades_subindic == AdESPassed.OK, _describe(result)
    assert result.oldest_evidence_record_timestamp is not None
    assert result.signature_timestamp_status is not None
    assert result.signature_timestamp_status.ades_subindic == AdESPassed.OK
    assert result.api_status is not None and result.api_status.docmdp_ok

    # … and 60 days on, when every CRL in the DSS has passed its nextUpdate: the document
    # time-stamp proves the validation data existed while fresh (what B-B cannot).
    later = datetime.now().astimezone() + timedelta(days=60)
    future = asyncio.run(simulate_future_ades_lta_validation(signature, spec, later))
    assert future.ades_subindic == AdESPassed.OK, _describe(future)

    # Without the TSA root, the time-stamps prove nothing and it is not PASSED.
    untrusted = asyncio.run(ades_lta_validation(signature, _spec(instance_ca)))
    assert isinstance(untrusted.ades_subindic, AdESIndeterminate), _describe(untrusted)

    # The instance's own verifier accepts the DSS and document time-stamp after NO_CHANGES.
    report = verify_dossier_pdf(io.BytesIO(data))
    assert report.ok, report.problem
    assert any("B-LTA" in note for note in report.notes), report.notes


@needs_poppler
def test_pdfsig_says_valid_with_the_document_time_stamp(lta_dossier, tmp_path) -> None:
    """pdfsig checks the certification signature and lists the document time-stamp after
    it, covering the whole file. (Poppler 22.12, Debian 12's, does not check RFC 3161
    document time-stamps itself: it prints "Unable to validate this type of signature";
    pyHanko checks it above.)"""
    data, tsa = lta_dossier
    out = run_tool("pdfsig", write(tmp_path, data))
    blocks = re.split(r"(?m)^Signature #\d+:", out)[1:]
    assert len(blocks) == 2, out
    signature, time_stamp = blocks
    assert "Signature Validation: Signature is Valid" in signature
    assert "ETSI.CAdES.detached" in signature
    # The DSS and the document time-stamp come after the signed revision.
    assert "Not total document signed" in signature
    assert f"Field Name: {TIMESTAMP_FIELD_NAME}" in time_stamp
    assert f"Common Name: {tsa.name}" in time_stamp
    assert "Total document signed" in time_stamp
    assert "Signature is Invalid" not in out


def test_one_changed_byte_after_signing_is_invalid(lta_dossier, tmp_path) -> None:
    data, tsa = lta_dossier
    # A byte inside the first page's content stream, covered by every signature.
    start = data.index(b"stream\n") + 200
    flipped = bytearray(data)
    flipped[start] ^= 0x01
    changed = bytes(flipped)
    assert not verify_dossier_pdf(io.BytesIO(changed)).ok
    reader = PdfFileReader(io.BytesIO(changed), strict=False)
    signer = signing.load_signer()
    spec = _spec(asn1_certificate(signer.ca_certificate), _der(tsa.root_pem))
    result = asyncio.run(ades_lta_validation(reader.embedded_regular_signatures[0], spec))
    assert result.ades_subindic != AdESPassed.OK
    if has("pdfsig"):
        assert "Signature is Valid" not in run_tool("pdfsig", write(tmp_path, changed))


def test_the_embedded_anchors_json_checks_for_its_last_checkpoint(lta_dossier) -> None:
    data, tsa = lta_dossier
    files = _embedded_files(PdfFileReader(io.BytesIO(data)))
    assert tuple(files) == EMBEDDED_NAMES, "the embedded-files name tree is sorted"
    document = chain.parse_json(files[ANCHORS_NAME], ANCHORS_NAME)
    assert files[ANCHORS_NAME] == chain.canonical_bytes(document)
    checkpoint = chain.parse_json(files["checkpoint.json"], "checkpoint.json")
    receipts = anchors.parse_anchors_document(document, case_id=checkpoint["checkpoint"]["case"])
    last = receipts[-1]
    assert last["checkpoint"] == checkpoint["checkpoint"]
    root = anchors.certificate_fingerprint(_der(tsa.root_pem))
    check = anchors.check_anchored_receipt(last, trusted_roots={root})
    assert check.ok, check.problems
    assert check.length == checkpoint["checkpoint"]["length"]
    # The verifier hands it back for the attested times.
    assert verify_dossier_pdf(io.BytesIO(data)).anchors == document


@needs_poppler
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_without_a_tsa_it_is_b_b_with_the_note(settings, tmp_path, language) -> None:
    settings.LOCKER_TSA_URLS = []
    _dossier, data = make_dossier(small_case(), "cn_regulator", language)
    reader = PdfFileReader(io.BytesIO(data))
    [signature] = reader.embedded_signatures
    assert signature.attached_timestamp_data is None
    assert "/DSS" not in reader.root
    report = verify_dossier_pdf(io.BytesIO(data))
    assert report.ok, report.problem
    assert report.anchors == {"v": 1, "case": report.case, "checkpoints": []}
    with translation.override(language):
        note = no_third_party_time_note()
    text = re.sub(r"\s+", "", pdf_text(write(tmp_path, data)))
    assert re.sub(r"\s+", "", note) in text


@needs_poppler
def test_the_note_is_not_on_a_time_stamped_dossier(lta_dossier, tmp_path) -> None:
    data, _tsa = lta_dossier
    with translation.override("en"):
        note = no_third_party_time_note()
    text = re.sub(r"\s+", "", pdf_text(write(tmp_path, data)))
    assert "PAdESB-LTA" in text
    assert re.sub(r"\s+", "", note) not in text


def test_tsas_configured_but_all_down_the_dossier_waits(settings) -> None:
    settings.LOCKER_TSA_URLS = [closed_url()]
    case = small_case()
    dossier = dossier_services.request_dossier(
        case=case,
        user=case.owner,
        template="court",
        language="en",
        verify_url="https://locker.example/verify",
    )
    claim = dossier_services.claim_dossier(dossier_id=dossier.pk)
    assert claim is not None
    # A retryable error (the render task retries it with backoff), not a B-B dossier.
    with pytest.raises(TSAUnavailable):
        build.build_dossier(claim)


def test_no_answering_tsa_is_a_retryable_error_at_signing() -> None:
    with pytest.raises(TSAUnavailable, match="no time-stamp authority answered"):
        first_answering([authority(closed_url()), authority(closed_url())])


def test_instance_crl_is_signed_by_the_ca_and_covers_a_week() -> None:
    crl = signing.issue_crl()
    signer = signing.load_signer()
    assert crl.issuer == signer.ca_certificate.subject
    assert crl.is_signature_valid(signer.ca_certificate.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc - crl.last_update_utc == signing.CRL_VALIDITY
    assert len(list(crl)) == 0
    assert crl.public_bytes(serialization.Encoding.DER)


def test_a_revision_appended_after_the_document_time_stamp_is_rejected(lta_dossier) -> None:
    data, _tsa = lta_dossier
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    info = writer.trailer["/Info"]
    info["/Title"] = generic.TextStringObject("edited after signing")
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    with translation.override("en"):
        report = verify_dossier_pdf(io.BytesIO(out.getvalue()))
    assert not report.ok
    assert "after it was signed" in (report.problem or "")


def test_a_malformed_embedded_anchors_json_is_rejected(settings) -> None:
    settings.LOCKER_TSA_URLS = []
    case = small_case()
    dossier, _data = make_dossier(case, "court", "en")
    gathered = build.gather(dossier)
    unsigned = io.BytesIO()
    render_pdf(gathered, unsigned, images={}, audio_durations={})
    unsigned.seek(0)
    signed = io.BytesIO()
    sign_dossier(
        unsigned,
        signed,
        entries=build.entries_jsonl(gathered.lines),
        checkpoint=gathered.checkpoint,
        anchors={**gathered.anchors, "case": "another"},
        reason="test",
    )
    with translation.override("en"):
        report = verify_dossier_pdf(io.BytesIO(signed.getvalue()))
    assert not report.ok
    assert "anchors.json" in (report.problem or "")


@needs_poppler
def test_verification_page_shows_attested_times_and_verify_reports_them(
    lta_dossier, tmp_path
) -> None:
    """The dossier's verification page has its third-party time table (every record
    vouched for, none late), and checking the dossier reports the same ranges."""
    data, _tsa = lta_dossier
    text = pdf_text(write(tmp_path, data))
    assert "Third-party time" in text
    assert "Existed no later than" in text
    assert "Loopback LTA TSA" in text
    assert "not yet time-stamped" not in text and "look closer" not in text
    report = verify_dossier_pdf(io.BytesIO(data))
    assert report.ok, report.problem
    assert report.attestation is not None
    assert report.attestation.attested_length == report.length
    assert report.attestation.first_late_seq is None
