"""Your data: the download of all of it (every case you own as its export bundle, and your
account's records), and deleting a case or your whole account, each after a page that says
what happens (docs/privacy.md). Only ever the signed-in person's own: a download of someone
else's is 404, as is a case they do not own."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from locker.infra.http import stored_attachment
from locker.models import DataExport
from locker.permissions import case_access_or_404
from locker.selectors.cases import cases_owned_by
from locker.selectors.data_exports import data_export_of, data_export_status, data_exports_of
from locker.selectors.second_factor import has_second_factor
from locker.services import data_exports as export_services
from locker.services import deletion
from locker.web.forms.deletion import ConfirmDeletionForm
from locker.web.views.common import AuthedRequest, found_or_404


@login_required
@require_http_methods(["GET", "POST"])
def data_export(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        export = export_services.request_data_export(user=request.user, request=request)
        return redirect("data_export_detail", export_id=export.id)
    return render(
        request,
        "locker/data_export.html",
        {
            "exports": data_exports_of(request.user),
            "keep_hours": max(1, round(settings.LOCKER_DATA_EXPORT_KEEP_S / 3600)),
        },
    )


def _own_export(request: AuthedRequest, export_id: UUID) -> DataExport:
    return found_or_404(data_export_of(request.user, export_id), "download")


@login_required
@require_GET
def data_export_detail(request: AuthedRequest, export_id: UUID) -> HttpResponse:
    export = _own_export(request, export_id)
    return render(
        request,
        "locker/data_export_detail.html",
        {"export": export, "states": DataExport.State.choices},
    )


@login_required
@require_GET
def data_export_status_json(request: AuthedRequest, export_id: UUID) -> JsonResponse:
    response = JsonResponse(data_export_status(_own_export(request, export_id)))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def data_export_download(request: AuthedRequest, export_id: UUID) -> HttpResponseBase:
    export = _own_export(request, export_id)
    if export.state != DataExport.State.READY or not export.file_name:
        return redirect("data_export_detail", export_id=export.id)
    export_services.note_download(export=export, request=request)
    return stored_attachment(
        export.file_name,
        filename=f"evidence-locker-data-{export.created_at:%Y%m%d}.zip",
        content_type="application/zip",
    )


def _confirmed(request: AuthedRequest) -> tuple[ConfirmDeletionForm, dict[str, str] | None]:
    """The confirmation form, and its password and code once it is posted and complete."""
    form = ConfirmDeletionForm(
        request.POST if request.method == "POST" else None,
        second_factor=has_second_factor(request.user),
    )
    if request.method != "POST" or not form.is_valid():
        return form, None
    return form, {
        "password": form.cleaned_data["password"],
        "code": form.cleaned_data.get("code", ""),
    }


@login_required
@require_http_methods(["GET", "POST"])
def case_delete(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    # Only the owner: anyone else gets the 404 a case they cannot see gets.
    case, _role = case_access_or_404(request, case_id, need="write")
    form, confirmation = _confirmed(request)
    if confirmation is not None:
        try:
            deletion.delete_case(case=case, user=request.user, request=request, **confirmation)
        except deletion.ConfirmationRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The case is deleted from this server."))
            return redirect("case_list")
    return render(
        request,
        "locker/case_delete.html",
        {"case": case, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: AuthedRequest) -> HttpResponse:
    form, confirmation = _confirmed(request)
    if confirmation is not None:
        try:
            deletion.delete_account(user=request.user, request=request, **confirmation)
        except deletion.ConfirmationRefused as exc:
            form.add_error(None, str(exc))
        else:
            logout(request)
            return redirect("account_deleted")
    return render(
        request,
        "registration/account_delete.html",
        {"form": form, "cases": cases_owned_by(request.user).count()},
        status=400 if form.errors else 200,
    )


@require_GET
def account_deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/account_deleted.html")
