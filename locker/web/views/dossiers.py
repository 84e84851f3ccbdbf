"""Dossier pages: the export page (choices and past dossiers), a dossier's progress page
with its download, and the progress JSON the page polls."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_GET, require_http_methods

from locker.infra.http import pack_attachment, pdf_attachment, public_url
from locker.models import Dossier
from locker.permissions import Role, RoleRefused, case_access_or_404
from locker.selectors import access_wording
from locker.selectors.complainant import missing_for_dossiers
from locker.selectors.dossiers import dossier_of, dossier_status, recent_dossiers_of
from locker.services import InputError
from locker.services import dossiers as dossier_services
from locker.web.forms.dossiers import DossierForm
from locker.web.views.common import AuthedRequest, found_or_404


def _dossier(
    request: HttpRequest, case_id: UUID, dossier_id: UUID, action: str
) -> tuple[Dossier, Role]:
    case, role = case_access_or_404(
        request,
        case_id,
        need="read",
        action=action,
        detail=access_wording.dossier_detail(dossier_id),
    )
    return found_or_404(dossier_of(case, dossier_id), "dossier"), role


def _language_initial() -> str:
    return "en" if (translation.get_language() or "").startswith("en") else "zh-hans"


@login_required
@require_http_methods(["GET", "POST"])
def export(request: AuthedRequest, case_id: UUID) -> HttpResponse:
    # Opening the page is a look; posting the form asks for a dossier of the case, which a
    # viewer may not do: they get the page again with the reason, as a 403.
    refused: RoleRefused | None = None
    try:
        case, role = case_access_or_404(
            request,
            case_id,
            need="render" if request.method == "POST" else "read",
            action="export" if request.method == "POST" else "view",
            detail="dossier" if request.method == "POST" else f"GET {request.path}",
        )
    except RoleRefused as exc:
        refused = exc
        case, role = case_access_or_404(request, case_id, need="read", detail=f"GET {request.path}")
    form = DossierForm(
        None if refused else (request.POST or None),
        initial={"language": _language_initial()},
        owner=role == "owner",
    )
    if refused is None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dossier = dossier_services.request_dossier(
                case=case,
                user=request.user,
                template=data["template"],
                language=data["language"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                kinds=data["kinds"],
                verify_url=public_url(request, "/verify"),
                include_access_log=data.get("include_access_log", False),
                attachment_pack=data.get("attachment_pack", False),
            )
        except (InputError, PermissionError) as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("dossier_detail", case_id=case.id, dossier_id=dossier.id)
    return render(
        request,
        "dossier/export.html",
        {
            "case": case,
            "role": role,
            "form": form,
            "may_render": role != "viewer",
            "refused": str(refused) if refused else "",
            "dossiers": recent_dossiers_of(case),
            # What the complaint templates still lack (labels only), warned before rendering.
            "missing": missing_for_dossiers(case) if role != "viewer" else {},
        },
        status=403 if refused else 400 if form.errors else 200,
    )


@login_required
@require_GET
def detail(request: AuthedRequest, case_id: UUID, dossier_id: UUID) -> HttpResponse:
    dossier, role = _dossier(request, case_id, dossier_id, "view")
    return render(
        request,
        "dossier/detail.html",
        {"case": dossier.case, "role": role, "dossier": dossier, "states": Dossier.State.choices},
    )


@login_required
@require_GET
def status(request: AuthedRequest, case_id: UUID, dossier_id: UUID) -> JsonResponse:
    dossier, _role = _dossier(request, case_id, dossier_id, "view")
    response = JsonResponse(dossier_status(dossier))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def download(request: AuthedRequest, case_id: UUID, dossier_id: UUID) -> HttpResponseBase:
    dossier, _role = _dossier(request, case_id, dossier_id, "export")
    if dossier.state != Dossier.State.READY:
        return redirect("dossier_detail", case_id=case_id, dossier_id=dossier_id)
    return pdf_attachment(dossier)


@login_required
@require_GET
def download_pack(request: AuthedRequest, case_id: UUID, dossier_id: UUID) -> HttpResponseBase:
    """The attachment pack (a ZIP of signed parts of at most 2 MB each), when one was made."""
    dossier, _role = _dossier(request, case_id, dossier_id, "export")
    if dossier.state != Dossier.State.READY or not dossier.pack_file_name:
        return redirect("dossier_detail", case_id=case_id, dossier_id=dossier_id)
    return pack_attachment(dossier)
