"""Your ways in: the browser sessions you are signed in with and your API tokens, each of
which you can end here, and "log out everywhere"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from locker import services
from locker.selectors.accounts import token_of, tokens_of
from locker.selectors.sessions import sessions_of
from locker.services import sessions as session_services
from locker.web.views.common import AuthedRequest, found_or_404


@login_required
def sessions(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "registration/sessions.html",
        {
            "sessions": sessions_of(request.user),
            "current_key": request.session.session_key,
            "tokens": tokens_of(request.user).filter(revoked_at__isnull=True),
        },
    )


@login_required
@require_POST
def session_end(request: AuthedRequest, session_id: int) -> HttpResponse:
    if not session_services.end_session(user=request.user, session_id=session_id):
        found_or_404(None, "session")
    if (
        request.session.session_key
        and not sessions_of(request.user).filter(session_key=request.session.session_key).exists()
    ):
        # The person ended the session they are using: that is a log-out.
        logout(request)
        return redirect("login")
    messages.success(request, _("That session is ended."))
    return redirect("sessions")


@login_required
@require_POST
def token_revoke(request: AuthedRequest, token_id: int) -> HttpResponse:
    token = found_or_404(token_of(request.user, token_id), "token")
    services.revoke_token(token=token)
    messages.success(request, _("That token is revoked."))
    return redirect("sessions")


@login_required
@require_POST
def log_out_everywhere(request: AuthedRequest) -> HttpResponse:
    """Every session, this one too, and every API token."""
    user = request.user
    session_services.end_other_access(user=user, keep_session_key=request.session.session_key)
    logout(request)
    return redirect("login")
