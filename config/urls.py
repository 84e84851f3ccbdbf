from django.contrib import admin
from django.urls import include, path

from locker.api.site import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("locker.web.urls")),
]

# Rendered without the request: whatever failed may be the database (templates/500.html).
handler500 = "locker.web.views.errors.server_error"
