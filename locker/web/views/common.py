from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

T = TypeVar("T")


class AuthedRequest(HttpRequest):
    """The request a login_required view receives: its user is signed in."""

    user: User


def found_or_404(found: T | None, what: str) -> T:
    """What a selector found, or a 404 naming what is missing (the same for a row of another
    case as for none at all)."""
    if found is None:
        raise Http404(f"No such {what}")
    return found


def private_response(response: HttpResponse, referrer_policy: str = "same-origin") -> HttpResponse:
    """A page reached through a secret link (a contact link, an invitation): kept out of search
    engines and sent with no Referer beyond this site."""
    # The clean page's address holds no secret, and "no-referrer" would make browsers send
    # `Origin: null` with its form posts, which the CSRF check refuses. The token URL's own
    # answer (a redirect) still sends no referrer at all.
    response["Referrer-Policy"] = referrer_policy
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def query_without(request: HttpRequest, name: str) -> str:
    """The request's GET parameters but `name`, urlencoded: what a list's page or row links
    keep while they change that one."""
    query = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()


def form_error_response(form: Any) -> JsonResponse:
    """The errors of a form posted by the upload script, as sentences it can show."""
    messages: list[str] = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        prefix = f"{field.label}: " if field is not None and field.label else ""
        messages.extend(f"{prefix}{error}" for error in errors)
    return JsonResponse({"errors": messages}, status=400)


def saved_response(request: HttpRequest, url: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"redirect": url})
    return redirect(url)


class Submission:
    """Makes a retried form post idempotent: the form carries a random id; the first post
    with it claims it, a retry after a lost response is sent to what the first one saved."""

    PENDING = "pending"

    def __init__(self, scope: str, submission_id: UUID | None) -> None:
        self.key = f"submission:{scope}:{submission_id}" if submission_id else None

    def done_url(self) -> str | None:
        if self.key is None:
            return None
        value = cache.get(self.key)
        return value if isinstance(value, str) and value != self.PENDING else None

    def claim(self) -> bool:
        return self.key is None or cache.add(self.key, self.PENDING, timeout=600)

    def finish(self, url: str) -> None:
        if self.key is not None:
            cache.set(self.key, url, timeout=24 * 3600)

    def release(self) -> None:
        if self.key is not None:
            cache.delete(self.key)


def still_saving_response(request: HttpRequest) -> HttpResponse:
    message = _("This form is still being saved. Wait a moment, then open the timeline.")
    if wants_json(request):
        return JsonResponse({"errors": [message]}, status=409)
    return HttpResponse(message, status=409, content_type="text/plain; charset=utf-8")
