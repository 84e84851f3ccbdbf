"""The "confirm it's you" page (locker/services/reauth.py): it asks for the password, and the
second factor's code when the account has one, then sends the person back to the sensitive
page that sent them (locker/web/reauth.py, `reauth_required`). Django's password change is
here too, behind the step."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from locker.selectors.second_factor import has_second_factor, passkeys_of
from locker.services import reauth as reauth_services
from locker.web.forms.accounts import ReauthForm
from locker.web.reauth import reauth_required
from locker.web.views import passkeys as passkey_views
from locker.web.views.accounts import safe_next, too_many
from locker.web.views.common import AuthedRequest


@login_required
def reauth(request: AuthedRequest) -> HttpResponse:
    user = request.user
    target = safe_next(request) or reverse("preferences")
    needs_code = has_second_factor(user)
    has_passkeys = passkeys_of(user).exists()
    passkey_error = ""
    if request.method == "POST":
        # The passkey form carries the password and an assertion instead of a code.
        with_passkey = has_passkeys and bool(request.POST.get("credential"))
        form = ReauthForm(request.POST, needs_code=needs_code and not with_passkey)
        assertion = passkey_views.reauth_assertion(request) if with_passkey else None
        if with_passkey and assertion is None:
            passkey_error = _("That took too long, or the page was old. Try again.")
        elif form.is_valid():
            outcome = reauth_services.confirm_with_password(
                user=user,
                session_key=request.session.session_key,
                password=form.cleaned_data["password"],
                code=form.cleaned_data.get("code", ""),
                assertion=assertion,
                request=request,
            )
            if outcome.retry_after_s:
                return too_many(request, outcome.retry_after_s)
            if outcome.confirmed:
                return redirect(target)
            if outcome.wrong == "password":
                form.add_error("password", _("That is not your password."))
            elif outcome.wrong == "passkey":
                passkey_error = outcome.passkey_problem
            elif outcome.wrong == "code":
                form.add_error(
                    "code", _("That code is not right. Try the newest one, or a recovery code.")
                )
            else:
                # The session was ended from elsewhere while this page was open.
                logout(request)
                return redirect("login")
    else:
        form = ReauthForm(needs_code=needs_code)
    context = {
        "form": form,
        "next": target,
        "minutes": max(1, round(settings.LOCKER_REAUTH_S / 60)),
        "has_passkeys": has_passkeys,
        "passkey_error": passkey_error,
    }
    failed = bool(form.errors or passkey_error)
    return render(request, "registration/reauth.html", context, status=400 if failed else 200)


# Django's password change behind the step, which has just checked the password (through the
# log-in limits, and the code with it), so the form asks for the new password only.
password_change = login_required(
    reauth_required(PasswordChangeView.as_view(form_class=SetPasswordForm))
)
