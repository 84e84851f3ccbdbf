"""Browser routes for dossiers and the public verify page (included from config/urls.py)."""

from __future__ import annotations

from django.urls import path

from ..views import dossiers, verify

dossier = "cases/<uuid:case_id>/dossiers/<uuid:dossier_id>/"

urlpatterns = [
    path("cases/<uuid:case_id>/dossiers/", dossiers.export, name="dossier_export"),
    path(dossier, dossiers.detail, name="dossier_detail"),
    path(dossier + "status", dossiers.status, name="dossier_status"),
    path(dossier + "pdf", dossiers.download, name="dossier_pdf"),
    path("verify", verify.verify_page, name="verify"),
]
