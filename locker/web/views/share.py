"""Share into the locker (docs/capture.md, "Share into the locker"): the Web Share Target.

The phone's share sheet posts what was shared (a screenshot, an SMS's text) to /share/ as a
multipart form, without a CSRF token: no other app can hold one. The service worker
(static/locker/sw.js) takes that post before it reaches the network, keeps the items in this
browser's CacheStorage under a random id, and sends the browser on to GET /share/?held=<id>.
This page then shows the quick-log message form, and static/locker/share.js puts the kept
text and files into it (and deletes the kept copy). Nothing is recorded until the user
presses Save, and Save is the ordinary log form's post, CSRF-checked like every other.

A POST that reaches the server means the worker was not there (the first visit, an old
browser). That post is answered with a page that says to open the app once and share again,
and nothing of it is kept or read: see `share_post`."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from locker.permissions import case_access_or_404
from locker.selectors.cases import owned_cases
from locker.web.forms.entries import MessageForm

# The id the worker gives a kept share: random hex; anything else is ignored.
HELD_ID = re.compile(r"[0-9a-f]{32}")
# The chunk in which a post that reached the server is read and thrown away.
DISCARD_CHUNK = 64 * 1024


def _held(request: HttpRequest) -> str:
    held = request.GET.get("held", "")
    return held if HELD_ID.fullmatch(held) else ""


def _share_url(held: str, case: object | None = None) -> str:
    query = {"held": held}
    if case is not None:
        query["case"] = str(case)
    return f"{reverse('share')}?{urlencode(query)}"


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def share(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return share_post(request)
    return share_page(request)


def share_post(request: HttpRequest) -> HttpResponse:
    """What the share sheet posted reached the server: the worker is not installed yet. The
    answer is a page saying so. The body is read only to be thrown away (so the connection
    stays usable), never parsed, stored or logged; the session is not touched. That is why
    this one view may go without the CSRF check: a post from anywhere changes nothing."""
    while request.read(DISCARD_CHUNK):
        pass
    return render(request, "locker/share.html", {"step": "no_worker"})


def share_page(request: HttpRequest) -> HttpResponse:
    """The page the worker sends a share to. Signed out: log in first (the items wait in this
    browser). Several cases: choose one. One case: straight to its message form."""
    held = _held(request)
    if not request.user.is_authenticated:
        return render(
            request,
            "locker/share.html",
            {
                "step": "signed_out",
                "held": held,
                "login_url": redirect_to_login(_share_url(held) if held else reverse("share")).url,
            },
        )
    if not held:
        return render(request, "locker/share.html", {"step": "nothing"})
    if chosen := request.GET.get("case"):
        case, role = case_access_or_404(request, chosen, need="write")
        form = MessageForm(initial={"channel": "sms"})
        return render(
            request,
            "locker/log_form.html",
            {
                "case": case,
                "role": role,
                "form": form,
                "name": "message",
                "form_action": reverse("log_entry", args=[case.pk, "message"]),
                "share_held": held,
            },
        )
    cases = list(owned_cases(request.user))
    if len(cases) == 1:
        return redirect(_share_url(held, cases[0].pk))
    if not cases:
        return render(request, "locker/share.html", {"step": "no_case", "held": held})
    choices = [(case, _share_url(held, case.pk)) for case in cases]
    return render(
        request, "locker/share.html", {"step": "choose", "held": held, "choices": choices}
    )
