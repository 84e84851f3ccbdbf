"""The instance's keys: a self-issued CA and an ECDSA P-256 signing certificate that signs
checkpoints (spec section 4) and dossier PDFs, under LOCKER_KEY_DIR. Created once; the
signing key can be rotated (`manage.py rotate_signing_key`): the CA issues a new signing
certificate, which becomes current, and the one it replaces is kept, public part only, with
the time it was retired, so that what it signed stays verifiable as signed by a former key.

Files (the set is complete once signing.pem exists):
    ca.key, ca.pem            the CA's private key (0600) and certificate
    signing.key, signing.pem  the current signing key (0600) and certificate
    previous.json             the former signing certificates and when each was retired
    .lock                     flock: exclusive while keys are made or rotated, shared while read

Every process (gunicorn workers, Celery workers) reads the keys once and again whenever
signing.pem has been replaced, which a rotation in any process does, so all of them sign with
the new key from their next signature on."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

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
PREVIOUS = "previous.json"
LOCK = ".lock"
# A rotation writes the new pair under these names first, then renames the key and then the
# certificate into place; a rotation cut short in between is finished or undone (_recover).
PENDING_KEY = "signing.key.new"
PENDING_CERT = "signing.pem.new"

SIGNING_YEARS = 10
CA_YEARS = 20

SignerStatus = Literal["current", "former", "unknown"]


@dataclass(frozen=True)
class RetiredCertificate:
    """A former signing certificate: its key no longer signs anything (the private key was
    deleted when it was retired), but what it signed before stays this instance's."""

    certificate: x509.Certificate
    retired_at: datetime


# How long an instance CRL says it holds (its nextUpdate). A dossier carries the CRL of the
# moment it was signed; after this a validator relies on the dossier's document time-stamp
# (PAdES B-LTA) to know the CRL was there in time.
CRL_VALIDITY = timedelta(days=7)


@dataclass(frozen=True)
class Signer:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    ca_certificate: x509.Certificate
    # The former signing certificates, the most recently retired first.
    previous: tuple[RetiredCertificate, ...] = ()

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def ca_certificate_pem(self) -> str:
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class SignerCheck:
    """Who signed something, as this instance sees it now."""

    fingerprint_sha256: str
    status: SignerStatus
    retired_at: datetime | None = None  # for a former key

    def as_json(self) -> dict[str, str]:
        """The `signer` member of the verification answers."""
        return {"fingerprint_sha256": self.fingerprint_sha256, "status": self.status}


def key_dir() -> Path:
    return Path(settings.LOCKER_KEY_DIR)


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@contextlib.contextmanager
def _locked(directory: Path, mode: int) -> Iterator[None]:
    try:
        lock = open(directory / LOCK, "a")  # noqa: SIM115 - closed below
    except PermissionError:
        if mode != fcntl.LOCK_SH:
            raise
        # A process that may only read the keys can still take the shared lock.
        lock = open(directory / LOCK)  # noqa: SIM115
    with lock:
        fcntl.flock(lock, mode)
        yield


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write and fsync `data` to `path` (created or truncated) with `mode`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)


def _write_private(path: Path, data: bytes) -> None:
    _write(path, data, 0o600)


def _replace(directory: Path, name: str, data: bytes) -> None:
    """Replace a public file whole: a reader sees the old content or the new, never part."""
    temporary = directory / f"{name}.tmp"
    _write(temporary, data)
    os.replace(temporary, directory / name)


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
    not_after_limit: datetime | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    not_after = now + timedelta(days=365 * years)
    if not_after_limit is not None:
        # A certificate the CA issues must not outlive the CA.
        not_after = min(not_after, not_after_limit)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
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


def _instance_name() -> str:
    return socket.gethostname()[:40] or "instance"


def _signing_certificate(
    key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> x509.Certificate:
    return _issue(
        subject=_name(f"Evidence Locker signing ({_instance_name()})"),
        public_key=key.public_key(),
        issuer=ca.subject,
        issuer_key=ca_key,
        is_ca=False,
        years=SIGNING_YEARS,
        not_after_limit=ca.not_valid_after_utc,
    )


def ensure_keys() -> bool:
    """Create the CA and signing key pair if they are missing. Returns True if it created them.
    Safe to call from several processes at once; finishes or undoes a rotation cut short."""
    directory = key_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(directory, fcntl.LOCK_EX):
        if (directory / SIGNING_CERT).exists():
            _recover(directory)
            return False
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name(f"Evidence Locker instance CA ({_instance_name()})")
        ca_cert = _issue(
            subject=ca_name,
            public_key=ca_key.public_key(),
            issuer=ca_name,
            issuer_key=ca_key,
            is_ca=True,
            years=CA_YEARS,
        )
        signing_key = ec.generate_private_key(ec.SECP256R1())
        signing_cert = _signing_certificate(signing_key, ca_key, ca_cert)
        _write_private(directory / CA_KEY, _key_pem(ca_key))
        _write_private(directory / SIGNING_KEY, _key_pem(signing_key))
        (directory / PREVIOUS).unlink(missing_ok=True)  # a new CA: nothing before it is ours
        _write(directory / CA_CERT, ca_cert.public_bytes(serialization.Encoding.PEM))
        # Written last: its presence means the set is complete.
        _replace(directory, SIGNING_CERT, signing_cert.public_bytes(serialization.Encoding.PEM))
        _fsync_dir(directory)
        return True


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise RuntimeError(f"{path.name} is not an EC key")
    return key


def _load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _same_key(key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> bool:
    return key.public_key() == certificate.public_key()


def _recover(directory: Path) -> None:
    """Finish a rotation that stopped after the new key was renamed into place (the pending
    certificate matches signing.key), or undo one that stopped before (it does not). Holds
    the exclusive lock."""
    pending_cert = directory / PENDING_CERT
    if pending_cert.exists():
        if _same_key(_load_key(directory / SIGNING_KEY), _load_certificate(pending_cert)):
            os.replace(pending_cert, directory / SIGNING_CERT)
        else:
            pending_cert.unlink()
    (directory / PENDING_KEY).unlink(missing_ok=True)
    (directory / f"{PREVIOUS}.tmp").unlink(missing_ok=True)


def _read_previous(directory: Path) -> list[dict[str, str]]:
    path = directory / PREVIOUS
    if not path.exists():
        return []
    document = json.loads(path.read_text(encoding="utf-8"))
    return list(document["previous"])


def _previous_of(
    records: list[dict[str, str]], current: x509.Certificate
) -> tuple[RetiredCertificate, ...]:
    retired = []
    for record in records:
        certificate = x509.load_pem_x509_certificate(record["certificate"].encode())
        # A rotation cut short may have listed the certificate that is still current.
        if certificate != current:
            retired.append(
                RetiredCertificate(certificate, chain.parse_timestamp(record["retired_at"]))
            )
    # Listed in the order they were retired (not sorted by time: the clock may be set back).
    return tuple(reversed(retired))


Stamp = tuple[str, int, int, int, int]


def _stamp(directory: Path) -> Stamp | None:
    """What changes whenever signing.pem is replaced: it is always replaced by renaming a new
    file over it, which has another inode (and mtime) than the file it replaces."""
    try:
        info = os.stat(directory / SIGNING_CERT)
    except FileNotFoundError:
        return None
    return (str(directory), info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def _read_signer(directory: Path) -> tuple[Stamp | None, Signer] | None:
    """The keys as they are now, read under the shared lock so that no rotation is half
    done while they are read; None when a cut-short rotation must be repaired first."""
    with _locked(directory, fcntl.LOCK_SH):
        if (directory / PENDING_CERT).exists() or (directory / PENDING_KEY).exists():
            return None
        stamp = _stamp(directory)
        key = _load_key(directory / SIGNING_KEY)
        certificate = _load_certificate(directory / SIGNING_CERT)
        if not _same_key(key, certificate):
            raise RuntimeError(f"{SIGNING_KEY} does not belong to {SIGNING_CERT}")
        signer = Signer(
            key=key,
            certificate=certificate,
            ca_certificate=_load_certificate(directory / CA_CERT),
            previous=_previous_of(_read_previous(directory), certificate),
        )
    return stamp, signer


class _CurrentSigner:
    """`load_signer()`: the current keys, read again only when signing.pem was replaced (a
    stat per call). An lru_cache would keep a process signing with a retired key until it
    restarts, and every gunicorn and Celery worker is its own process."""

    def __init__(self) -> None:
        self._cached: tuple[Stamp | None, Signer] | None = None

    def __call__(self) -> Signer:
        directory = key_dir()
        cached = self._cached
        stamp = _stamp(directory)
        if cached is not None and stamp is not None and cached[0] == stamp:
            return cached[1]
        if stamp is None:
            ensure_keys()
        loaded = _read_signer(directory)
        if loaded is None:
            ensure_keys()  # repairs the cut-short rotation under the exclusive lock
            loaded = _read_signer(directory)
            if loaded is None:
                raise RuntimeError(f"a key rotation in {directory} cannot be completed")
        self._cached = loaded
        return loaded[1]

    def cache_clear(self) -> None:
        """Forget the keys read (tests that swap LOCKER_KEY_DIR call this; not needed)."""
        self._cached = None


load_signer = _CurrentSigner()


@dataclass(frozen=True)
class Rotation:
    retired: x509.Certificate
    current: x509.Certificate
    retired_at: datetime


def rotate_signing_key() -> Rotation:
    """Issue a new signing certificate from the instance CA and make it current. The one it
    replaces goes to previous.json (certificate and retirement time) and its private key is
    deleted: signing.key is replaced by the new key. Safe against a concurrent rotation
    (each is done whole, one after the other) and against a crash (finished or undone by
    the next process that reads the keys)."""
    ensure_keys()
    directory = key_dir()
    with _locked(directory, fcntl.LOCK_EX):
        _recover(directory)
        ca_key = _load_key(directory / CA_KEY)
        ca = _load_certificate(directory / CA_CERT)
        old = _load_certificate(directory / SIGNING_CERT)
        key = ec.generate_private_key(ec.SECP256R1())
        new = _signing_certificate(key, ca_key, ca)
        retired_at = datetime.now(UTC)
        old_fingerprint = fingerprint(old)
        records = [
            r for r in _read_previous(directory) if r["fingerprint_sha256"] != old_fingerprint
        ]
        records.append(
            {
                "fingerprint_sha256": old_fingerprint,
                "retired_at": chain.format_timestamp(retired_at),
                "certificate": pem(old),
            }
        )
        # The history first: should the rotation stop anywhere after this, the old
        # certificate is still listed (and, while it is still current, shown as current).
        document = {"v": 1, "previous": records}
        _replace(directory, PREVIOUS, json.dumps(document, indent=2).encode() + b"\n")
        _write_private(directory / PENDING_KEY, _key_pem(key))
        _write(directory / PENDING_CERT, new.public_bytes(serialization.Encoding.PEM))
        _fsync_dir(directory)
        os.replace(directory / PENDING_KEY, directory / SIGNING_KEY)
        os.replace(directory / PENDING_CERT, directory / SIGNING_CERT)
        _fsync_dir(directory)
    return Rotation(retired=old, current=new, retired_at=retired_at)


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


def check_signer(certificate: x509.Certificate) -> SignerCheck:
    """Whether `certificate` is this instance's current signing certificate, one it retired,
    or unknown here: the one home of that answer (`/verify`, the API, kept receipts,
    verify_chain and /keys all ask it). Only certificates the instance lists count; one the
    CA would also have signed is not enough, since the CA's key is on this same server."""
    signer = load_signer()
    found = fingerprint(certificate)
    if certificate == signer.certificate:
        return SignerCheck(found, "current")
    for retired in signer.previous:
        if retired.certificate == certificate:
            return SignerCheck(found, "former", retired.retired_at)
    return SignerCheck(found, "unknown")


def signer_status(certificate: x509.Certificate) -> SignerStatus:
    return check_signer(certificate).status


def is_trusted(certificate: x509.Certificate) -> bool:
    """True if the certificate is this instance's signing certificate, current or former."""
    return signer_status(certificate) != "unknown"
