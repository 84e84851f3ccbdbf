"""The signing key in a PKCS#11 token (locker/infra/hsm.py), with a real SoftHSM2 token of
each test's own (its own SOFTHSM2_CONF and token directory under tmp_path): keys made in the
token or moved into it, never extractable; checkpoints and dossiers signed by the token and
checked with the certificate alone, by tools/verify_evidence.py, pdfsig and pyHanko;
rotations, a rotation cut short, another process rotating, a fork, a wrong PIN."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from django.core.management import call_command
from django.test import Client
from pkcs11 import Attribute, ObjectClass
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from locker.core import chain
from locker.dossier.sign import asn1_certificate
from locker.dossier.verify import verify_dossier_pdf
from locker.infra import hsm, signing
from locker.models import Checkpoint

from .conftest import needs
from .dossier_helpers import has, make_dossier, run_tool, small_case
from .factories import add_entry, make_case
from .test_dossier_access_log import bearer
from .test_verification import case_with_evidence, export_to
from .tsa import LoopbackTSA

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
VERIFIER = ROOT / "tools" / "verify_evidence.py"
# Debian's softhsm2 (libsofthsm2): the module's path on amd64 and the multiarch one.
MODULES = [
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
]
MODULE = next((m for m in MODULES if m.exists()), None)
PIN = "246810"
LABEL = "locker-test"

needs_softhsm = needs(
    MODULE is not None and has("softhsm2-util"),
    "softhsm2 (SoftHSM2's PKCS#11 module and softhsm2-util, Debian package softhsm2) is "
    "not installed",
)
needs_pdfsig = needs(has("pdfsig"), "poppler-utils (pdfsig) is not installed")


@dataclass(frozen=True)
class Token:
    conf: Path
    keys: Path
    module: str

    def env(self, **more: str) -> dict[str, str]:
        """The environment for another process using this token and key directory."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKER_SIGNING_")}
        env.update(
            SOFTHSM2_CONF=str(self.conf),
            LOCKER_KEY_DIR=str(self.keys),
            LOCKER_SIGNING_PKCS11_MODULE=self.module,
            LOCKER_SIGNING_PKCS11_TOKEN=LABEL,
            LOCKER_SIGNING_PKCS11_PIN=PIN,
            **more,
        )
        return env

    @contextlib.contextmanager
    def objects(self, object_class: ObjectClass) -> Iterator[list[Any]]:
        """Our key label's objects of `object_class`, as the token lists them (usable while
        the session is open)."""
        config = hsm.configured()
        assert config is not None
        with hsm.session(config) as opened:
            yield list(
                opened.get_objects(
                    {Attribute.CLASS: object_class, Attribute.LABEL: "evidence-locker-signing"}
                )
            )

    def count(self, object_class: ObjectClass) -> int:
        with self.objects(object_class) as found:
            return len(found)

    def public_point(self) -> bytes:
        """The point of the one public key under our label."""
        with self.objects(ObjectClass.PUBLIC_KEY) as found:
            [public] = found
            return _point(hsm.public_key_of(public))


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@pytest.fixture
def token_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Token:
    """A fresh SoftHSM2 token for this test alone, and an empty key directory."""
    assert MODULE is not None
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            LABEL,
            "--pin",
            PIN,
            "--so-pin",
            "135790",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Token(conf=conf, keys=tmp_path / "keys", module=str(MODULE))


def _use_keys(settings: Any, token: Token, *, pkcs11_on: bool) -> None:
    hsm.forget(token.module)  # SoftHSM2 reads SOFTHSM2_CONF when it is initialised
    settings.LOCKER_KEY_DIR = token.keys
    settings.LOCKER_SIGNING_PKCS11_MODULE = token.module if pkcs11_on else ""
    settings.LOCKER_SIGNING_PKCS11_TOKEN = LABEL
    settings.LOCKER_SIGNING_PKCS11_KEY = "evidence-locker-signing"
    settings.LOCKER_SIGNING_PKCS11_PIN = PIN
    settings.LOCKER_SIGNING_PKCS11_PIN_FILE = ""
    signing.load_signer.cache_clear()


@pytest.fixture
def token(token_dir: Token, settings: Any) -> Iterator[Token]:
    """The instance's keys made with the token configured: the signing key is made in it."""
    _use_keys(settings, token_dir, pkcs11_on=True)
    assert signing.ensure_keys()
    yield token_dir
    hsm.forget(token_dir.module)
    signing.load_signer.cache_clear()


@pytest.fixture
def file_instance(token_dir: Token, settings: Any) -> Iterator[Token]:
    """An instance made with the key file (no token settings), then the token configured."""
    _use_keys(settings, token_dir, pkcs11_on=False)
    assert signing.ensure_keys()
    assert (token_dir.keys / signing.SIGNING_KEY).exists()
    yield token_dir
    hsm.forget(token_dir.module)
    signing.load_signer.cache_clear()


def _verify_checkpoint(document: dict[str, Any]) -> x509.Certificate:
    """The checkpoint's signature checked as the spec says (section 4): ECDSA P-256 with
    SHA-256, a DER signature, over the canonical bytes, with the certificate it carries."""
    import base64

    certificate = x509.load_pem_x509_certificate(document["certificate"].encode())
    signature = base64.b64decode(document["signature"])
    r, s = decode_dss_signature(signature)  # DER, or this raises
    assert encode_dss_signature(r, s) == signature  # strict DER, nothing trailing
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(
        signature, chain.canonical_bytes(document["checkpoint"]), ec.ECDSA(hashes.SHA256())
    )
    return certificate


@needs_softhsm
def test_a_new_instance_makes_its_signing_key_in_the_token_never_extractable(token: Token) -> None:
    assert not (token.keys / signing.SIGNING_KEY).exists()
    assert stat.S_IMODE((token.keys / signing.CA_KEY).stat().st_mode) == 0o600
    assert stat.S_IMODE(token.keys.stat().st_mode) == 0o700
    signer = signing.load_signer()
    assert isinstance(signer.key, hsm.TokenKey)
    with token.objects(ObjectClass.PRIVATE_KEY) as found:
        [private] = found
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.ALWAYS_SENSITIVE] is True
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            private[Attribute.VALUE]
    assert token.public_point() == _point(signing._public_key(signer.certificate))
    signer.certificate.verify_directly_issued_by(signer.ca_certificate)

    said = io.StringIO()
    call_command("locker_keys", stdout=said)
    assert "private key       PKCS#11 token 'locker-test'" in said.getvalue()
    assert (
        "sensitive yes, extractable no, always_sensitive yes, never_extractable yes"
        in said.getvalue()
    )


@needs_softhsm
def test_checkpoints_signed_by_the_token_verify_here_and_in_the_standalone_verifier(
    token: Token, tmp_path: Path
) -> None:
    case = case_with_evidence()
    certificate = signing.load_signer().certificate
    documents = [c.document for c in Checkpoint.objects.filter(case=case).order_by("length")]
    assert [d["checkpoint"]["length"] for d in documents] == [1, 2, 3, 4]
    for document in documents:
        assert _verify_checkpoint(document) == certificate
    code, out = _run_verify_chain()
    assert code == 0, out

    bundle = export_to(tmp_path / "case.zip", case)
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            str(VERIFIER),
            str(bundle),
            "--json",
            "--fingerprint",
            signing.fingerprint(certificate),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["signer_fingerprint"] == signing.fingerprint(certificate)


def _run_verify_chain() -> tuple[int, str]:
    from django.core.management.base import CommandError

    out = io.StringIO()
    try:
        call_command("verify_chain", stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


@needs_softhsm
@needs_pdfsig
def test_a_dossier_signed_by_the_token_is_valid_for_pdfsig_and_pyhanko(
    token: Token, tmp_path: Path
) -> None:
    signer = signing.load_signer()
    _dossier, data = make_dossier(small_case(), "court", "en")
    path = tmp_path / "dossier.pdf"
    path.write_bytes(data)
    out = run_tool("pdfsig", str(path))
    assert "Signature is Valid" in out and "Total document signed" in out, out

    signature = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    assert signature.signer_cert.dump() == asn1_certificate(signer.certificate).dump()
    context = ValidationContext(
        trust_roots=[asn1_certificate(signer.ca_certificate)], allow_fetching=False
    )
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert verify_dossier_pdf(io.BytesIO(data)).ok


@needs_softhsm
@needs_pdfsig
def test_a_b_lta_dossier_signed_by_the_token_carries_its_time_stamps(
    token: Token, tmp_path: Path, settings: Any
) -> None:
    # The token's session stays open while pyHanko asks the TSA and signs in its executor.
    tsa = LoopbackTSA(tmp_path / "tsa", name="Loopback HSM TSA").start()
    try:
        settings.LOCKER_TSA_URLS = [tsa.url]
        _dossier, data = make_dossier(small_case(), "court", "zh-hans")
    finally:
        tsa.stop()
    reader = PdfFileReader(io.BytesIO(data))
    [signature] = reader.embedded_regular_signatures
    assert signature.attached_timestamp_data is not None
    [document_time_stamp] = reader.embedded_timestamp_signatures
    assert validate_pdf_timestamp(
        document_time_stamp,
        ValidationContext(
            trust_roots=[
                asn1_certificate(x509.load_pem_x509_certificate(tsa.root_pem.read_bytes()))
            ],
            allow_fetching=False,
        ),
    ).valid
    assert (
        signature.signer_cert.dump() == asn1_certificate(signing.load_signer().certificate).dump()
    )
    path = tmp_path / "dossier.pdf"
    path.write_bytes(data)
    out = run_tool("pdfsig", str(path))
    # Poppler checks the signature; the document time-stamp after it it lists but does not
    # check (Debian 12's 22.12: "Unable to validate this type of signature"), pyHanko does.
    signature_block = out.split("Signature #2:")[0]
    assert "Signature Validation: Signature is Valid" in signature_block, out
    assert "Signature is Invalid" not in out and "Signature #2:" in out
    assert verify_dossier_pdf(io.BytesIO(data)).ok


@needs_softhsm
def test_import_moves_the_file_key_into_the_token_keeping_its_certificate(
    file_instance: Token, settings: Any
) -> None:
    before = signing.load_signer().certificate
    case = case_with_evidence()  # signed by the file key
    settings.LOCKER_SIGNING_PKCS11_MODULE = file_instance.module
    signing.load_signer.cache_clear()
    with pytest.raises(RuntimeError, match="still the file"):
        signing.load_signer()  # configured for the token, the file key is not used quietly

    said = io.StringIO()
    call_command("locker_keys", "--pkcs11", "import", stdout=said)
    assert "signing.key is deleted" in said.getvalue()
    assert not (file_instance.keys / signing.SIGNING_KEY).exists()
    signer = signing.load_signer()
    assert isinstance(signer.key, hsm.TokenKey) and signer.certificate == before
    with file_instance.objects(ObjectClass.PRIVATE_KEY) as found:
        [private] = found
        assert private[Attribute.SENSITIVE] is True and private[Attribute.EXTRACTABLE] is False
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            private[Attribute.VALUE]

    add_entry(case, body={"text": "导入之后"})
    latest = Checkpoint.objects.filter(case=case).order_by("-length").first()
    assert latest is not None and _verify_checkpoint(latest.document) == before
    # Again: nothing to do, the same key.
    call_command("locker_keys", "--pkcs11", "import", stdout=io.StringIO())
    assert file_instance.count(ObjectClass.PRIVATE_KEY) == 1


@needs_softhsm
def test_generate_retires_the_file_key_and_another_process_rotates_in_the_token(
    file_instance: Token, settings: Any
) -> None:
    file_certificate = signing.load_signer().certificate
    case = case_with_evidence()
    settings.LOCKER_SIGNING_PKCS11_MODULE = file_instance.module
    signing.load_signer.cache_clear()

    call_command("locker_keys", "--pkcs11", "generate", stdout=io.StringIO())
    assert not (file_instance.keys / signing.SIGNING_KEY).exists()
    first = signing.load_signer().certificate
    assert first != file_certificate
    assert signing.check_signer(file_certificate).status == "former"
    add_entry(case, body={"text": "换成硬件密钥之后"})

    # `rotate_signing_key` in another process: a new key made in the token, the old one
    # destroyed there; this process signs with the new one from its next signature.
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "rotate_signing_key"],
        env=file_instance.env(),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    add_entry(case, body={"text": "轮换之后"})
    current = signing.load_signer().certificate
    assert current not in (first, file_certificate)
    lengths = {c.length: c.document for c in Checkpoint.objects.filter(case=case)}
    assert _verify_checkpoint(lengths[4]) == file_certificate
    assert _verify_checkpoint(lengths[5]) == first
    assert _verify_checkpoint(lengths[6]) == current
    assert file_instance.count(ObjectClass.PRIVATE_KEY) == 1  # the retired one destroyed
    assert file_instance.public_point() == _point(signing._public_key(current))
    assert [r.certificate for r in signing.load_signer().previous] == [first, file_certificate]
    assert _run_verify_chain()[0] == 0


@needs_softhsm
def test_a_rotation_cut_short_is_undone_and_its_token_key_destroyed(
    token: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = signing.load_signer().certificate
    real_replace = os.replace

    def crashing_replace(source: Any, target: Any) -> None:
        if str(target).endswith(signing.SIGNING_CERT):
            raise OSError("the machine stopped here")
        real_replace(source, target)

    monkeypatch.setattr(signing.os, "replace", crashing_replace)
    with pytest.raises(OSError, match="stopped here"):
        signing.rotate_signing_key()
    monkeypatch.setattr(signing.os, "replace", real_replace)
    assert token.count(ObjectClass.PRIVATE_KEY) == 2  # the new key was made

    signing.load_signer.cache_clear()  # the next process to start
    signer = signing.load_signer()
    assert signer.certificate == before and signer.previous == ()
    assert not (token.keys / signing.PENDING_CERT).exists()
    assert token.count(ObjectClass.PRIVATE_KEY) == 1
    assert token.public_point() == _point(signing._public_key(before))
    document = signing.sign_checkpoint(
        case_id="0" * 8 + "-0000-4000-8000-" + "0" * 12, length=1, head="a" * 64, signed_at=_now()
    )
    assert _verify_checkpoint(document) == before


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@needs_softhsm
def test_a_forked_process_logs_in_afresh_and_signs(token: Token) -> None:
    signer = signing.load_signer()
    assert isinstance(signer.key, hsm.TokenKey)
    signer.key.sign(b"parent")  # the parent is logged in before the fork
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's result is its exit status
        try:
            signature = signer.key.sign(b"child")
            signer.key.public.verify(signature, b"child", ec.ECDSA(hashes.SHA256()))
            os._exit(0)
        except BaseException:
            os._exit(1)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    signer.key.sign(b"parent again")


@needs_softhsm
def test_a_wrong_pin_is_refused_once_and_not_tried_again(token: Token, settings: Any) -> None:
    hsm.forget(token.module)
    settings.LOCKER_SIGNING_PKCS11_PIN = "000000"
    signing.load_signer.cache_clear()
    signer = signing.load_signer()  # reading the certificates needs no token
    with pytest.raises(hsm.TokenError, match="PIN was refused"):
        signer.key.sign(b"x")
    with pytest.raises(hsm.TokenError, match="not tried again"):
        signer.key.sign(b"x")
    # The right PIN, from a file, as an operator would give it.
    pin_file = token.conf.parent / "pin"
    pin_file.write_text(PIN + "\n")
    settings.LOCKER_SIGNING_PKCS11_PIN = ""
    settings.LOCKER_SIGNING_PKCS11_PIN_FILE = str(pin_file)
    signing.load_signer.cache_clear()
    signing.load_signer().key.sign(b"x")


@needs_softhsm
def test_a_record_that_the_token_cannot_sign_is_refused_whole(token: Token, settings: Any) -> None:
    case = make_case()
    before = case.entries.count()
    hsm.forget(token.module)
    settings.LOCKER_SIGNING_PKCS11_PIN = "000000"
    signing.load_signer.cache_clear()
    answer = Client().post(
        f"/api/cases/{case.id}/entries",
        {"kind": "note", "body": {"text": "令牌签不了名"}},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
        **bearer(case.owner),
    )
    assert answer.status_code == 503 and answer["Retry-After"]
    assert answer.json()["detail"] == "服务器暂时无法为记录签名，本次内容没有保存，请过一分钟再试"
    assert case.entries.count() == before
    assert not Checkpoint.objects.filter(case=case, length=before + 1).exists()


@needs_softhsm
def test_without_the_settings_a_token_key_is_not_silently_replaced(
    token: Token, settings: Any
) -> None:
    settings.LOCKER_SIGNING_PKCS11_MODULE = ""
    signing.load_signer.cache_clear()
    with pytest.raises(RuntimeError, match="kept in a PKCS#11 token"):
        signing.load_signer()
    with pytest.raises(RuntimeError, match="kept in a PKCS#11 token"):
        signing.rotate_signing_key()
    assert not (token.keys / signing.SIGNING_KEY).exists()


def test_raw_ecdsa_r_s_becomes_der() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    for _ in range(20):  # some r or s with a high bit set, some shorter than 32 bytes
        der = key.sign(b"data", ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert hsm.to_der(raw) == der
    with pytest.raises(hsm.TokenError):
        hsm.to_der(b"\x01" * 63)


def test_the_key_directory_is_made_private_even_if_it_existed_open(
    settings: Any, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o755)
    os.chmod(keys, 0o755)  # noqa: S103 - the open directory an operator may have made
    settings.LOCKER_KEY_DIR = keys
    signing.load_signer.cache_clear()
    try:
        signing.ensure_keys()
        assert stat.S_IMODE(keys.stat().st_mode) == 0o700
        for name in (signing.CA_KEY, signing.SIGNING_KEY):
            assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
    finally:
        signing.load_signer.cache_clear()
