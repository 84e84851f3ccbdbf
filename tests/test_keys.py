"""Keys anyone can check (issue 11, section 2): the public /keys page and GET /api/keys, key
rotation that keeps former certificates (and deletes former private keys), signer_status,
every process picking up a rotation, and every check of a signature saying whether its
signer is the current key, a former one or unknown; the dossier and the receipt pages print
the fingerprints /keys lists."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from locker import services
from locker.core import chain
from locker.dossier import build
from locker.dossier.verify import verify_dossier_pdf
from locker.exports import bundle
from locker.exports.verification import verify_bundle_zip
from locker.infra import signing
from locker.models import Checkpoint, Dossier
from locker.selectors.chain import checkpoint_signers
from locker.selectors.receipts import kept_receipts_of
from locker.services import dossiers as dossier_services

from .conftest import needs
from .dossier_helpers import has, make_dossier, pdf_text
from .factories import UserFactory, add_entry, make_case
from .personas import api_as
from .tamper import raw_sql

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}
CERTIFICATE_FIELDS = {"fingerprint_sha256", "subject", "not_before", "not_after", "certificate"}
UTC_FORM = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def keys(settings, tmp_path: Path) -> Iterator[Path]:
    """Keys of this test's own, so that rotating them leaves the session's alone."""
    settings.LOCKER_KEY_DIR = tmp_path / "keys"
    signing.load_signer.cache_clear()
    signing.ensure_keys()
    yield settings.LOCKER_KEY_DIR
    signing.load_signer.cache_clear()


def current_fingerprint() -> str:
    return signing.fingerprint(signing.load_signer().certificate)


def certificate_of(document: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(document["certificate"].encode())


def foreign_certificate(issuer_key: ec.EllipticCurvePrivateKey | None = None) -> x509.Certificate:
    """A certificate for a key this instance never listed: self-signed, or signed by
    `issuer_key` (with the instance CA's name, to look like one of ours)."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca = signing.load_signer().ca_certificate
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Evidence Locker signing")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject if issuer_key else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(issuer_key or key, hashes.SHA256())
    )


def private_keys_in(directory: Path) -> list[ec.EllipticCurvePublicKey]:
    """The public halves of every private key stored anywhere under `directory`."""
    found = []
    for path in directory.rglob("*"):
        if path.is_file() and b"PRIVATE KEY" in path.read_bytes():
            key = serialization.load_pem_private_key(path.read_bytes(), None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            found.append(key.public_key())
    return found


def a_case() -> Any:
    case = make_case()
    add_entry(case, "call", {"number": "95188", "summary": "威胁要上门", "tags": ["threat"]})
    add_entry(case, "note", {"text": "又打来了"})
    return case


def export(case: Any) -> bytes:
    out = io.BytesIO()
    bundle.write_bundle(case, out)
    return out.getvalue()


def receipt_of(case: Any, seq: int) -> dict[str, Any]:
    return Checkpoint.objects.filter(case=case, length=seq).order_by("signed_at")[0].document


def post_verify(data: bytes, name: str = "case.zip", **extra: Any) -> Any:
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return Client().post("/api/verify", {"file": upload}, **extra)


def run_manage(*args: str, key_dir: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOCKER_DATA_DIR": str(data_dir),
        "LOCKER_KEY_DIR": str(key_dir),
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# The page and the API -----------------------------------------------------------------


def test_api_keys_has_exactly_the_contract(keys: Path) -> None:
    response = Client().get("/api/keys")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"current", "previous", "ca"}
    assert set(body["current"]) == CERTIFICATE_FIELDS
    assert set(body["ca"]) == CERTIFICATE_FIELDS
    assert body["previous"] == []
    signer = signing.load_signer()
    for member, certificate in (("current", signer.certificate), ("ca", signer.ca_certificate)):
        facts = body[member]
        assert facts["fingerprint_sha256"] == signing.fingerprint(certificate)
        assert re.fullmatch(r"[0-9a-f]{64}", facts["fingerprint_sha256"])
        assert x509.load_pem_x509_certificate(facts["certificate"].encode()) == certificate
        assert facts["subject"] == certificate.subject.rfc4514_string()
        assert UTC_FORM.match(facts["not_before"]) and UTC_FORM.match(facts["not_after"])
        assert chain.parse_timestamp(facts["not_after"]) == certificate.not_valid_after_utc

    signing.rotate_signing_key()
    after = Client().get("/api/keys").json()
    (former,) = after["previous"]
    assert set(former) == CERTIFICATE_FIELDS | {"retired_at"}
    assert UTC_FORM.match(former["retired_at"])
    assert {k: v for k, v in former.items() if k != "retired_at"} == body["current"]
    assert after["ca"] == body["ca"]
    assert after["current"]["fingerprint_sha256"] != body["current"]["fingerprint_sha256"]


def test_keys_page_needs_no_account_and_speaks_both_languages(keys: Path) -> None:
    signing.rotate_signing_key()
    signer = signing.load_signer()
    current = signing.fingerprint(signer.certificate)
    former = signing.fingerprint(signer.previous[0].certificate)
    ca = signing.fingerprint(signer.ca_certificate)
    english = Client().get(reverse("keys"), **EN)
    assert english.status_code == 200
    page = english.content.decode()
    assert "A fingerprint is a short summary of a certificate" in page
    for fingerprint in (current, former, ca):
        # In blocks of four to read aloud, and whole to copy.
        assert chain.fingerprint_groups(fingerprint) in page
        assert f'value="{fingerprint}"' in page
    assert (
        page.index("Current signing key")
        < page.index(current)
        < page.index("Former signing keys")
        < page.index(former)
        < page.index("Certificate authority of this site")
        < page.index(ca)
    )
    assert 'name="viewport"' in page  # the base template's phone layout
    chinese = Client().get(reverse("keys"), **ZH).content.decode()
    assert "本网站的密钥" in chinese and "指纹" in chinese
    assert chain.fingerprint_groups(current) in chinese


def test_fingerprint_groups_are_blocks_of_four_that_join_to_the_whole() -> None:
    digest = "0123456789abcdef" * 4
    grouped = chain.fingerprint_groups(digest)
    assert grouped.split(" ")[:2] == ["0123", "4567"] and len(grouped.split(" ")) == 16
    assert grouped.replace(" ", "") == digest


# Rotation -----------------------------------------------------------------------------


def test_rotation_keeps_the_old_certificate_and_signs_with_the_new_key(keys: Path) -> None:
    old = signing.load_signer().certificate
    before = signing.sign_checkpoint(
        case_id="00000000-0000-4000-8000-000000000000",
        length=1,
        head="a" * 64,
        signed_at=datetime.now(UTC),
    )
    started = datetime.now(UTC)
    rotation = signing.rotate_signing_key()
    assert rotation.retired == old and rotation.current != old
    signer = signing.load_signer()
    assert signer.certificate == rotation.current
    assert [r.certificate for r in signer.previous] == [old]
    assert started <= signer.previous[0].retired_at == rotation.retired_at <= datetime.now(UTC)
    # The same CA issued the new certificate.
    signer.certificate.verify_directly_issued_by(signer.ca_certificate)
    assert signer.certificate.not_valid_after_utc <= signer.ca_certificate.not_valid_after_utc
    after = signing.sign_checkpoint(
        case_id="00000000-0000-4000-8000-000000000000",
        length=2,
        head="b" * 64,
        signed_at=datetime.now(UTC),
    )
    assert certificate_of(after) == rotation.current
    assert chain.verify_checkpoint(after) == rotation.current
    assert chain.verify_checkpoint(before) == old  # still verifies
    # The former private key is gone: no file under the key directory holds it.
    publics = private_keys_in(keys)
    assert old.public_key() not in publics
    assert sorted(
        p.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        for p in publics
    ) == sorted(  # noqa: E501
        k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        for k in (rotation.current.public_key(), signer.ca_certificate.public_key())
    )
    assert oct(os.stat(keys / signing.SIGNING_KEY).st_mode & 0o777) == "0o600"

    signing.rotate_signing_key()
    assert [r.certificate for r in signing.load_signer().previous] == [rotation.current, old]


def test_rotate_signing_key_command_and_locker_keys_list_the_former_keys(keys: Path) -> None:
    old = current_fingerprint()
    out = io.StringIO()
    call_command("rotate_signing_key", stdout=out)
    new = current_fingerprint()
    assert f"retired  SHA-256 {old}" in out.getvalue()
    assert f"current  SHA-256 {new}" in out.getvalue()
    listing = io.StringIO()
    call_command("locker_keys", stdout=listing)
    assert f"Signing certificate SHA-256 {new}" in listing.getvalue()
    assert f"Former signing key  SHA-256 {old}" in listing.getvalue()
    assert "PRIVATE KEY" not in out.getvalue() + listing.getvalue()


def test_signer_status_current_former_and_unknown(keys: Path) -> None:
    first = signing.load_signer().certificate
    assert signing.signer_status(first) == "current"
    signing.rotate_signing_key()
    second = signing.load_signer().certificate
    assert signing.signer_status(first) == "former"
    assert signing.signer_status(second) == "current"
    assert signing.check_signer(first).retired_at == signing.load_signer().previous[0].retired_at
    assert signing.signer_status(foreign_certificate()) == "unknown"
    # Issued by this instance's CA, but never listed as one of its keys: the CA's key lives
    # on the same server, so a certificate it signed proves nothing more than /keys does.
    ca_key = serialization.load_pem_private_key((keys / signing.CA_KEY).read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    unlisted = foreign_certificate(ca_key)
    unlisted.verify_directly_issued_by(signing.load_signer().ca_certificate)
    assert signing.signer_status(unlisted) == "unknown"
    assert signing.is_trusted(first) and not signing.is_trusted(unlisted)


def test_new_keys_with_a_new_ca_know_nothing_of_the_old_ones(
    keys: Path, settings, tmp_path: Path
) -> None:
    signing.rotate_signing_key()
    old = signing.load_signer()
    settings.LOCKER_KEY_DIR = tmp_path / "other"
    signing.ensure_keys()
    assert signing.load_signer().previous == ()
    assert signing.signer_status(old.certificate) == "unknown"
    assert signing.signer_status(old.previous[0].certificate) == "unknown"


@pytest.mark.parametrize("stop_at", [1, 2], ids=["before the key is swapped", "between"])
def test_a_rotation_cut_short_is_undone_or_finished_by_the_next_reader(
    keys: Path, monkeypatch: pytest.MonkeyPatch, stop_at: int
) -> None:
    old = signing.load_signer().certificate
    real_replace = os.replace
    calls = {"n": 0}

    def crashing_replace(source: Any, target: Any) -> None:
        if str(source).endswith((signing.PENDING_KEY, signing.PENDING_CERT)):
            calls["n"] += 1
            if calls["n"] == stop_at:
                raise OSError("the machine lost power")
        real_replace(source, target)

    monkeypatch.setattr(signing.os, "replace", crashing_replace)
    with pytest.raises(OSError, match="lost power"):
        signing.rotate_signing_key()
    monkeypatch.setattr(signing.os, "replace", real_replace)
    signing.load_signer.cache_clear()  # the next process to start (or this one, restarted)
    signer = signing.load_signer()
    assert signer.key.public_key() == signer.certificate.public_key()
    assert not (keys / signing.PENDING_KEY).exists() and not (keys / signing.PENDING_CERT).exists()
    if stop_at == 1:  # undone: the old key is still the current one, and not listed as former
        assert signer.certificate == old and signer.previous == ()
    else:  # the new key was in place: the rotation is finished
        assert signer.certificate != old
        assert [r.certificate for r in signer.previous] == [old]
    assert Client().get("/api/keys").json()["current"]["fingerprint_sha256"] == signing.fingerprint(
        signer.certificate
    )


# Other processes ----------------------------------------------------------------------

SIGNING_PROCESS = """
import sys, django
django.setup()
from datetime import UTC, datetime
from locker.infra import signing
def signed_by():
    document = signing.sign_checkpoint(
        case_id="00000000-0000-4000-8000-000000000000", length=1, head="a" * 64,
        signed_at=datetime.now(UTC))
    from cryptography import x509
    return signing.fingerprint(x509.load_pem_x509_certificate(document["certificate"].encode()))
print(signed_by(), flush=True)
sys.stdin.readline()
print(signed_by(), flush=True)
"""


def test_a_running_process_signs_with_the_new_key_after_a_rotation_elsewhere(
    keys: Path, tmp_path: Path
) -> None:
    """A gunicorn or Celery worker that read the keys before the rotation: its next
    signature uses the new key, with no restart."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOCKER_DATA_DIR": str(tmp_path / "data"),
        "LOCKER_KEY_DIR": str(keys),
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-c", SIGNING_PROCESS],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdin is not None
        first = worker.stdout.readline().strip()
        assert first == current_fingerprint(), worker.stderr.read() if worker.stderr else ""
        rotation = signing.rotate_signing_key()
        worker.stdin.write("\n")
        worker.stdin.flush()
        second = worker.stdout.readline().strip()
        assert second == signing.fingerprint(rotation.current) != first
    finally:
        worker.kill()
        worker.wait(timeout=30)


def test_this_process_picks_up_a_rotation_made_by_the_command_in_another(
    keys: Path, tmp_path: Path
) -> None:
    before = current_fingerprint()  # read and cached here
    done = run_manage("rotate_signing_key", key_dir=keys, data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    after = certificate_of(
        signing.sign_checkpoint(
            case_id="00000000-0000-4000-8000-000000000000",
            length=1,
            head="a" * 64,
            signed_at=datetime.now(UTC),
        )
    )
    assert signing.fingerprint(after) != before
    assert f"current  SHA-256 {signing.fingerprint(after)}" in done.stdout
    assert signing.signer_status(after) == "current"
    assert [signing.fingerprint(r.certificate) for r in signing.load_signer().previous] == [before]


def test_two_rotations_at_once_are_done_one_after_the_other(keys: Path, tmp_path: Path) -> None:
    first = current_fingerprint()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOCKER_DATA_DIR": str(tmp_path / "data"),
        "LOCKER_KEY_DIR": str(keys),
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    runs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "rotate_signing_key"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    signer = signing.load_signer()
    previous = [signing.fingerprint(r.certificate) for r in signer.previous]
    assert len(previous) == 2 and previous[-1] == first
    assert len({*previous, signing.fingerprint(signer.certificate)}) == 3
    assert signer.key.public_key() == signer.certificate.public_key()
    retired = {
        line.split()[2] for out, _ in outputs for line in out.splitlines() if "retired" in line
    }
    assert retired == set(previous)


# Every check of a signature ------------------------------------------------------------


def test_what_the_former_key_signed_still_verifies_everywhere(keys: Path) -> None:
    case = a_case()
    old_bundle = export(case)
    old_receipt = receipt_of(case, 2)
    owner = case.owner
    services.add_kept_receipt(case=case, user=owner, data=json.dumps(receipt_of(case, 1)).encode())
    old = current_fingerprint()

    signing.rotate_signing_key()
    add_entry(case, "note", {"text": "换了密钥之后"})
    new = current_fingerprint()
    new_bundle = export(case)

    # The bundle check (verify_bundle, /verify, POST /api/verify).
    report = verify_bundle_zip(io.BytesIO(old_bundle))
    assert report.ok and report.checkpoint_trusted and report.signer is not None
    assert (report.signer.fingerprint_sha256, report.signer.status) == (old, "former")
    assert verify_bundle_zip(io.BytesIO(new_bundle)).signer == signing.SignerCheck(new, "current")
    old_zip = keys.parent / "old.zip"
    old_zip.write_bytes(old_bundle)
    said = io.StringIO()
    call_command("verify_bundle", str(old_zip), stdout=said)
    assert "signer key  former" in said.getvalue() and "VERIFIED" in said.getvalue()
    answer = post_verify(old_bundle).json()
    assert answer["ok"] is True and answer["checkpoint_trusted"] is True
    assert answer["signer"] == {"fingerprint_sha256": old, "status": "former"}
    assert answer["signer_fingerprint"] == old  # the field other tools read is unchanged
    assert post_verify(new_bundle).json()["signer"] == {
        "fingerprint_sha256": new,
        "status": "current",
    }
    page = (
        Client()
        .post(
            reverse("verify"),
            {"file": SimpleUploadedFile("case.zip", old_bundle)},
            **EN,
        )
        .content.decode()
    )
    assert "Verified: nothing was changed." in page
    assert "Signer: a former key of this site, retired" in page
    assert chain.fingerprint_groups(old) in page and f'href="{reverse("keys")}"' in page

    # Kept receipts: the one kept before, and one kept after the rotation.
    kept = services.add_kept_receipt(case=case, user=owner, data=json.dumps(old_receipt).encode())
    assert kept.created
    rows = kept_receipts_of(case)
    assert [(row.signer.status, row.signer_trusted) for row in rows] == [("former", True)] * 2
    listed = api_as(owner).get(f"/api/cases/{case.pk}/receipts").json()
    assert [item["signer"] for item in listed] == [
        {"fingerprint_sha256": old, "status": "former"}
    ] * 2
    assert all(item["signer_trusted"] for item in listed)

    # The stored chain (verify_chain).
    signers = checkpoint_signers(case)
    assert signers.bad_signature_length is None
    assert signers.counts["former"] >= 3 and signers.counts["current"] >= 1
    assert signers.counts["unknown"] == 0
    out = io.StringIO()
    call_command("verify_chain", "--case", str(case.pk), stdout=out)
    assert f"ok   {case.pk}" in out.getvalue()
    assert f"by a former key {signers.counts['former']}" in out.getvalue()


def test_an_unknown_signer_is_reported_as_unknown(keys: Path, settings, tmp_path: Path) -> None:
    case = a_case()
    data = export(case)
    settings.LOCKER_KEY_DIR = tmp_path / "other"  # the instance lost its keys and made new ones
    report = verify_bundle_zip(io.BytesIO(data))
    assert report.signer is not None and report.signer.status == "unknown"
    assert not report.checkpoint_trusted
    answer = post_verify(data).json()
    assert answer["signer"]["status"] == "unknown" and answer["checkpoint_trusted"] is False
    page = (
        Client()
        .post(reverse("verify"), {"file": SimpleUploadedFile("case.zip", data)}, **EN)
        .content.decode()
    )
    assert "Signer: a key this site does not know." in page
    assert checkpoint_signers(case).counts["unknown"] > 0


def test_verify_chain_fails_on_a_stored_checkpoint_whose_signature_was_changed(
    keys: Path,
) -> None:
    case = a_case()
    checkpoint = Checkpoint.objects.filter(case=case, length=2).order_by("signed_at")[0]
    document = dict(checkpoint.document)
    document["checkpoint"] = {**document["checkpoint"], "signed_at": "2020-01-01T00:00:00.000000Z"}
    raw_sql(
        "UPDATE locker_checkpoint SET document = %s WHERE id = %s",
        [json.dumps(document), checkpoint.pk],
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_chain", "--case", str(case.pk), stdout=out)
    assert f"FAIL {case.pk} seq 2: the signature of the checkpoint" in out.getvalue()


# The dossier and the receipt pages print the fingerprints /keys lists ---------------------


def test_a_dossier_made_before_a_rotation_still_verifies_as_the_former_keys(keys: Path) -> None:
    case = a_case()
    _, pdf = make_dossier(case, language="en")
    old = current_fingerprint()
    signing.rotate_signing_key()
    report = verify_dossier_pdf(io.BytesIO(pdf))
    assert report.ok, report.problem
    assert report.signer == signing.SignerCheck(
        old, "former", signing.load_signer().previous[0].retired_at
    )
    assert any(f"{old} (former key of this instance)" in note for note in report.notes)
    answer = post_verify(pdf, "dossier.pdf").json()
    assert answer["ok"] and answer["signer"] == {"fingerprint_sha256": old, "status": "former"}


def test_the_dossier_data_names_the_keys_api_keys_lists(keys: Path) -> None:
    case = a_case()
    dossier = dossier_services.request_dossier(
        case=case,
        user=case.owner,
        template="court",
        language="en",
        verify_url="https://locker.example/prefix/verify",
    )
    data = build.gather(Dossier.objects.get(pk=dossier.pk))
    listed = Client().get("/api/keys").json()
    assert data.signer_fingerprint == listed["current"]["fingerprint_sha256"]
    assert data.ca_fingerprint == listed["ca"]["fingerprint_sha256"]
    assert data.signer_fingerprint == signing.fingerprint(certificate_of(data.checkpoint))
    # Beside the verify page, under the same public address (and path prefix).
    assert data.keys_url == "https://locker.example/prefix/keys"


@needs(has("pdftotext"), "poppler-utils (pdftotext) is not installed")
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_dossier_prints_the_fingerprints_api_keys_lists(
    keys: Path, tmp_path: Path, language: str
) -> None:
    case = a_case()
    _, pdf = make_dossier(case, template="court", language=language)
    path = tmp_path / "dossier.pdf"
    path.write_bytes(pdf)
    text = pdf_text(str(path))
    listed = Client().get("/api/keys").json()
    signer, ca = listed["current"]["fingerprint_sha256"], listed["ca"]["fingerprint_sha256"]
    assert f"EL-SIGNER-SHA256 {signer}" in text
    assert f"EL-CA-SHA256 {ca}" in text
    flat = re.sub(r"\s+", " ", text)
    assert chain.fingerprint_groups(signer) in flat and chain.fingerprint_groups(ca) in flat
    assert "https://locker.example/keys" in flat  # make_dossier's verify page is beside it


def test_the_receipt_page_shows_the_signer_and_links_to_keys(keys: Path, settings) -> None:
    settings.LOCKER_PUBLIC_URL = "https://locker.example"
    case = a_case()
    browser = Client()
    browser.force_login(case.owner)
    page = browser.get(reverse("receipt", args=[case.pk, 2]), **EN).content.decode()
    fingerprint = current_fingerprint()
    assert "Signed with this server's current key." in page
    assert chain.fingerprint_groups(fingerprint) in page
    assert 'href="https://locker.example/keys"' in page
    signing.rotate_signing_key()
    page = browser.get(reverse("receipt", args=[case.pk, 2]), **EN).content.decode()
    assert "Signed with a former key of this server." in page
    assert chain.fingerprint_groups(fingerprint) in page


def test_the_receipt_download_is_the_document_with_the_keys_page_beside_it(
    keys: Path, settings
) -> None:
    settings.LOCKER_PUBLIC_URL = "https://locker.example"
    case = a_case()
    browser = Client()
    browser.force_login(case.owner)
    response = browser.get(reverse("receipt_json", args=[case.pk, 2]))
    assert json.loads(response.content) == receipt_of(case, 2)  # the members are untouched
    assert response["Link"] == '<https://locker.example/keys>; rel="related"; title="keys"'
    assert response["X-Signer-Fingerprint-SHA256"] == current_fingerprint()


def test_kept_receipts_page_shows_each_signer_with_a_link_to_keys(keys: Path) -> None:
    case = a_case()
    owner = case.owner
    services.add_kept_receipt(case=case, user=owner, data=json.dumps(receipt_of(case, 1)).encode())
    signing.rotate_signing_key()
    services.add_kept_receipt(case=case, user=owner, data=json.dumps(receipt_of(case, 2)).encode())
    browser = Client()
    browser.force_login(owner)
    page = browser.get(reverse("kept_receipts", args=[case.pk]), **EN).content.decode()
    assert page.count("signed by a former key of this server") == 2
    assert page.count(f'href="{reverse("keys")}"') == 2


def test_someone_signed_in_and_someone_not_see_the_same_keys_page(keys: Path) -> None:
    stranger = Client()
    stranger.force_login(UserFactory())
    signed_in = stranger.get(reverse("keys"), **EN)
    anonymous = Client().get(reverse("keys"), **EN)
    assert signed_in.status_code == anonymous.status_code == 200
    assert current_fingerprint() in signed_in.content.decode()
    # Never served stale after a rotation (signed in, the pages are never stored at all).
    assert "no-cache" in anonymous["Cache-Control"] and "no-cache" in signed_in["Cache-Control"]
