from django.contrib import admin
from django.urls import include, path

from locker.api import api
from locker.api_dossiers import router as dossier_router

api.add_router("", dossier_router)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("locker.dossier.urls")),
    path("", include("locker.urls")),
]
