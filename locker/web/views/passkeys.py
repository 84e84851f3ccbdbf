"""Passkeys in the browser (static/locker/passkeys.js): the options its script asks for
before navigator.credentials.create() or .get(), and the handling of what it then posts with
the page's form (a passkey to add or remove on the second-factor page, an assertion on the
log-in step, views/second_factor.py).

Each options request makes one challenge, kept in the session with what it is for, whom and
when: the next answer takes it out, whether it holds or not, so a challenge is good for one
answer, in this session only, for CHALLENGE_S."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from locker.infra.http import relying_party
from locker.services import passkeys as passkey_services
from locker.web.views.accounts import pending_user
from locker.web.views.common import AuthedRequest

CEREMONY_KEY = "locker_webauthn_ceremony"
REGISTER = "register"
LOG_IN = "log_in"
REAUTH = "reauth"


def _options_response(
    request: HttpRequest, purpose: str, user: Any, ceremony: passkey_services.Ceremony
) -> HttpResponse:
    request.session[CEREMONY_KEY] = {
        "purpose": purpose,
        "user": user.pk,
        "challenge": bytes_to_base64url(ceremony.challenge),
        "user_handle": bytes_to_base64url(ceremony.user_handle),
        "at": time.time(),
    }
    response = HttpResponse(ceremony.options_json, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def take_ceremony(
    request: HttpRequest, purpose: str, user: Any
) -> passkey_services.Ceremony | None:
    """The ceremony (challenge) this session was last given, if it was for `purpose` and
    `user` and is not older than CHALLENGE_S. It is gone from the session after this call
    either way."""
    kept = request.session.pop(CEREMONY_KEY, None)
    if not isinstance(kept, dict) or kept.get("purpose") != purpose:
        return None
    if kept.get("user") != user.pk:
        return None
    if time.time() - float(kept.get("at", 0)) > passkey_services.CHALLENGE_S:
        return None
    try:
        return passkey_services.Ceremony(
            options_json="",
            challenge=base64url_to_bytes(str(kept.get("challenge", ""))),
            user_handle=base64url_to_bytes(str(kept.get("user_handle", ""))),
        )
    except ValueError:
        return None


@login_required
@require_POST
def register_options(request: AuthedRequest) -> HttpResponse:
    ceremony = passkey_services.registration_options(
        user=request.user, relying_party=relying_party(request)
    )
    return _options_response(request, REGISTER, request.user, ceremony)


@require_POST
def login_options(request: HttpRequest) -> HttpResponse:
    """For the log-in step only: whoever has not given the password in this session gets
    nothing, so the options say nothing about which passkeys an account has."""
    found = pending_user(request)
    if found is None:
        return JsonResponse({"detail": _("Sign in with your password first.")}, status=403)
    user, _pending = found
    ceremony = passkey_services.authentication_options(
        user=user, relying_party=relying_party(request)
    )
    return _options_response(request, LOG_IN, user, ceremony)


@login_required
@require_POST
def reauth_options(request: AuthedRequest) -> HttpResponse:
    """For the "confirm it's you" step: the signed-in person's own passkeys only."""
    ceremony = passkey_services.authentication_options(
        user=request.user, relying_party=relying_party(request)
    )
    return _options_response(request, REAUTH, request.user, ceremony)


def reauth_assertion(request: AuthedRequest) -> passkey_services.Assertion | None:
    """The "confirm it's you" form's passkey answer with the challenge this session was given
    for it; None when the challenge is gone (too old, used, or never asked for)."""
    ceremony = take_ceremony(request, REAUTH, request.user)
    if ceremony is None:
        return None
    return passkey_services.Assertion(
        credential=request.POST.get("credential", ""),
        challenge=ceremony.challenge,
        relying_party=relying_party(request),
    )


def add_from_form(request: AuthedRequest) -> tuple[list[str] | None, str]:
    """The second-factor page's "add a passkey" form: (recovery codes to show, if new ones
    were made; an error to show, or "")."""
    ceremony = take_ceremony(request, REGISTER, request.user)
    if ceremony is None:
        return None, _("That took too long, or the page was old. Try again.")
    try:
        _passkey, codes = passkey_services.register_passkey(
            user=request.user,
            name=request.POST.get("name", ""),
            credential=request.POST.get("credential", ""),
            ceremony=ceremony,
            relying_party=relying_party(request),
            keep_session_key=request.session.session_key,
            request=request,
        )
    except passkey_services.PasskeyRefused as refused:
        return None, str(refused.message)
    return codes, ""


def verify_from_form(request: HttpRequest, user: Any) -> str:
    """The log-in step's passkey answer: "" when it holds, else the error to show."""
    ceremony = take_ceremony(request, LOG_IN, user)
    if ceremony is None:
        return _("That took too long, or the page was old. Try again.")
    try:
        passkey_services.verify_passkey(
            user=user,
            credential=request.POST.get("credential", ""),
            challenge=ceremony.challenge,
            relying_party=relying_party(request),
            request=request,
        )
    except passkey_services.PasskeyRefused as refused:
        return str(refused.message)
    return ""
