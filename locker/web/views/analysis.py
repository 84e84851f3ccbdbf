"""The analysis page of a case (docs/analysis.md): the conduct analysis, the suggested tags
the owner may confirm, and the loan-cost audit with the form for its payments. Computed on
each view of this page from all the case's entries; the case page shows the worker's copy
of the same counts (locker/services/case_conduct.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from locker import services
from locker.core import conduct, loan_cost
from locker.permissions import case_access_or_404
from locker.selectors.analysis import case_analysis
from locker.services import analysis as analysis_services
from locker.web.forms.analysis import ConfirmTagsForm, LoanPaymentForm
from locker.web.views.common import AuthedRequest


def _page(request: AuthedRequest, case: Any, role: str, payment_form: Any = None) -> HttpResponse:
    result = case_analysis(case, timezone.get_current_timezone())
    suggestions: dict[int, list[Any]] = {}
    for item in result.conduct.suggestions:
        suggestions.setdefault(item.seq, []).append(item)
    loan = result.loan
    # The longer list: what is demanded includes what was paid.
    shown = loan.demanded or loan.paid
    return render(
        request,
        "locker/analysis.html",
        {
            "case": case,
            "role": role,
            "a": result.conduct,
            # The counts as the case page's panel has them, every number (one definition).
            "figures": conduct.compact(result.conduct, numbers=None, claims=None),
            "suggestion_rows": [(result.events[seq], items) for seq, items in suggestions.items()],
            "loan": loan,
            "paid_words": loan_cost.plain_words(loan.paid) if loan.paid else [],
            "demanded_words": loan_cost.plain_words(loan.demanded) if loan.demanded else [],
            "formula": loan_cost.FORMULA,
            "flows": shown.flows if shown else [],
            "payment_form": payment_form or (LoanPaymentForm() if role == "owner" else None),
        },
    )


@login_required
def case_analysis_page(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id)
    return _page(request, case, role)


@login_required
@require_POST
def analysis_confirm(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    """One POST confirms the chosen suggested tags of one record (a correction entry)."""
    case = case_access_or_404(request, case_id, need="write").case
    form = ConfirmTagsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose at least one tag to confirm."))
        return redirect("case_analysis", case_id=case.pk)
    try:
        result = analysis_services.confirm_suggested_tags(
            case=case,
            author=f"user:{request.user.pk}",
            seq=form.cleaned_data["seq"],
            tags=form.cleaned_data["tags"],
        )
    except services.InputError as exc:
        messages.error(request, str(exc))
    else:
        if result is None:
            messages.info(request, _("Those tags were confirmed already."))
        else:
            messages.success(
                request,
                _("Tags confirmed: entry %(seq)s records it.") % {"seq": result.entry.seq},
            )
    return redirect("case_analysis", case_id=case.pk)


@login_required
@require_POST
def analysis_payment(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    form = LoanPaymentForm(request.POST)
    if form.is_valid():
        try:
            result = analysis_services.record_loan_payment(
                case=case,
                author=f"user:{request.user.pk}",
                amount_minor=form.cleaned_data["amount_minor"],
                day=form.cleaned_data["day"],
                what=form.cleaned_data["what"],
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
            )
        except services.InputError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("Payment recorded as entry %(seq)s.") % {"seq": result.entry.seq}
            )
            return redirect("case_analysis", case_id=case.pk)
    return _page(request, case, role, payment_form=form)
