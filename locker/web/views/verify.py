"""The public /verify page: anyone, without an account, checks a dossier PDF or an export
bundle (and optionally a receipt) and reads the result in plain words."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from locker.dossier.verify import verify_upload
from locker.exports.verification import VerificationTooCostly
from locker.infra import ratelimit
from locker.services import InputError
from locker.web.forms.dossiers import VerifyForm


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not ratelimit.verification_admitted(request):
        return render(request, "locker/too_many.html", status=429)
    form = VerifyForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            kind, report = verify_upload(form.cleaned_data["file"], form.cleaned_data["receipt"])
        except VerificationTooCostly as exc:
            form.add_error("file", str(exc))
        except InputError as exc:
            form.add_error("receipt", str(exc))
        else:
            result = {"kind": kind, "report": report}
    response = render(
        request,
        "dossier/verify.html",
        {"form": form, "result": result},
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"
    return response
