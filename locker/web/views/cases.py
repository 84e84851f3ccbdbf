"""My cases: the list, creating one, editing its facts (a case_update entry), and the case
page with its badge and pictures."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from locker import services
from locker.core import charts, stats
from locker.models import Case
from locker.permissions import case_access_or_404
from locker.selectors import cases as case_selectors
from locker.selectors import chain as stored_chain
from locker.selectors import sharing
from locker.selectors.anchors import anchor_status, with_newest_anchor
from locker.selectors.case_conduct import conduct_panel
from locker.services import case_stats
from locker.web.forms.cases import CaseForm
from locker.web.forms.receipts import KeptReceiptForm
from locker.web.templatetags.sharing_tags import remember_has_shares
from locker.web.views.common import AuthedRequest


def _author(request: HttpRequest) -> str:
    return f"user:{request.user.pk}"


@login_required
def case_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request, "locker/case_list.html", {"cases": case_selectors.owned_cases(request.user)}
    )


@login_required
def case_create(request: AuthedRequest) -> HttpResponse:
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.create_case(owner=request.user, author=_author(request), **form.facts())
        except services.InputError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("case_detail", case_id=case.pk)
    return render(request, "locker/case_form.html", {"form": form, "case": None})


@login_required
def case_edit(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    form = CaseForm.for_case(case, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.update_case_facts(
                case=case, author=_author(request), changes=form.facts()
            )
        except services.InputError as exc:
            form.add_error(None, str(exc))
        else:
            if result is None:
                messages.info(request, _("Nothing changed."))
                return redirect("case_detail", case_id=case.pk)
            return redirect("receipt", case_id=case.pk, seq=result.entry.seq)
    return render(request, "locker/case_form.html", {"form": form, "case": case, "role": role})


@login_required
def case_detail(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    # The chain's head, the figures row, the conduct panel's row, the kept receipts'
    # count, the newest third-party time and whether the viewer has shares are read with
    # the case, in one statement.
    cases = stored_chain.with_chain_head(Case.objects.select_related("stats", "conduct"))
    cases = with_newest_anchor(case_selectors.with_kept_count(cases))
    case, role = case_access_or_404(
        request, case_id, cases=sharing.with_viewer_has_shares(cases, request.user)
    )
    remember_has_shares(request, case.viewer_has_shares)  # type: ignore[attr-defined]
    head = stored_chain.chain_head(case)
    tz = timezone.get_current_timezone()
    summary = case_stats.current_summary(case=case, tz=tz, head=head, inline=False)
    # None: a long case's figures row is being rebuilt by the worker; the page says so and
    # shows the rest (the empty summary below is never shown as figures).
    figures_pending = summary is None
    overview = case_selectors.case_overview(
        case, tz, head=head, summary=summary or stats.summarise([], tz)
    )
    return render(
        request,
        "locker/case_detail.html",
        {
            "case": case,
            "role": role,
            "badge": stored_chain.case_badge(case, head=head),
            "summary": overview.summary,
            "figures_pending": figures_pending,
            "days_chart": charts.days_chart(overview.summary.days),
            "hours_chart": charts.hours_chart(overview.summary.hours),
            "recent": overview.recent,
            "entry_count": overview.entry_count,
            "upfront_minor": overview.upfront_minor,
            "receipt_form": KeptReceiptForm() if role == "owner" else None,
            "kept_count": overview.kept_count,
            "anchoring": anchor_status(case, length=overview.entry_count),
            "conduct": conduct_panel(case, head),
        },
    )


@login_required
@require_POST
def case_check(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    """The full check on demand: every evidence file re-hashed from storage."""
    case = case_access_or_404(request, case_id, action="verify").case
    badge = stored_chain.full_check(case)
    if badge.report.ok:
        messages.success(
            request,
            _("Checked %(count)d entries and every file: nothing was changed.")
            % {"count": badge.report.length},
        )
    else:
        messages.error(
            request,
            _("The record is broken at entry %(seq)s.") % {"seq": badge.report.first_bad_seq},
        )
    return redirect("case_detail", case_id=case.pk)
