"""The emailed invitation link: its token is swapped into the session at once and the page
reloads at a clean URL (as contact links do), so the token stays out of the address bar, the
history and any Referer. Visitors without an account sign up (or log in) and come back here;
signed-in users confirm, and the share becomes theirs."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from locker import services
from locker.infra import ratelimit
from locker.selectors import sharing
from locker.web.views.common import private_response

SESSION_KEY = "invitation_token"


def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    if not ratelimit.hit("invite-open", ratelimit.client_ip(request), limit=20, window_s=600):
        return private_response(render(request, "locker/too_many.html", status=429))
    request.session[SESSION_KEY] = token
    return private_response(redirect("invitation"), "no-referrer")


def _unavailable(request: HttpRequest) -> HttpResponse:
    return private_response(render(request, "locker/invitation_unavailable.html", status=410))


def invitation(request: HttpRequest) -> HttpResponse:
    token = request.session.get(SESSION_KEY) or ""
    invite = sharing.open_invitation(token)
    if invite is None:
        request.session.pop(SESSION_KEY, None)
        return _unavailable(request)
    share = invite.share
    context = {
        "sharer": sharing.display_name(share.invited_by),
        "role": share.get_role_display(),
        "expires_at": invite.expires_at,
    }
    if not request.user.is_authenticated:
        query = urlencode({"next": reverse("invitation")})
        context.update(
            signup_url=f"{reverse('signup')}?{query}", login_url=f"{reverse('login')}?{query}"
        )
        return private_response(render(request, "locker/invitation.html", context))
    error = ""
    if request.method == "POST":
        if "decline" in request.POST:
            request.session.pop(SESSION_KEY, None)
            return private_response(redirect("shared"))
        try:
            accepted = services.accept_invitation(token=token, user=request.user)
        except services.InputError as exc:
            error = str(exc)
        else:
            request.session.pop(SESSION_KEY, None)
            return private_response(redirect("review", case_id=accepted.case_id))
    context["error"] = error
    return private_response(
        render(request, "locker/invitation.html", context, status=400 if error else 200)
    )
