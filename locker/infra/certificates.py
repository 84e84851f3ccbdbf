"""The certificates the instance CA issues: itself (self-signed), each signing key's
certificate (whether the key is a file or in a PKCS#11 token, the CA issues for its public
key alone) and the CRLs carried in dossiers. Pure construction: locker/infra/signing.py
decides when, and where the files go."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SIGNING_YEARS = 10
CA_YEARS = 20

# How long an instance CRL says it holds (its nextUpdate). A dossier carries the CRL of the
# moment it was signed; after this a validator relies on the dossier's document time-stamp
# (PAdES B-LTA) to know the CRL was there in time.
CRL_VALIDITY = timedelta(days=7)


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


def ca_certificate(ca_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = _name(f"Evidence Locker instance CA ({_instance_name()})")
    return _issue(
        subject=name,
        public_key=ca_key.public_key(),
        issuer=name,
        issuer_key=ca_key,
        is_ca=True,
        years=CA_YEARS,
    )


def signing_certificate(
    public_key: ec.EllipticCurvePublicKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
) -> x509.Certificate:
    return _issue(
        subject=_name(f"Evidence Locker signing ({_instance_name()})"),
        public_key=public_key,
        issuer=ca.subject,
        issuer_key=ca_key,
        is_ca=False,
        years=SIGNING_YEARS,
        not_after_limit=ca.not_valid_after_utc,
    )


def crl(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, moment: datetime
) -> x509.CertificateRevocationList:
    """A CRL from the instance CA, valid from `moment` for CRL_VALIDITY. It lists no
    certificate: nothing revokes a key here yet. The signing certificate names no CRL
    distribution point, so a validator finds this CRL only where we put it: in each
    dossier's DSS. The CRL number is the issue time in microseconds, so it increases across
    processes (RFC 5280 5.2.3) without a counter to share."""
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(moment)
        .next_update(moment + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(int(moment.timestamp() * 1_000_000)), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
