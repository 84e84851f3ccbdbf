"""The look (what the app is called on this screen, locker/web/looks.py) and the screen lock
(static/locker/screen-lock.js): choosing a look in Settings, and the lock a page asks for
when it is seen again after being hidden too long."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from locker.selectors.looks import look_of_profile
from locker.services import InputError
from locker.services.looks import set_look
from locker.web.forms.looks import LookForm
from locker.web.looks import remember_on_device
from locker.web.middleware.safety import LOCK_KEY
from locker.web.views.common import AuthedRequest


@login_required
@require_POST
def look_change(request: AuthedRequest) -> HttpResponse:
    form = LookForm(request.POST)
    response = redirect("preferences")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return response
    try:
        profile = set_look(
            user=request.user,
            look=form.cleaned_data["look"],
            own_name=form.cleaned_data["look_name"],
        )
    except InputError as exc:
        messages.error(request, str(exc))
        return response
    remember_on_device(response, look_of_profile(profile))
    messages.success(
        request,
        _("Saved. An app on your home screen takes the new name when your phone next checks it."),
    )
    return response


@login_required
@require_POST
def screen_lock(request: AuthedRequest) -> HttpResponse:
    """Lock this session as the quick exit does: every page asks for the password
    (/accounts/unlock/) until it is given. The script posts here when a page is seen again
    after LOCKER_SCREEN_LOCK_S hidden, so that the cover it draws is a real lock. CSRF-checked
    as every form: another site cannot lock a borrower out."""
    request.session[LOCK_KEY] = True
    return HttpResponse(status=204)
