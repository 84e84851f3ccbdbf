from django.contrib import admin
from django.urls import include, path

from locker.api.dossiers import router as dossier_router
from locker.api.site import api

api.add_router("", dossier_router)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("locker.web.urls")),
]
