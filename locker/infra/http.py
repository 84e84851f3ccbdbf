"""Facts about an HTTP request that several layers need: who sent it, from which address,
by which way, and the instance's public address for links that leave the app."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import FileResponse, HttpRequest
from django.utils.translation.trans_real import parse_accept_lang_header

from locker.infra.storage import evidence_storage
from locker.models import Dossier


def request_user(request: HttpRequest) -> Any:
    """The API's token user (request.auth) or the browser session's user."""
    auth = getattr(request, "auth", None)
    if auth is not None and getattr(auth, "is_authenticated", False):
        return auth
    return getattr(request, "user", None)


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def public_url(request: HttpRequest, path: str = "/") -> str:
    """An absolute address for links that leave the app (emails, QR codes): LOCKER_PUBLIC_URL
    when set, otherwise the address this request came to."""
    base = settings.LOCKER_PUBLIC_URL
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@dataclass(frozen=True)
class RelyingParty:
    """Whom a passkey is for (WebAuthn's relying party): the id the credential is bound to (a
    domain) and the origin the browser must report having talked to."""

    rp_id: str
    origin: str


def relying_party(request: HttpRequest) -> RelyingParty:
    """LOCKER_WEBAUTHN_ORIGIN and LOCKER_WEBAUTHN_RP_ID when set; otherwise the origin of
    LOCKER_PUBLIC_URL, else of this request (whose host Django has checked against
    ALLOWED_HOSTS), and that origin's host name as the id."""
    origin = settings.LOCKER_WEBAUTHN_ORIGIN
    if not origin:
        base = urlsplit(settings.LOCKER_PUBLIC_URL or request.build_absolute_uri("/"))
        origin = f"{base.scheme}://{base.netloc}"
    rp_id = settings.LOCKER_WEBAUTHN_RP_ID or (urlsplit(origin).hostname or "")
    return RelyingParty(rp_id=rp_id, origin=origin)


def client_ip(request: HttpRequest) -> str | None:
    """The requester's address: REMOTE_ADDR, or, only when settings say we are behind our own
    proxy, the X-Forwarded-For entry that proxy appended (counted from the right, because
    anything to its left was sent by the client and can be forged)."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    if not getattr(settings, "LOCKER_BEHIND_PROXY", False):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    count = getattr(settings, "LOCKER_PROXY_COUNT", 1)
    if len(hops) < count:
        return remote
    return _valid_ip(hops[-count]) or remote


def via_of(request: HttpRequest) -> str:
    """How the request came: "api" (a bearer token) or "web" (a browser session)."""
    return "api" if getattr(request, "auth", None) is not None else "web"


def pdf_attachment(dossier: Dossier) -> FileResponse:
    """The signed PDF as a download that no cache keeps."""
    name = f"dossier-{dossier.template}-{dossier.created_at:%Y%m%d}-{str(dossier.id)[:8]}.pdf"
    return stored_attachment(dossier.file_name, filename=name, content_type="application/pdf")


def pack_attachment(dossier: Dossier) -> FileResponse:
    """The dossier's attachment pack (ZIP) as a download that no cache keeps."""
    name = f"dossier-{dossier.template}-{dossier.created_at:%Y%m%d}-{str(dossier.id)[:8]}-pack.zip"
    return stored_attachment(dossier.pack_file_name, filename=name, content_type="application/zip")


def stored_attachment(storage_name: str, *, filename: str, content_type: str) -> FileResponse:
    """A file of the evidence storage (unsealed) as a download that no cache keeps."""
    handle = evidence_storage().open(storage_name, "rb")
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


API_DEFAULT_LANGUAGE = "en"


def api_language(request: HttpRequest) -> str:
    """zh-hans when the client's most preferred language is a Chinese one, else en.
    The session's or profile's language is ignored on purpose: the API answers programs."""
    for code, quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*" or quality <= 0:
            continue
        return "zh-hans" if code.split("-")[0] == "zh" else API_DEFAULT_LANGUAGE
    return API_DEFAULT_LANGUAGE
