"""The complainant's details pages: the account's identity and contact details (Settings),
and a case's complaint details with the agent's authorisation. The owner's alone: shown
masked (1101**********1234), in full only in the edit form, which opens on demand
(?edit=1). Posted values are kept out of error reports (sensitive_post_parameters)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from locker.core import identity
from locker.infra.storage import StorageError, evidence_storage
from locker.models import Case
from locker.permissions import Role, case_access_or_404
from locker.selectors import complainant as selectors
from locker.services import complainant as services
from locker.web.forms.complainant import AuthorisationForm, CaseComplaintForm, ComplainantForm
from locker.web.views.common import AuthedRequest


def _editing(request: AuthedRequest) -> bool:
    return request.method == "POST" or request.GET.get("edit") == "1"


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def complainant_details(request: AuthedRequest) -> HttpResponse:
    person = selectors.complainant_of(request.user)
    form = None
    if _editing(request):
        initial = {name: getattr(person, name) for name in identity.COMPLAINANT_FIELDS}
        form = ComplainantForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.save_complainant_details(user=request.user, **form.values())
            except services.DetailRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect("complainant_details")
    return render(
        request,
        "locker/complainant.html",
        {"form": form, "masked": person.masked(), "person_given": any(person.masked().values())},
        status=400 if form is not None and form.errors else 200,
    )


@sensitive_variables()
def _complaint_page(
    request: AuthedRequest,
    case: Case,
    role: Role,
    *,
    form: CaseComplaintForm | None = None,
    upload_form: AuthorisationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    complaint = selectors.complaint_of(case)
    return render(
        request,
        "locker/case_complaint.html",
        {
            "case": case,
            "role": role,
            "form": form,
            "complaint": complaint,
            "numbers": [identity.mask_phone(n) for n in complaint.receiving_numbers],
            "agent_name": identity.mask_name(complaint.agent_name),
            "agent_contact": identity.mask_contact(complaint.agent_contact),
            "upload_form": upload_form or AuthorisationForm(),
            "missing": selectors.missing_for_dossiers(case),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def case_complaint(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    complaint = selectors.complaint_of(case)
    form = None
    if _editing(request):
        initial = {
            "receiving_numbers": "\n".join(complaint.receiving_numbers),
            "typed_signature": complaint.typed_signature,
            "agent_name": complaint.agent_name,
            "agent_relationship": complaint.agent_relationship,
            "agent_contact": complaint.agent_contact,
        }
        form = CaseComplaintForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.save_case_complaint(case=case, **form.values())
            except services.DetailRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect("case_complaint", case_id=case.pk)
    return _complaint_page(
        request, case, role, form=form, status=400 if form and form.errors else 200
    )


@login_required
@require_POST
def authorisation_upload(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case, role = case_access_or_404(request, case_id, need="write")
    form = AuthorisationForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.store_authorisation(case=case, upload=form.cleaned_data["authorisation"])
        except services.DetailRefused as exc:
            form.add_error("authorisation", str(exc))
        except StorageError as exc:
            form.add_error("authorisation", str(exc))
        else:
            messages.success(request, _("The authorisation is stored."))
            return redirect("case_complaint", case_id=case.pk)
    return _complaint_page(request, case, role, upload_form=form, status=400)


@login_required
@require_POST
def authorisation_remove(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    case = case_access_or_404(request, case_id, need="write").case
    services.remove_authorisation(case=case)
    messages.success(request, _("The authorisation is removed."))
    return redirect("case_complaint", case_id=case.pk)


@login_required
@require_GET
def authorisation_file(request: AuthedRequest, case_id: UUID) -> FileResponse:
    case = case_access_or_404(request, case_id, need="write").case
    authorisation = selectors.complaint_of(case).authorisation
    if authorisation is None:
        raise Http404("No authorisation")
    response = FileResponse(
        evidence_storage().open(authorisation.storage_name, "rb"),
        content_type=authorisation.media_type,
    )
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
