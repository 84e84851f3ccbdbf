"""The owner's sharing pages: who the case is shared with (share, list, end) and who has
seen it (the access log). Only the owner reaches them; everyone else gets a 404."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .. import services, sharing
from ..access import public_url
from ..models import EvidenceFile, Share
from ..sharing_forms import ROLE_HELP, ShareForm
from .common import AuthedRequest, case_for

LOG_PAGE_SIZE = 50

ACTION_LABELS: dict[str, Promise] = {
    "view": gettext_lazy("looked at"),
    "list": gettext_lazy("saw it listed"),
    "view_file": gettext_lazy("looked at a picture of a file"),
    "download": gettext_lazy("downloaded an original file"),
    "export": gettext_lazy("exported"),
    "annotate": gettext_lazy("wrote a private note"),
    "verify": gettext_lazy("checked the record"),
    "dossier": gettext_lazy("made a report"),
}


# What a logged request path was, in words: (pattern after /cases/<id>/, label).
PAGE_LABELS: list[tuple[re.Pattern[str], Promise]] = [
    (re.compile(r"^$"), gettext_lazy("the case overview")),
    (re.compile(r"^review/(?: entry (?P<seq>\d+))?$"), gettext_lazy("the review page")),
    (re.compile(r"^timeline/$"), gettext_lazy("the timeline")),
    (re.compile(r"^entries/(?P<seq>\d+)/$"), gettext_lazy("an entry's page")),
    (re.compile(r"^entries/(?P<seq>\d+)/receipt(?:/|\.json)$"), gettext_lazy("a receipt")),
]
DETAIL_LABELS: dict[str, Promise] = {
    "bundle": gettext_lazy("the evidence bundle (ZIP)"),
    "notes.csv": gettext_lazy("their notes (CSV)"),
    "notes.json": gettext_lazy("their notes (JSON)"),
    "case": gettext_lazy("the whole case"),
}
CASE_PATH = re.compile(r"^(?P<method>[A-Z]+) /(?P<api>api/)?cases/[0-9a-f-]{36}/(?P<rest>.*)$")
LISTING = re.compile(r"^GET /(?:api/)?shared(?:/|-cases)$")
ENTRY_DETAIL = re.compile(r"^entry (?P<seq>\d+)$")


def describe(detail: str, file_names: dict[str, str]) -> str:
    """A log row's detail as the owner can read it: the file's name, the page, the entry."""
    if detail in file_names:
        return file_names[detail]
    if detail in DETAIL_LABELS:
        return str(DETAIL_LABELS[detail])
    if match := ENTRY_DETAIL.match(detail):
        return _("entry %(seq)s") % {"seq": match["seq"]}
    if LISTING.match(detail):
        return str(_("the list of cases shared with them"))
    match = CASE_PATH.match(detail)
    if match is None:
        return detail
    if match["api"]:
        return _("through the API: %(path)s") % {"path": match["rest"] or "/"}
    for pattern, label in PAGE_LABELS:
        page = pattern.match(match["rest"])
        if page is not None:
            seq = page.groupdict().get("seq")
            return f"{label} · {_('entry %(seq)s') % {'seq': seq}}" if seq else str(label)
    return detail


@login_required
def shares(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case = case_for(request, case_id, write=True)
    form = ShareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.share_case(
                case=case,
                by=request.user,
                grantee=form.cleaned_data["grantee"],
                role=form.cleaned_data["role"],
                site_url=public_url(request),
            )
        except services.InputError as exc:
            form.add_error("grantee", str(exc))
        else:
            if result.email_sent:
                messages.success(
                    request,
                    _("Shared. We sent them an email; they must accept before they see it."),
                )
            else:
                messages.warning(
                    request,
                    _(
                        "Shared, but no email could be sent. Ask them to sign in and open "
                        "“Shared with me” to accept. If they have no account yet, end this "
                        "share and try again later."
                    ),
                )
            return redirect("shares", case_id=case.pk)
    rows = [
        {"share": share, "label": sharing.grantee_label(share), "status": share.status}
        for share in case.shares.select_related("user", "ended_by").order_by("-created_at")
    ]
    return render(
        request,
        "locker/shares.html",
        {"case": case, "form": form, "rows": rows, "role_help": ROLE_HELP, "nav": "shares"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def share_end(request: AuthedRequest, case_id: UUID, share_id: int) -> HttpResponse:
    case = case_for(request, case_id, write=True)
    share = get_object_or_404(Share, case=case, pk=share_id)
    services.end_share(share=share, by=request.user)
    messages.success(request, _("The share has ended. They can no longer open the case."))
    return redirect("shares", case_id=case.pk)


FILE_ACTIONS = ("download", "view_file")


def _file_names(case: Any, rows: list[Any]) -> dict[str, str]:
    """Original file names for the hashes the log's download rows name."""
    hashes = {row.detail for row in rows if row.action in FILE_ACTIONS and len(row.detail) == 64}
    if not hashes:
        return {}
    return dict(
        EvidenceFile.objects.filter(case=case, sha256__in=hashes).values_list(
            "sha256", "original_name"
        )
    )


@login_required
def access_log(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    from ..access_log_view import PAGE_SIZE, log_lines

    case = case_for(request, case_id, write=True)
    # Paginate the raw rows, then fold bursts within the page. Grouping first would mean
    # reading the whole log to know where page 2 begins; this way a page costs one bounded
    # query and its rows, the page count and the links depend on the log alone. The price: a
    # burst straddling a page boundary shows as one line at the foot of a page and another at
    # the top of the next.
    page = Paginator(sharing.access_log_for(case), PAGE_SIZE).get_page(request.GET.get("page"))
    raw = list(page.object_list)
    names = _file_names(case, raw)
    rows = log_lines(
        raw,
        action_label=lambda action: str(ACTION_LABELS.get(action, action)),
        describe=lambda detail: describe(detail, names),
    )
    return render(
        request,
        "locker/access_log.html",
        {"case": case, "page": page, "rows": rows, "nav": "access_log"},
    )
