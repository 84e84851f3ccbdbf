"""Contact statement links. The owner makes one (shown once, with a QR code); the contact
opens it without an account: the token is swapped for a session and the page reloads at a
clean URL, they read what it is for, and they file one statement. Nothing of the case is
ever shown to them."""

from __future__ import annotations

from uuid import UUID

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from locker import services
from locker.infra import ratelimit
from locker.permissions import case_access_or_404
from locker.selectors import contact_links
from locker.web.forms.contact_links import ContactLinkForm, StatementForm, statement_zone
from locker.web.views.common import (
    AuthedRequest,
    Submission,
    form_error_response,
    found_or_404,
    private_response,
    saved_response,
    still_saving_response,
    wants_json,
)

SESSION_KEY = "contact_link"
FRESH_KEY = "contact_link_fresh"


@login_required
def links(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    form = ContactLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        link, raw = services.create_contact_link(
            case=case,
            user=request.user,
            label=form.cleaned_data["label"],
            days=form.cleaned_data["days"],
        )
        # Shown once on the next page, then gone: only its hash is stored.
        request.session[FRESH_KEY] = {"id": link.pk, "token": raw}
        return redirect("link_detail", case_id=case.pk, link_id=link.pk)
    return render(
        request,
        "locker/links.html",
        {"case": case, "role": role, "form": form, "rows": contact_links.links_of(case)},
    )


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


@login_required
def link_detail(request: AuthedRequest, case_id: UUID, link_id: int) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    link = found_or_404(contact_links.link_of(case, link_id), "link")
    fresh = request.session.get(FRESH_KEY)
    url = qr = None
    if isinstance(fresh, dict) and fresh.get("id") == link.pk:
        del request.session[FRESH_KEY]
        url = request.build_absolute_uri(reverse("statement_open", args=[fresh["token"]]))
        qr = mark_safe(_qr_svg(url))  # noqa: S308 - SVG made by qrcode from our own URL
    return render(
        request,
        "locker/link_detail.html",
        {"case": case, "role": role, "link": link, "state": link.state(), "url": url, "qr": qr},
    )


@login_required
@require_POST
def link_revoke(request: AuthedRequest, case_id: UUID, link_id: int) -> HttpResponse:
    case = case_access_or_404(request, case_id, need="write").case
    link = found_or_404(contact_links.link_of(case, link_id), "link")
    services.revoke_contact_link(link=link)
    messages.success(request, _("The link no longer works."))
    return redirect("links", case_id=case.pk)


def _unavailable(request: HttpRequest) -> HttpResponse:
    return render(request, "locker/statement_unavailable.html", status=410)


def statement_open(request: HttpRequest, token: str) -> HttpResponse:
    """First visit: trade the token for a session, then reload at a clean URL so the token
    stays out of the address bar, the history and any Referer."""
    if not ratelimit.hit("link-open", ratelimit.client_ip(request), limit=20, window_s=600):
        return private_response(render(request, "locker/too_many.html", status=429))
    try:
        link = services.open_contact_link(raw=token)
    except services.LinkUnavailable:
        return private_response(_unavailable(request))
    request.session.cycle_key()
    request.session[SESSION_KEY] = link.pk
    return private_response(redirect("statement"), "no-referrer")


def statement(request: HttpRequest) -> HttpResponse:
    link_id = request.session.get(SESSION_KEY)
    try:
        link = services.open_contact_link(link_id=int(link_id)) if link_id else None
    except (services.LinkUnavailable, TypeError, ValueError):
        link = None
    if link is None:
        return private_response(_unavailable(request))
    # Times typed by the contact are read in the contact's own zone, which the page states;
    # the borrower's would tell the contact where the borrower lives.
    timezone.activate(statement_zone(request.POST.get("time_zone")))
    if request.method != "POST":
        return private_response(render(request, "locker/statement.html", {"form": StatementForm()}))
    if not ratelimit.hit("link-post", ratelimit.client_ip(request), limit=10, window_s=600):
        return private_response(render(request, "locker/too_many.html", status=429))
    form = StatementForm(request.POST, request.FILES)
    if form.is_valid():
        submission = Submission(f"link:{link.pk}", form.cleaned_data.get("submission"))
        if url := submission.done_url():
            return private_response(saved_response(request, url))
        if not submission.claim():
            return private_response(still_saving_response(request))
        try:
            services.submit_contact_report(
                link=link,
                body=form.body(),
                occurred_at=form.cleaned_data["occurred_at"],
                uploads=form.uploads(),
            )
        except services.LinkUnavailable:
            submission.release()
            return private_response(_unavailable(request))
        except services.InputError as exc:
            submission.release()
            form.add_error(None, str(exc))
        else:
            request.session.pop(SESSION_KEY, None)
            url = reverse("statement_done")
            submission.finish(url)
            return private_response(saved_response(request, url))
    if wants_json(request):
        return private_response(form_error_response(form))
    return private_response(render(request, "locker/statement.html", {"form": form}, status=400))


def statement_done(request: HttpRequest) -> HttpResponse:
    return private_response(render(request, "locker/statement_done.html"))
