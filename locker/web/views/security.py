"""The account's security log page: the signed-in person's own events, newest first."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from locker.selectors.security import PAGE_SIZE, security_events_of
from locker.web.views.common import AuthedRequest


@login_required
@require_GET
def security_events(request: AuthedRequest) -> HttpResponse:
    # Only ever the requester's own account: the page takes no account id to tamper with.
    page = Paginator(security_events_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    # No cache keeps it: the safety middleware marks every signed-in page no-store.
    return render(request, "registration/security_events.html", {"page": page})
