"""The instance's keys: a self-issued CA and an ECDSA P-256 signing certificate that signs
checkpoints (spec section 4) and dossier PDFs. Created once under LOCKER_KEY_DIR."""

from __future__ import annotations

import base64
import fcntl
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from locker.core import chain

CA_KEY = "ca.key"
CA_CERT = "ca.pem"
SIGNING_KEY = "signing.key"
SIGNING_CERT = "signing.pem"
# How long an instance CRL says it holds (its nextUpdate). A dossier carries the CRL of the
# moment it was signed; after this a validator relies on the dossier's document time-stamp
# (PAdES B-LTA) to know the CRL was there in time.
CRL_VALIDITY = timedelta(days=7)


@dataclass(frozen=True)
class Signer:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    ca_certificate: x509.Certificate

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def ca_certificate_pem(self) -> str:
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM).decode()


def key_dir() -> Path:
    return Path(settings.LOCKER_KEY_DIR)


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Evidence Locker"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    is_ca: bool,
    years: int,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca,
                content_commitment=not is_ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def ensure_keys() -> bool:
    """Create the CA and signing key pair if they are missing. Returns True if it created them.
    Safe to call from several processes at once."""
    directory = key_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (directory / SIGNING_CERT).exists():
            return False
        instance = socket.gethostname()[:40] or "instance"
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name(f"Evidence Locker instance CA ({instance})")
        ca_cert = _issue(
            subject=ca_name,
            public_key=ca_key.public_key(),
            issuer=ca_name,
            issuer_key=ca_key,
            is_ca=True,
            years=20,
        )
        signing_key = ec.generate_private_key(ec.SECP256R1())
        signing_cert = _issue(
            subject=_name(f"Evidence Locker signing ({instance})"),
            public_key=signing_key.public_key(),
            issuer=ca_name,
            issuer_key=ca_key,
            is_ca=False,
            years=10,
        )
        _write_private(directory / CA_KEY, _key_pem(ca_key))
        _write_private(directory / SIGNING_KEY, _key_pem(signing_key))
        (directory / CA_CERT).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        # Written last: its presence means the set is complete.
        (directory / SIGNING_CERT).write_bytes(
            signing_cert.public_bytes(serialization.Encoding.PEM)
        )
        load_signer.cache_clear()
        return True


@lru_cache(maxsize=1)
def load_signer() -> Signer:
    directory = key_dir()
    if not (directory / SIGNING_CERT).exists():
        ensure_keys()
    key = serialization.load_pem_private_key((directory / SIGNING_KEY).read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise RuntimeError("the signing key is not an EC key")
    return Signer(
        key=key,
        certificate=x509.load_pem_x509_certificate((directory / SIGNING_CERT).read_bytes()),
        ca_certificate=x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes()),
    )


def _load_ca_key() -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((key_dir() / CA_KEY).read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise RuntimeError("the CA key is not an EC key")
    return key


def issue_crl(*, now: datetime | None = None) -> x509.CertificateRevocationList:
    """A CRL from the instance CA, valid from `now` for CRL_VALIDITY. It lists no certificate:
    nothing revokes a key here yet. The signing certificate names no CRL distribution point,
    so a validator finds this CRL only where we put it: in each dossier's DSS. The CRL
    number is the issue time in microseconds, so it increases across processes (RFC 5280
    5.2.3) without a counter to share."""
    moment = now or datetime.now(UTC)
    signer = load_signer()
    ca_key = _load_ca_key()
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(signer.ca_certificate.subject)
        .last_update(moment)
        .next_update(moment + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(int(moment.timestamp() * 1_000_000)), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )


def sign_checkpoint(*, case_id: str, length: int, head: str, signed_at: datetime) -> dict[str, Any]:
    signer = load_signer()
    body = chain.checkpoint_body(case_id, length, head, signed_at)
    signature = signer.key.sign(chain.canonical_bytes(body), ec.ECDSA(hashes.SHA256()))
    return {
        "checkpoint": body,
        "signature": base64.b64encode(signature).decode("ascii"),
        "certificate": signer.certificate_pem,
    }


def is_trusted(certificate: x509.Certificate) -> bool:
    """True if the certificate is this instance's signing certificate or issued by its CA."""
    signer = load_signer()
    if certificate == signer.certificate:
        return True
    if certificate.issuer != signer.ca_certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(signer.ca_certificate)
    except (ValueError, TypeError, Exception):
        return False
    return True
