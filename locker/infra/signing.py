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
import functools
import json
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from locker.core import chain
from locker.infra import certificates, hsm

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

log = logging.getLogger(__name__)


SignerStatus = Literal["current", "former", "unknown"]


@dataclass(frozen=True)
class RetiredCertificate:
    """A former signing certificate: its key no longer signs anything (the private key was
    deleted when it was retired), but what it signed before stays this instance's."""

    certificate: x509.Certificate
    retired_at: datetime


CRL_VALIDITY = certificates.CRL_VALIDITY


@dataclass(frozen=True)
class FileKey:
    """The signing key read from signing.key (the default)."""

    private_key: ec.EllipticCurvePrivateKey

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        """A DER ECDSA P-256 signature with SHA-256 over `data`."""
        return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))


# Where the current signing key is: signing.key, or a PKCS#11 token (locker/infra/hsm.py).
SigningKey = FileKey | hsm.TokenKey


@dataclass(frozen=True)
class Signer:
    key: SigningKey
    certificate: x509.Certificate
    ca_certificate: x509.Certificate
    # The former signing certificates, the most recently retired first.
    previous: tuple[RetiredCertificate, ...] = ()

    @property
    def key_location(self) -> str:
        if isinstance(self.key, hsm.TokenKey):
            return self.key.config.describe()
        return f"file {SIGNING_KEY}"

    @functools.cached_property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @functools.cached_property
    def certificate_fingerprint(self) -> str:
        return fingerprint(self.certificate)

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


def _private_directory(directory: Path) -> None:
    """The key directory, made 0700 (and tightened to it if it was more open): it holds the
    private keys, and nothing in it is for other users (the app publishes the certificates)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        try:
            os.chmod(directory, 0o700)
            log.warning("key directory %s was mode %o; now 0700", directory, mode)
        except PermissionError:  # not ours: the operator's choice, said once per start
            log.warning("key directory %s is mode %o, not 0700, and not ours", directory, mode)


def _new_signing_key() -> tuple[ec.EllipticCurvePrivateKey | None, ec.EllipticCurvePublicKey]:
    """A new signing key: made in the token when one is configured (then only its public
    key is here), else in this process, for signing.key."""
    token = hsm.configured()
    if token is not None:
        return None, hsm.generate_key(token).public
    key = ec.generate_private_key(ec.SECP256R1())
    return key, key.public_key()


def ensure_keys() -> bool:
    """Create the CA and signing key pair if they are missing. Returns True if it created them.
    With a PKCS#11 token configured the signing key is made in the token. Safe to call from
    several processes at once; finishes or undoes a rotation cut short."""
    directory = key_dir()
    _private_directory(directory)
    with _locked(directory, fcntl.LOCK_EX):
        if (directory / SIGNING_CERT).exists():
            _recover(directory)
            return False
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = certificates.ca_certificate(ca_key)
        signing_key, public_key = _new_signing_key()
        signing_cert = certificates.signing_certificate(public_key, ca_key, ca_cert)
        _write_private(directory / CA_KEY, _key_pem(ca_key))
        if signing_key is not None:
            _write_private(directory / SIGNING_KEY, _key_pem(signing_key))
        else:
            (directory / SIGNING_KEY).unlink(missing_ok=True)
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


def _public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise RuntimeError("a signing certificate without an EC key")
    return key


def _recover(directory: Path) -> None:
    """Finish a rotation that stopped after the new key was renamed into place (the pending
    certificate matches signing.key), or undo one that stopped before (it does not; a key
    made in the token for it is destroyed). With a token, also destroy what a rotation that
    stopped after its certificate was renamed into place left of the retired key: its pair in
    the token, or signing.key when the key moved from the file into the token. Holds the
    exclusive lock."""
    token = hsm.configured()
    pending_cert = directory / PENDING_CERT
    key_path = directory / SIGNING_KEY
    if pending_cert.exists():
        pending = _load_certificate(pending_cert)
        if key_path.exists() and _same_key(_load_key(key_path), pending):
            os.replace(pending_cert, directory / SIGNING_CERT)
        else:
            if token is not None:
                hsm.destroy_keys(token, [_public_key(pending)])
            pending_cert.unlink()
    (directory / PENDING_KEY).unlink(missing_ok=True)
    (directory / f"{PREVIOUS}.tmp").unlink(missing_ok=True)
    if token is None:
        return
    current = _load_certificate(directory / SIGNING_CERT)
    retired = [r.certificate for r in _previous_of(_read_previous(directory), current)]
    if key_path.exists():
        file_key = _load_key(key_path).public_key()
        if any(file_key == c.public_key() for c in retired):
            key_path.unlink()
    hsm.destroy_keys(token, [_public_key(c) for c in retired])


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
        certificate = _load_certificate(directory / SIGNING_CERT)
        key = _current_key(directory, certificate)
        if key is None:
            return None
        signer = Signer(
            key=key,
            certificate=certificate,
            ca_certificate=_load_certificate(directory / CA_CERT),
            previous=_previous_of(_read_previous(directory), certificate),
        )
    return stamp, signer


def _current_key(directory: Path, certificate: x509.Certificate) -> SigningKey | None:
    """The key of signing.pem: signing.key, or, with a token configured, the token's key
    (found there when it first signs). None when a key moved into the token left its file
    behind (ensure_keys removes it)."""
    token = hsm.configured()
    key_path = directory / SIGNING_KEY
    if key_path.exists():
        file_key = _load_key(key_path)
        if _same_key(file_key, certificate):
            if token is not None:
                raise RuntimeError(
                    f"LOCKER_SIGNING_PKCS11_MODULE is set but the signing key is still the file "
                    f"{key_path}: run `manage.py locker_keys --pkcs11 generate` (a new key in "
                    f"the token) or `--pkcs11 import` (this key moved into it)"
                )
            return FileKey(file_key)
        if token is None:
            raise RuntimeError(f"{SIGNING_KEY} does not belong to {SIGNING_CERT}")
        return None
    if token is None:
        raise RuntimeError(
            f"{key_path} is missing: the signing key is kept in a PKCS#11 token; set "
            "LOCKER_SIGNING_PKCS11_MODULE, _TOKEN, _KEY and the PIN (docs/operations.md)"
        )
    return hsm.TokenKey(token, _public_key(certificate))


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
    deleted: signing.key is replaced by the new key, or, with a PKCS#11 token configured,
    the new key is made in the token and the old one (in the token, or signing.key) is
    destroyed. Safe against a concurrent rotation (each is done whole, one after the other)
    and against a crash (finished or undone by the next process that reads the keys)."""
    ensure_keys()
    directory = key_dir()
    token = hsm.configured()
    with _locked(directory, fcntl.LOCK_EX):
        _recover(directory)
        ca_key = _load_key(directory / CA_KEY)
        ca = _load_certificate(directory / CA_CERT)
        old = _load_certificate(directory / SIGNING_CERT)
        if token is None and not (directory / SIGNING_KEY).exists():
            raise RuntimeError(
                "the signing key is kept in a PKCS#11 token: set LOCKER_SIGNING_PKCS11_MODULE "
                "and the others to rotate it"
            )
        key, public_key = _new_signing_key()
        new = certificates.signing_certificate(public_key, ca_key, ca)
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
        if key is not None:
            _write_private(directory / PENDING_KEY, _key_pem(key))
        _write(directory / PENDING_CERT, new.public_bytes(serialization.Encoding.PEM))
        _fsync_dir(directory)
        if key is not None:
            os.replace(directory / PENDING_KEY, directory / SIGNING_KEY)
        # The token's key is in place from the start: renaming its certificate is the step
        # that makes it current; until then a crash undoes the rotation (_recover).
        os.replace(directory / PENDING_CERT, directory / SIGNING_CERT)
        _fsync_dir(directory)
        if token is not None:
            (directory / SIGNING_KEY).unlink(missing_ok=True)  # a file key, now retired
            hsm.destroy_keys(token, [_public_key(old)])  # or the retired key in the token
            _fsync_dir(directory)
    return Rotation(retired=old, current=new, retired_at=retired_at)


def signing_key_is_a_file() -> bool:
    """Whether signing.pem's key is signing.key (not yet in a token)."""
    ensure_keys()
    directory = key_dir()
    with _locked(directory, fcntl.LOCK_SH):
        key_path = directory / SIGNING_KEY
        if not key_path.exists():
            return False
        return _same_key(_load_key(key_path), _load_certificate(directory / SIGNING_CERT))


def move_signing_key_into_token() -> x509.Certificate:
    """Copy signing.key into the configured PKCS#11 token (sensitive, not extractable),
    check that the token signs for signing.pem, then delete the file. The certificate, and
    so the fingerprint, stay the same. Done again, it finishes a move cut short or says
    nothing was to be done. Returns the signing certificate."""
    token = hsm.configured()
    if token is None:
        raise RuntimeError("set LOCKER_SIGNING_PKCS11_MODULE and the others first")
    ensure_keys()
    directory = key_dir()
    with _locked(directory, fcntl.LOCK_EX):
        _recover(directory)
        certificate = _load_certificate(directory / SIGNING_CERT)
        key_path = directory / SIGNING_KEY
        public_key = _public_key(certificate)
        if not key_path.exists():
            if not hsm.holds(token, public_key):
                raise RuntimeError(f"{token.describe()} holds no key for {SIGNING_CERT}")
            return certificate
        file_key = _load_key(key_path)
        if not _same_key(file_key, certificate):
            raise RuntimeError(f"{SIGNING_KEY} does not belong to {SIGNING_CERT}")
        if not hsm.holds(token, public_key):
            hsm.import_key(token, file_key)
        hsm.TokenKey(token, public_key).sign(b"Evidence Locker: the token signs")  # verified
        key_path.unlink()
        _fsync_dir(directory)
    return certificate


def issue_crl(*, now: datetime | None = None) -> x509.CertificateRevocationList:
    """A CRL from the instance CA, valid from `now` for CRL_VALIDITY (certificates.crl).
    Needs ca.key: the worker, which signs dossiers at B-LTA, reads it for this."""
    ca_key = _load_key(key_dir() / CA_KEY)
    return certificates.crl(ca_key, load_signer().ca_certificate, now or datetime.now(UTC))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A signed checkpoint in parts: what a compact checkpoint row stores (the signature and
    the certificate's fingerprint) beside the document itself (spec section 4)."""

    body: dict[str, Any]
    signature: str  # base64 of the DER signature over the body's canonical bytes
    certificate_pem: str
    certificate_fingerprint: str

    @property
    def document(self) -> dict[str, Any]:
        return {
            "checkpoint": self.body,
            "signature": self.signature,
            "certificate": self.certificate_pem,
        }


def sign_checkpoint_parts(
    *, case_id: str, length: int, head: str, signed_at: datetime
) -> SignedCheckpoint:
    signer = load_signer()
    body = chain.checkpoint_body(case_id, length, head, signed_at)
    signature = signer.key.sign(chain.canonical_bytes(body))
    return SignedCheckpoint(
        body=body,
        signature=base64.b64encode(signature).decode("ascii"),
        certificate_pem=signer.certificate_pem,
        certificate_fingerprint=signer.certificate_fingerprint,
    )


def sign_checkpoint(*, case_id: str, length: int, head: str, signed_at: datetime) -> dict[str, Any]:
    return sign_checkpoint_parts(
        case_id=case_id, length=length, head=head, signed_at=signed_at
    ).document


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
