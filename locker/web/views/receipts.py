"""Receipts the client kept: the owner uploads the ones they downloaded, and everyone who
may read the case sees each one checked against the record as it is now, and which receipts
were mailed to whom."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from locker import services
from locker.permissions import case_access_or_404
from locker.selectors.mailed_receipts import mailed_receipts_of
from locker.selectors.receipts import kept_receipts_of, status_of
from locker.web.forms.receipts import KeptReceiptForm
from locker.web.views.common import AuthedRequest


def _report_upload(request: AuthedRequest, result: services.KeptReceiptResult) -> None:
    seq = result.receipt.length
    if not result.created:
        messages.info(
            request, _("You had already uploaded this receipt (entry %(seq)s).") % {"seq": seq}
        )
    elif status_of(result.receipt).holds:
        messages.success(
            request, _("Receipt kept: the record still holds entry %(seq)s.") % {"seq": seq}
        )
    else:
        messages.error(
            request,
            _("Receipt kept. The record no longer holds entry %(seq)s as the receipt shows.")
            % {"seq": seq},
        )


@login_required
@require_http_methods(["GET", "POST"])
def kept_receipts(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    form = None
    if request.method == "POST":
        case, role = case_access_or_404(request, case_id, need="write")
        form = KeptReceiptForm(request.POST, request.FILES)
        if form.is_valid():
            # One byte over the cap is enough for the service to refuse it.
            data = form.cleaned_data["receipt"].read(services.MAX_RECEIPT_BYTES + 1)
            try:
                result = services.add_kept_receipt(case=case, user=request.user, data=data)
            except services.InputError as exc:
                form.add_error("receipt", str(exc))
            else:
                _report_upload(request, result)
                return redirect("kept_receipts", case_id=case.pk)
    else:
        case, role = case_access_or_404(request, case_id)
        if role == "owner":
            form = KeptReceiptForm()
    return render(
        request,
        "locker/kept_receipts.html",
        {
            "case": case,
            "role": role,
            "form": form,
            "kept": kept_receipts_of(case),
            "mailed": mailed_receipts_of(case, request.user, role=role),
        },
        status=400 if form is not None and form.errors else 200,
    )
