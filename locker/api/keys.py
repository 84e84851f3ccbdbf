"""GET /api/keys: the instance CA and its signing certificates, current and former, for
anyone (no token) to check a signer against; the same facts as the /keys page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from locker.selectors.keys import published_keys

router = Router(tags=["keys"])

UTC_TIME = "YYYY-MM-DDTHH:MM:SS.ffffffZ"


class CertificateOut(Schema):
    fingerprint_sha256: str = Field(description="SHA-256 of the certificate's DER, hex")
    subject: str = Field(description="RFC 4514")
    not_before: str = Field(description=UTC_TIME)
    not_after: str = Field(description=UTC_TIME)
    certificate: str = Field(description="PEM")


class RetiredCertificateOut(CertificateOut):
    retired_at: str = Field(description=f"{UTC_TIME}: from then on it signed nothing")


class KeysOut(Schema):
    current: CertificateOut
    previous: list[RetiredCertificateOut] = Field(description="most recently retired first")
    ca: CertificateOut


@router.get(
    "/keys",
    auth=None,
    response=KeysOut,
    url_name="published_keys",
    summary="This instance's CA and signing certificates, current and former; no token needed",
)
def keys(request: HttpRequest) -> dict[str, Any]:
    return published_keys()
