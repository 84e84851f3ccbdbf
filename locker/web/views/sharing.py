"""The owner's sharing pages: who the case is shared with (share, list, end) and who has
seen it (the access log). Only the owner reaches them; everyone else gets a 404."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from locker import services
from locker.infra.http import public_url
from locker.permissions import case_access_or_404
from locker.selectors import access_log as access_log_view
from locker.selectors import access_wording, sharing
from locker.web.forms.sharing import ROLE_HELP, ShareForm
from locker.web.views.common import AuthedRequest, found_or_404


@login_required
def shares(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
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
            if not result.share.email:
                # Said the same whether or not the name has an account (services.share_case).
                messages.success(
                    request,
                    _(
                        "Invitation recorded. If an account has this user name, the share "
                        "waits under “Shared with me” until they accept it."
                    ),
                )
            elif result.email_sent:
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
    return render(
        request,
        "locker/shares.html",
        {
            "case": case,
            "role": role,
            "form": form,
            "rows": sharing.share_rows(case),
            "role_help": ROLE_HELP,
            "nav": "shares",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def share_end(request: AuthedRequest, case_id: UUID, share_id: int) -> HttpResponse:
    case = case_access_or_404(request, case_id, need="write").case
    share = found_or_404(sharing.share_of_case(case, share_id), "share")
    services.end_share(share=share, by=request.user)
    messages.success(request, _("The share has ended. They can no longer open the case."))
    return redirect("shares", case_id=case.pk)


@login_required
def access_log(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    # Paginate the raw rows, then fold bursts within the page. Grouping first would mean
    # reading the whole log to know where page 2 begins; this way a page costs one bounded
    # query and its rows, the page count and the links depend on the log alone. The price: a
    # burst straddling a page boundary shows as one line at the foot of a page and another at
    # the top of the next.
    page = Paginator(sharing.access_log_for(case), access_log_view.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    raw = list(page.object_list)
    names = access_wording.file_names(case, raw)
    rows = access_log_view.log_lines(
        raw,
        action_label=access_wording.action_label,
        describe=lambda detail: access_wording.describe(detail, names),
    )
    return render(
        request,
        "locker/access_log.html",
        {"case": case, "role": role, "page": page, "rows": rows, "nav": "access_log"},
    )
