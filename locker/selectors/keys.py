"""What the instance publishes about its keys (/keys and GET /api/keys): the CA, the current
signing certificate and every former one, so that anyone can check the signer of a receipt,
an export or a dossier against them. The one home of that document's shape."""

from __future__ import annotations

from typing import Any

from cryptography import x509

from locker.core import chain
from locker.infra import signing


def certificate_facts(certificate: x509.Certificate) -> dict[str, str]:
    return {
        "fingerprint_sha256": signing.fingerprint(certificate),
        "subject": certificate.subject.rfc4514_string(),
        "not_before": chain.format_timestamp(certificate.not_valid_before_utc),
        "not_after": chain.format_timestamp(certificate.not_valid_after_utc),
        "certificate": signing.pem(certificate),
    }


def published_keys() -> dict[str, Any]:
    """`{"current": {…}, "previous": [{…, "retired_at"}], "ca": {…}}`, each certificate
    with its SHA-256 fingerprint (lower-case hex of the DER), subject, validity and PEM;
    the previous ones most recently retired first. Times in the spec's UTC form."""
    signer = signing.load_signer()
    return {
        "current": certificate_facts(signer.certificate),
        "previous": [
            {
                **certificate_facts(retired.certificate),
                "retired_at": chain.format_timestamp(retired.retired_at),
            }
            for retired in signer.previous
        ],
        "ca": certificate_facts(signer.ca_certificate),
    }
