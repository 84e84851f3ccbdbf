"""Sign-up, preferences, the quick exit and its lock, and the language switch. Log-in, log-out
and password change/reset are django.contrib.auth's views with our templates."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView, LogoutView, PasswordResetView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from locker import services
from locker.infra import login_throttle, ratelimit
from locker.infra.http import public_url
from locker.selectors.looks import look_of_profile
from locker.selectors.second_factor import has_second_factor
from locker.selectors.sessions import active_user
from locker.services import reauth as reauth_services
from locker.services.looks import set_look
from locker.web.forms.accounts import (
    EmailForm,
    PreferencesForm,
    SignupForm,
    UnlockForm,
    time_zone_choices,
)
from locker.web.forms.looks import LookForm
from locker.web.looks import device_look, look_for, manifest_of, remember_on_device
from locker.web.middleware.safety import LOCK_KEY, default_time_zone, user_profile
from locker.web.reauth import reauth_required
from locker.web.views.common import AuthedRequest, wants_json


def too_many(request: HttpRequest, retry_after_s: int | None = None) -> HttpResponse:
    minutes = math.ceil(retry_after_s / 60) if retry_after_s else None
    response = render(request, "locker/too_many.html", {"minutes": minutes}, status=429)
    if retry_after_s:
        response["Retry-After"] = str(retry_after_s)
    return response


# Who passed the password and now owes a code: {"user", "backend", "at", "next"}.
PENDING_KEY = "locker_pending_second_factor"
# How long the code may take after the password.
PENDING_S = 300


def ask_for_code(request: HttpRequest, user: Any, next_url: str) -> HttpResponse:
    """Called by the log-in page once the password was right: the person is not signed in
    until they give a code."""
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "at": time.time(),
        "next": next_url,
    }
    return redirect("login_second_factor")


def pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    """The account that passed the password in this session and owes a second factor, with
    what ask_for_code noted; None (and the note dropped) once it is stale or gone."""
    pending = request.session.get(PENDING_KEY)
    fresh = isinstance(pending, dict) and time.time() - float(pending.get("at", 0)) <= PENDING_S
    user = active_user(pending.get("user")) if fresh and isinstance(pending, dict) else None
    if user is None or not isinstance(pending, dict):
        request.session.pop(PENDING_KEY, None)
        return None
    return user, pending


class RateLimitedLoginView(LoginView):
    """Django's log-in; the limits on guessing are in the authentication backend
    (locker/infra/login_throttle.py), which every log-in path goes through. An account with a
    second factor is signed in only once it gives a code (views/second_factor.py)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if has_second_factor(user):
            return ask_for_code(self.request, user, self.get_success_url())
        return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        refused = login_throttle.refusal_of(self.request)
        if refused is not None:
            return too_many(self.request, refused.retry_after_s)
        return super().form_invalid(form)


# Asks the browser to delete what this site stored in it: offline drafts, their key and the kept
# log forms (IndexedDB, CacheStorage, the service worker). The page's script deletes them too
# (static/locker/offline.js); this also covers a page whose script did not run.
CLEAR_SITE_STORAGE = '"storage"'


class ClearingLogoutView(LogoutView):
    """Django's log-out, which also clears this site's storage in the browser."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_STORAGE
        return response


class RateLimitedPasswordResetView(PasswordResetView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not ratelimit.hit("reset", ratelimit.client_ip(request), limit=5, window_s=3600):
            return too_many(request)
        return super().post(request, *args, **kwargs)


def safe_next(request: HttpRequest) -> str:
    """The `next` the request carries, if it stays on this site; else empty. An open redirect
    after sign-up would let a crafted link send a new user anywhere."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def signup(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "case_list")
    language = get_language()
    if request.method == "POST":
        if not ratelimit.hit("signup", ratelimit.client_ip(request), limit=10, window_s=3600):
            return too_many(request)
        form = SignupForm(request.POST)
        if form.is_valid():
            user = form.save()
            services.set_preferences(
                user=user, time_zone=form.cleaned_data["time_zone"], language=language
            )
            profile = set_look(user=user, look=form.cleaned_data["look"])
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            if form.cleaned_data["email"]:
                _send_confirmation(request, user, form.cleaned_data["email"])
            response = redirect(next_url or "case_create")
            remember_on_device(response, look_of_profile(profile))
            return response
    else:
        form = SignupForm(initial={"time_zone": default_time_zone(language)})
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


def _send_confirmation(request: HttpRequest, user: User, email: str) -> None:
    # The same words whatever the address, so that they say nothing about other accounts.
    if services.request_email_confirmation(user=user, email=email, site_url=public_url(request)):
        messages.info(
            request,
            _("We mailed a link to %(email)s. Open it while signed in to confirm the address.")
            % {"email": email},
        )
    else:
        messages.warning(request, _("The confirmation mail could not be sent. Try again later."))


@login_required
@require_POST
@reauth_required(back_to="preferences")
def email_change(request: AuthedRequest) -> HttpResponse:
    if not ratelimit.hit("email-change", str(request.user.pk), limit=5, window_s=3600):
        return too_many(request)
    form = EmailForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("email", []):
            messages.error(request, str(error))
        return redirect("preferences")
    email = form.cleaned_data["email"]
    if not email:
        services.remove_email(user=request.user, request=request)
        messages.success(request, _("Your email address is removed."))
    elif email.lower() == request.user.email.lower():
        messages.info(request, _("This is already your address."))
    else:
        try:
            _send_confirmation(request, request.user, email)
        except services.InputError as exc:
            messages.error(request, str(exc))
    return redirect("preferences")


CONFIRMATION_SESSION_KEY = "pending_email_confirmation"


def email_confirm_open(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed link: the token moves into the session and the page reloads at a clean
    address, so the token stays out of the history, the log-in page's `next` and any Referer."""
    request.session[CONFIRMATION_SESSION_KEY] = token
    response = redirect("email_confirm")
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
def email_confirm(request: AuthedRequest) -> HttpResponse:
    """A GET only shows a button: mail scanners open links, and must not confirm anything."""
    token = request.session.get(CONFIRMATION_SESSION_KEY) or ""
    error = "" if token else _("this confirmation link is not valid or has expired")
    if request.method == "POST" and token:
        try:
            email = services.confirm_email(user=request.user, token=token, request=request)
        except services.InputError as exc:
            error = str(exc)
        else:
            request.session.pop(CONFIRMATION_SESSION_KEY, None)
            messages.success(request, _("%(email)s is now your address.") % {"email": email})
            return redirect("preferences")
    return render(
        request, "registration/email_confirm.html", {"error": error}, status=400 if error else 200
    )


@login_required
def preferences(request: AuthedRequest) -> HttpResponse:
    profile = user_profile(request)
    current = profile.time_zone if profile else default_time_zone(get_language())
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.set_preferences(
                user=request.user,
                time_zone=form.cleaned_data["time_zone"],
                language=form.cleaned_data["language"],
                mail_daily_receipt=form.cleaned_data["mail_daily_receipt"],
                mail_case_titles=form.cleaned_data["mail_case_titles"],
                offline_drafts=form.cleaned_data["offline_drafts"],
            )
            response = redirect("preferences")
            if form.cleaned_data["language"]:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    form.cleaned_data["language"],
                    samesite="Lax",
                    httponly=True,
                )
            messages.success(request, _("Saved."))
            return response
    else:
        form = PreferencesForm(
            initial={
                "time_zone": current,
                "language": profile.language if profile else "",
                "mail_daily_receipt": profile.mail_daily_receipt if profile else False,
                "mail_case_titles": profile.mail_case_titles if profile else False,
                "offline_drafts": profile.offline_drafts if profile else False,
            }
        )
    form.fields["time_zone"].widget.choices = time_zone_choices(current)
    shown = look_of_profile(profile)
    look_form = LookForm(initial={"look": shown.look.id, "look_name": shown.own_name})
    return render(
        request,
        "registration/preferences.html",
        {
            "form": form,
            "email_form": EmailForm(initial={"email": request.user.email}),
            "look_form": look_form,
        },
    )


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie), remembered in the profile too when signed in."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.set_preferences(user=request.user, language=language)
    return response


def _posted_from_our_page(request: HttpRequest) -> bool:
    """Whether a POST passes Django's CSRF check (its token, and its Origin or Referer): the
    same test every other form gets, asked here rather than enforced, so that a failing check
    still leaves the site."""
    if request.method != "POST":
        return False
    refused = CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(
        request, _csrf_checked_view, (), {}
    )
    return refused is None


def _csrf_checked_view(request: HttpRequest) -> HttpResponse:
    raise AssertionError("only named to CsrfViewMiddleware, never called")


@csrf_exempt
def quick_exit(request: HttpRequest) -> HttpResponse:
    """Leave for a neutral site, at once and whatever happens. A POST from our own page (the
    quick-exit form, or its script) also locks the session, so going back finds the lock; a
    GET never does, or any other site's link or image could lock a user out of their case.
    The script posts the form and then opens this address with location.replace, so the case
    page leaves the history."""
    ours = _posted_from_our_page(request)
    if request.user.is_authenticated and ours:
        request.session[LOCK_KEY] = True
    response = HttpResponseRedirect(settings.LOCKER_QUICK_EXIT_URL)
    response["Referrer-Policy"] = "no-referrer"
    if ours:
        # Only our own page's post: another site's must not delete a borrower's drafts.
        response["Clear-Site-Data"] = CLEAR_SITE_STORAGE
    return response


def unlock(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    target = request.POST.get("next") or request.GET.get("next") or reverse("case_list")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("case_list")
    if request.method == "POST" and wants_json(request):
        return _unlock_cover(request)
    if not request.session.get(LOCK_KEY):
        return redirect(target)
    if request.method == "POST":
        if not ratelimit.hit("unlock", str(request.user.pk), limit=10, window_s=600):
            return too_many(request)
        form = UnlockForm(request.POST)
        if form.is_valid() and request.user.check_password(form.cleaned_data["password"]):
            request.session[LOCK_KEY] = False
            # The password alone unlocks; a sensitive change needs the whole step again.
            reauth_services.forget_confirmation(session_key=request.session.session_key)
            return redirect(target)
        if form.is_valid():
            form.add_error("password", _("That is not your password."))
    else:
        form = UnlockForm()
    return render(request, "registration/unlock.html", {"form": form, "next": target})


def _unlock_cover(request: HttpRequest) -> JsonResponse:
    """The screen lock's cover (static/locker/screen-lock.js) asks here, and lifts only on
    {"unlocked": true}. The password is checked even if the session is not locked (the
    script's lock request may have been lost), so the cover never lifts without it."""
    if not ratelimit.hit("unlock", str(request.user.pk), limit=10, window_s=600):
        return JsonResponse({"error": _("Too many tries. Wait a few minutes.")}, status=429)
    form = UnlockForm(request.POST)
    if not (form.is_valid() and request.user.check_password(form.cleaned_data["password"])):
        return JsonResponse({"error": _("That is not your password.")}, status=400)
    if request.session.get(LOCK_KEY):
        request.session[LOCK_KEY] = False
        reauth_services.forget_confirmation(session_key=request.session.session_key)
    return JsonResponse({"unlocked": True})


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("case_list")
    # The front page says what this site is for: a device that chose a discreet look goes
    # to the plain log-in form instead.
    if device_look(request).discreet:
        return redirect("login")
    return render(request, "locker/home.html")


def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest, so the app can be added to a phone's home screen: named and
    drawn as this account (or, signed out, this device) chose (locker/web/looks.py), never
    after a case. Never stored: the installed app's name follows a change of look."""
    response = JsonResponse(
        manifest_of(look_for(request)), json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Type"] = "application/manifest+json"
    add_never_cache_headers(response)
    return response
