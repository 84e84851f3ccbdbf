"""Quick-log: four big buttons, a short form each, and the receipt after saving."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from locker import services
from locker.infra.http import public_url
from locker.permissions import case_access_or_404
from locker.selectors.anchors import checkpoint_anchor, tsa_configured
from locker.selectors.entries import entry_at, numbers_seen
from locker.selectors.receipts import receipt_file, receipt_for, signer_of
from locker.web.forms.entries import QUICK_LOG_FORMS
from locker.web.views.common import (
    AuthedRequest,
    Submission,
    form_error_response,
    found_or_404,
    saved_response,
    still_saving_response,
    wants_json,
)


@login_required
def quick_log(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    return render(request, "locker/quick_log.html", {"case": case, "role": role})


@login_required
def log_entry(request: AuthedRequest, case_id: UUID, form_name: str) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    form_class = QUICK_LOG_FORMS.get(form_name)
    if form_class is None:
        raise Http404("No such form")
    if request.method != "POST":
        form = form_class()
        form.offer_numbers(numbers_seen(case))
        return render(
            request,
            "locker/log_form.html",
            {"case": case, "role": role, "form": form, "name": form_name},
        )
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        submission = Submission(f"user:{request.user.pk}", form.cleaned_data.get("submission"))
        if url := submission.done_url():
            return saved_response(request, url)
        if not submission.claim():
            return still_saving_response(request)
        try:
            result = services.append_entry(
                case=case,
                author=f"user:{request.user.pk}",
                kind=form.kind,
                body=form.body(),
                occurred_at=form.cleaned_data["occurred_at"],
                uploads=form.uploads(),
            )
        except services.InputError as exc:
            submission.release()
            form.add_error(None, str(exc))
        except BaseException:
            submission.release()
            raise
        else:
            url = reverse("receipt", args=[case.pk, result.entry.seq])
            submission.finish(url)
            return saved_response(request, url)
    if wants_json(request):
        return form_error_response(form)
    form.offer_numbers(numbers_seen(case))
    return render(
        request,
        "locker/log_form.html",
        {"case": case, "role": role, "form": form, "name": form_name},
        status=400,
    )


@login_required
def receipt(request: AuthedRequest, case_id: UUID, seq: int) -> HttpResponse:
    case, role = case_access_or_404(request, case_id)
    entry = found_or_404(entry_at(case, seq), "entry")
    checkpoint = found_or_404(receipt_for(entry), "receipt")
    return render(
        request,
        "locker/receipt.html",
        {
            "case": case,
            "role": role,
            "entry": entry,
            "checkpoint": checkpoint,
            "anchor": checkpoint_anchor(checkpoint),
            "anchoring_configured": tsa_configured(),
            "signer": signer_of(checkpoint.document),
            "keys_url": public_url(request, reverse("keys")),
        },
    )


@login_required
def receipt_json(request: AuthedRequest, case_id: UUID, seq: int) -> HttpResponse:
    """The signed checkpoint issued when this entry was appended (spec section 4), with its
    anchor (third-party time) once a round has anchored it."""
    case = case_access_or_404(
        request,
        case_id,
        action="download",
    ).case
    entry = found_or_404(entry_at(case, seq), "entry")
    checkpoint = found_or_404(receipt_for(entry), "receipt")
    name, data = receipt_file(checkpoint)
    response = HttpResponse(data, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # The document is the signed checkpoint (and its anchor, once anchored); where its
    # signer can be checked is said beside it (RFC 8288).
    response["Link"] = f'<{public_url(request, reverse("keys"))}>; rel="related"; title="keys"'
    signer = signer_of(checkpoint.document)
    if signer is not None:
        response["X-Signer-Fingerprint-SHA256"] = signer.fingerprint_sha256
    return response
