"""Offline drafts (docs/privacy.md, "Offline drafts"): the service worker script, the log
form shells it keeps for a user who turned drafts on, and a fresh CSRF token for sending the
drafts once the connection returns.

A shell is a log form with nothing of any case in it: no case title, no names, no numbers, no
entries, and no CSRF token (a stale token is useless and still a secret). It is what the
service worker shows when a log form is opened without signal."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from locker.web.forms.entries import QUICK_LOG_FORMS
from locker.web.views.common import AuthedRequest

SERVICE_WORKER = "locker/sw.js"


def _service_worker_strings() -> dict[str, str]:
    # Neutral words only: the page is shown to whoever holds the phone, so it names neither
    # the app nor a case.
    return {
        "lang": translation.get_language() or settings.LANGUAGE_CODE,
        "title": _("No connection"),
        "text": _("This page needs a connection. Try again when you have signal."),
        "again": _("Try again"),
        "exit": _("Quick exit"),
        "exit_url": settings.LOCKER_QUICK_EXIT_URL,
    }


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """static/locker/sw.js, served from the site's root so that it may control every page, after
    one line of settings: the offline page's words in the language asked for (`?lang=`) and
    the quick exit's address. The script itself is a static file like every other."""
    found = finders.find(SERVICE_WORKER)
    if not found:
        raise Http404("No service worker")
    language = request.GET.get("lang", "")
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        strings = _service_worker_strings()
    config = "self.LOCKER_OFFLINE = " + json.dumps(strings, ensure_ascii=False) + ";\n"
    source = Path(str(found)).read_text(encoding="utf-8")
    response = HttpResponse(config + source, content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker at least daily anyway; no-cache makes each check real.
    response["Cache-Control"] = "no-cache"
    return response


_TOKEN_INPUT = re.compile(rb'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


def _shell(request: HttpRequest, template: str, extra: dict[str, object]) -> HttpResponse:
    # Rendering must not use up a message meant for the next real page (messages: none), and
    # the kept page must not hold a token (taken out after rendering).
    response = render(request, template, {"messages": [], "offline_shell": True, **extra})
    response.content = _TOKEN_INPUT.sub(b"", response.content)
    return response


@login_required
@require_GET
def shell_log(request: AuthedRequest) -> HttpResponse:
    """The four quick-log buttons, with links relative to the case's log page they stand in
    for (the worker shows this at /cases/<id>/log/)."""
    return _shell(request, "locker/offline_log.html", {})


@login_required
@require_GET
def shell_form(request: AuthedRequest, form_name: str) -> HttpResponse:
    """One log form, empty, for the worker to show at /cases/<id>/log/<form_name>/."""
    form_class = QUICK_LOG_FORMS.get(form_name)
    if form_class is None:
        raise Http404("No such form")
    # The page's script gives each opening its own submission id and the time it is opened.
    form = form_class(initial={"submission": "", "occurred_at": ""})
    return _shell(request, "locker/log_form.html", {"form": form, "name": form_name})


@login_required
@require_GET
def token(request: AuthedRequest) -> JsonResponse:
    """A CSRF token for the page sending drafts: the one in a page opened offline is stale."""
    return JsonResponse({"csrf_token": get_token(request)})
