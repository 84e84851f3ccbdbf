"""Response headers Django has no setting for: the Permissions-Policy (settings.
LOCKER_PERMISSIONS_POLICY). Django's SecurityMiddleware sends HSTS, nosniff, Referrer-Policy
and Cross-Origin-Opener-Policy, django-csp the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.LOCKER_PERMISSIONS_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Permissions-Policy", self.policy)
        return response
