from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from locker.models import (
    AccessLog,
    Annotation,
    ApiToken,
    Case,
    Checkpoint,
    Entry,
    EvidenceFile,
    KeptReceipt,
    ProfessionalProfile,
    Share,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Chain records are evidence: the admin may look, never touch."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "created_at")
    search_fields = ("id",)


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ("case", "seq", "kind", "recorded_at", "author", "hash")
    list_filter = ("kind",)
    search_fields = ("hash", "case__id")


@admin.register(EvidenceFile)
class EvidenceFileAdmin(ReadOnlyAdmin):
    list_display = ("case", "sha256", "size", "media_type", "created_at")


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("case", "length", "head", "signed_at")


@admin.register(KeptReceipt)
class KeptReceiptAdmin(ReadOnlyAdmin):
    list_display = ("case", "length", "head", "signed_at", "uploaded_at")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")


# Sharing: shares change only through the services (so that the client's view stays true), the
# access log never; annotations are the reviewers' private work and stay out of lists.


@admin.register(Share)
class ShareAdmin(ReadOnlyAdmin):
    list_display = ("case", "invited_as", "role", "created_at", "accepted_at", "ended_at")
    list_filter = ("role",)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ("case", "actor", "action", "via", "ip", "at")
    list_filter = ("action", "via")


@admin.register(ProfessionalProfile)
class ProfessionalProfileAdmin(ReadOnlyAdmin):
    list_display = ("name", "organisation", "jurisdiction", "user")


@admin.register(Annotation)
class AnnotationAdmin(ReadOnlyAdmin):
    list_display = ("case", "author", "entry_seq", "created_at")
    exclude = ("text",)


def login_through_the_web(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """/admin/login/ sends people to the one log-in page, so staff get the same limits on
    guessing (locker/infra/login_throttle.py) and the same second factor as everyone, and no
    second form checks passwords."""
    if request.user.is_authenticated:
        # Signed in but not staff: the log-in page would send them straight back here.
        raise PermissionDenied
    target = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("admin:index")
    return redirect_to_login(target, login_url=reverse("login"))


admin.site.login = login_through_the_web  # type: ignore[method-assign]
