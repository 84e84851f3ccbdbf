"""The second factor: the log-in step that asks for a code or a passkey after the password,
and the page in Settings where a person sets up an authenticator app, adds and removes
passkeys (views/passkeys.py), gets new recovery codes or removes the second factor. That
page is behind the "confirm it's you" step (locker/web/reauth.py). Each
change there ends every other session and every API token."""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from locker.selectors.second_factor import (
    has_second_factor,
    has_totp,
    passkeys_of,
    recovery_codes_left,
    second_factor_required,
)
from locker.services import passkeys as passkey_services
from locker.services import second_factor as factor_services
from locker.web.middleware.sessions import FACTOR_CHECKED_KEY
from locker.web.reauth import reauth_required
from locker.web.views import passkeys as passkey_views
from locker.web.views.accounts import PENDING_KEY, pending_user, too_many
from locker.web.views.common import AuthedRequest


def login_second_factor(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("case_list")
    found = pending_user(request)
    if found is None:
        return redirect("login")
    user, pending = found
    error = ""
    if request.method == "POST":
        if not factor_services.code_guess_admitted(user):
            return too_many(request, factor_services.CODE_GUESS_WINDOW_S)
        if request.POST.get("credential"):
            error = passkey_views.verify_from_form(request, user)
            passed = not error
        else:
            passed = factor_services.verify_code(
                user=user, code=request.POST.get("code", ""), request=request
            )
            error = (
                ""
                if passed
                else _("That code is not right. Try the newest one, or a recovery code.")
            )
        if passed:
            request.session.pop(PENDING_KEY, None)
            login(request, user, backend=pending["backend"])
            request.session[FACTOR_CHECKED_KEY] = True
            target = str(pending.get("next") or "")
            if not url_has_allowed_host_and_scheme(
                target, {request.get_host()}, request.is_secure()
            ):
                target = "/cases/"
            return redirect(target)
    context = {
        "error": error,
        "has_totp": has_totp(user),
        "has_passkeys": passkeys_of(user).exists(),
    }
    return render(request, "registration/login_second_factor.html", context, status=200)


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return str(image.to_string(encoding="unicode"))


@login_required
@reauth_required
def two_factor(request: AuthedRequest) -> HttpResponse:
    user = request.user
    keep = request.session.session_key
    action = request.POST.get("action", "") if request.method == "POST" else ""
    codes: list[str] | None = None
    error = ""
    if action == "start":
        factor_services.start_totp(user=user)
        return redirect("two_factor")
    if action == "confirm":
        if not factor_services.code_guess_admitted(user):
            return too_many(request, factor_services.CODE_GUESS_WINDOW_S)
        codes = factor_services.confirm_totp(
            user=user, code=request.POST.get("code", ""), keep_session_key=keep, request=request
        )
        if codes is None:
            error = _("That code is not right. Type the six digits the app shows now.")
        else:
            request.session[FACTOR_CHECKED_KEY] = True
            messages.success(request, _("The second factor is on. Other sessions were ended."))
    elif action == "passkey_add":
        codes, error = passkey_views.add_from_form(request)
        if not error:
            request.session[FACTOR_CHECKED_KEY] = True
            messages.success(request, _("The passkey is added. Other sessions were ended."))
            if codes is None:
                return redirect("two_factor")
    elif action == "recovery" and has_second_factor(user):
        codes = factor_services.renew_recovery_codes(
            user=user, keep_session_key=keep, request=request
        )
        messages.success(request, _("New recovery codes. The old ones no longer work."))
    elif action in ("remove", "passkey_remove") and has_second_factor(user):
        # No password field here: the whole page is behind the "confirm it's you" step.
        if action == "remove":
            factor_services.remove_second_factor(user=user, keep_session_key=keep, request=request)
            request.session.pop(FACTOR_CHECKED_KEY, None)
            messages.success(request, _("The second factor is off. Other sessions were ended."))
            return redirect("two_factor")
        if _remove_passkey(request, keep):
            messages.success(request, _("The passkey is removed. Other sessions were ended."))
            return redirect("two_factor")
        error = _("There is no such passkey.")
    pending = None if codes is not None else factor_services.pending_totp(user=user)
    context: dict[str, Any] = {
        "enabled": has_second_factor(user),
        "has_totp": has_totp(user),
        "passkeys": list(passkeys_of(user)),
        "max_passkeys": passkey_services.MAX_PASSKEYS,
        "required": second_factor_required(user),
        "codes_left": recovery_codes_left(user),
        "pending": pending,
        # An SVG made by qrcode from the device's own otpauth: address, nothing a user typed.
        "qr": mark_safe(_qr_svg(pending.config_url)) if pending else None,  # noqa: S308
        "codes": codes,
        "error": error,
    }
    return render(request, "registration/two_factor.html", context, status=400 if error else 200)


def _remove_passkey(request: AuthedRequest, keep: str | None) -> bool:
    try:
        passkey_id = int(request.POST.get("passkey", ""))
    except ValueError:
        return False
    removed = passkey_services.remove_passkey(
        user=request.user, passkey_id=passkey_id, keep_session_key=keep, request=request
    )
    if removed and not has_second_factor(request.user):
        request.session.pop(FACTOR_CHECKED_KEY, None)
    return removed
