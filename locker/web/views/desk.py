"""The lawyer's desk: every case shared with me, shares waiting for my answer, leaving a share,
and my professional profile (how clients see me)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from locker import services
from locker.core import labels
from locker.infra.http import client_ip
from locker.models import Share
from locker.selectors import desk, sharing
from locker.web.forms.sharing import ProfessionalProfileForm
from locker.web.views.common import AuthedRequest, found_or_404


@login_required
def shared(request: AuthedRequest) -> HttpResponse:
    rows = sharing.dashboard_rows(request.user)
    # The list shows each case's client, lender and activity: that is an access too, as it
    # is through the API.
    services.record_listing(
        case_ids=[row.case_id for row in rows],
        user=request.user,
        detail=f"GET {request.path}",
        via="web",
        ip=client_ip(request),
    )
    kinds = [
        [(labels.KIND_LABELS.get(kind, kind), n) for kind, n in row.counts_by_kind.items()]
        for row in rows
    ]
    return render(
        request,
        "locker/shared.html",
        {
            "rows": list(zip(rows, kinds, strict=True)),
            "pending": [
                (share, sharing.display_name(share.invited_by))
                for share in sharing.pending_shares_for(request.user)
            ],
            "profile": desk.professional_profile_of(request.user),
        },
    )


def _my_share(request: AuthedRequest, share_id: int) -> Share:
    """A share addressed to the signed-in user; anyone else's is a 404."""
    return found_or_404(desk.share_addressed_to(request.user, share_id), "share")


@login_required
@require_POST
def share_accept(request: AuthedRequest, share_id: int) -> HttpResponse:
    share = _my_share(request, share_id)
    try:
        services.accept_share(share=share, user=request.user)
    except services.InputError as exc:
        messages.error(request, str(exc))
        return redirect("shared")
    return redirect("review", case_id=share.case_id)


@login_required
@require_POST
def share_leave(request: AuthedRequest, share_id: int) -> HttpResponse:
    """Decline a share not yet accepted, or leave one: either way it ends."""
    share = _my_share(request, share_id)
    was_accepted = share.accepted_at is not None
    services.end_share(share=share, by=request.user)
    messages.success(
        request,
        _("You left the case. The client can share it again.")
        if was_accepted
        else _("You declined the share."),
    )
    return redirect("shared")


@login_required
def professional_profile(request: AuthedRequest) -> HttpResponse:
    profile = desk.professional_profile_of(request.user)
    initial = (
        {
            "name": profile.name,
            "organisation": profile.organisation,
            "jurisdiction": profile.jurisdiction,
        }
        if profile
        else {}
    )
    form = ProfessionalProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.upsert_profile(user=request.user, **form.cleaned_data)
        except services.InputError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Saved. Clients now see you as shown below."))
            return redirect("professional_profile")
    return render(
        request,
        "locker/professional_profile.html",
        {"form": form, "shown_as": sharing.display_name(request.user)},
        status=400 if request.method == "POST" else 200,
    )
