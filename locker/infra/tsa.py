"""Asking RFC 3161 time-stamp authorities for tokens (LOCKER_TSA_URLS). pyHanko's HTTP client
speaks the protocol (request with a nonce and certReq, reply status, nonce and imprint
checked); this module adds what the instance needs around it: credentials from the URL,
addresses safe to store and show, and errors a task can retry."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from locker.core import anchors


class TSAUnavailable(ConnectionError):
    """A TSA could not be reached or gave no usable token: worth retrying later."""


@dataclass(frozen=True)
class Authority:
    # The address as stored in anchors and shown on pages: no user name or password.
    url: str
    auth: tuple[str, str] | None = None

    def timestamper(self) -> HTTPTimeStamper:
        return HTTPTimeStamper(self.url, timeout=settings.LOCKER_TSA_TIMEOUT_S, auth=self.auth)


def authority(address: str) -> Authority:
    """`https://user:password@tsa.example/` → the URL without credentials, and HTTP basic
    authentication with them (how most commercial TSAs take an account)."""
    parts = urlsplit(address.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"LOCKER_TSA_URLS: {parts.scheme}://{parts.hostname} is not an http(s) URL"
        )
    auth = None
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    return Authority(url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), auth=auth)


def configured() -> list[Authority]:
    return [authority(address) for address in settings.LOCKER_TSA_URLS]


def is_configured() -> bool:
    return bool(settings.LOCKER_TSA_URLS)


@lru_cache(maxsize=4)
def _ca_file_certificates(path: str, mtime: float) -> tuple[asn1_x509.Certificate, ...]:
    certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    return tuple(
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in certificates
    )


def ca_certificates() -> tuple[asn1_x509.Certificate, ...]:
    """LOCKER_TSA_CA_FILE: the TSA roots (and intermediates) the operator trusts, carried
    beside each token so a verifier can build the path, and trusted when verifying."""
    path = settings.LOCKER_TSA_CA_FILE
    if not path:
        return ()
    return _ca_file_certificates(str(path), Path(path).stat().st_mtime)


@dataclass(frozen=True)
class Token:
    tsa: str
    der: bytes
    certificates: tuple[str, ...]
    attested_at: datetime
    root_fingerprint: str

    def as_json(self) -> dict[str, object]:
        """The token as anchors carry it (docs/chain-format.md)."""
        return {
            "tsa": self.tsa,
            "token": base64.b64encode(self.der).decode("ascii"),
            "certificates": list(self.certificates),
        }


def request_token(source: Authority, root: bytes) -> Token:
    """One token over `root` from one TSA, checked like any verifier will check it (so a
    TSA answering with a token over something else, or one that does not verify, is an
    error here, not a bad anchor later)."""
    try:
        content = asyncio.run(source.timestamper().async_timestamp(anchors.imprint(root), "sha256"))
    except (TimestampRequestError, OSError, ValueError) as exc:
        raise TSAUnavailable(f"{source.url}: {exc}") from exc
    der = content.dump()
    extra = ca_certificates()
    check = anchors.check_token(
        tsa=source.url, token_der=der, root=root, extra_certificates=extra, trusted_roots=None
    )
    if not check.valid or check.attested_at is None:
        raise TSAUnavailable(f"{source.url}: {check.problem}")
    inside = {c.dump() for c in anchors.token_certificates(der)}
    # The certificates the token lacks (a TSA root is usually not inside it) go beside it.
    beside = tuple(anchors.certificate_pem(c) for c in extra if c.dump() not in inside)
    return Token(
        tsa=source.url,
        der=der,
        certificates=beside,
        attested_at=check.attested_at,
        root_fingerprint=check.root_fingerprint,
    )
