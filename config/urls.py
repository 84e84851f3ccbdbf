from django.contrib import admin
from django.urls import include, path

from locker.api.site import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("locker.web.urls")),
]
