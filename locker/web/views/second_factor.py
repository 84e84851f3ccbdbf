"""The second factor: the log-in step that asks for a code after the password, and the page
in Settings where a person sets up an authenticator app, gets new recovery codes or removes
the second factor. That page is behind the "confirm it's you" step (locker/web/reauth.py). Each
change there ends every other session and every API token."""

from __future__ import annotations

import time
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
    recovery_codes_left,
    second_factor_required,
)
from locker.selectors.sessions import active_user
from locker.services import second_factor as factor_services
from locker.web.middleware.sessions import FACTOR_CHECKED_KEY
from locker.web.reauth import reauth_required
from locker.web.views.accounts import PENDING_KEY, PENDING_S, too_many
from locker.web.views.common import AuthedRequest


def login_second_factor(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY)
    if request.user.is_authenticated:
        return redirect("case_list")
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_S:
        request.session.pop(PENDING_KEY, None)
        return redirect("login")
    user = active_user(pending.get("user"))
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return redirect("login")
    error = ""
    if request.method == "POST":
        if not factor_services.code_guess_admitted(user):
            return too_many(request, factor_services.CODE_GUESS_WINDOW_S)
        if factor_services.verify_code(
            user=user, code=request.POST.get("code", ""), request=request
        ):
            request.session.pop(PENDING_KEY, None)
            login(request, user, backend=pending["backend"])
            request.session[FACTOR_CHECKED_KEY] = True
            target = str(pending.get("next") or "")
            if not url_has_allowed_host_and_scheme(
                target, {request.get_host()}, request.is_secure()
            ):
                target = "/cases/"
            return redirect(target)
        error = _("That code is not right. Try the newest one, or a recovery code.")
    return render(request, "registration/login_second_factor.html", {"error": error}, status=200)


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
    elif action == "recovery" and has_second_factor(user):
        codes = factor_services.renew_recovery_codes(
            user=user, keep_session_key=keep, request=request
        )
        messages.success(request, _("New recovery codes. The old ones no longer work."))
    elif action == "remove" and has_second_factor(user):
        factor_services.remove_second_factor(user=user, keep_session_key=keep, request=request)
        request.session.pop(FACTOR_CHECKED_KEY, None)
        messages.success(request, _("The second factor is off. Other sessions were ended."))
        return redirect("two_factor")
    pending = None if codes is not None else factor_services.pending_totp(user=user)
    context: dict[str, Any] = {
        "enabled": has_second_factor(user),
        "required": second_factor_required(user),
        "codes_left": recovery_codes_left(user),
        "pending": pending,
        # An SVG made by qrcode from the device's own otpauth: address, nothing a user typed.
        "qr": mark_safe(_qr_svg(pending.config_url)) if pending else None,  # noqa: S308
        "codes": codes,
        "error": error,
    }
    return render(request, "registration/two_factor.html", context, status=400 if error else 200)
