"""The API's errors: the services' refusals answered as JSON, and the language of the messages.
Service errors carry lazy messages; the API puts them into English, which integrators match
on, unless the client's Accept-Language puts Chinese first (then Simplified Chinese, the only
Chinese the app speaks)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from ninja import NinjaAPI

from locker import services
from locker.infra.http import API_DEFAULT_LANGUAGE, api_language


def api_message(request: HttpRequest, exc: Exception) -> str:
    """The exception's message put into words in the API's language for this request."""
    with translation.override(api_language(request)):
        return str(exc)


def english(exc: Exception) -> str:
    """The message in English, for code that decides by its words (never shown as is)."""
    with translation.override(API_DEFAULT_LANGUAGE):
        return str(exc)


def install_error_handlers(api: NinjaAPI) -> None:
    """Answer the services' refusals as JSON {"detail"} in the API's language."""

    @api.exception_handler(services.InputError)
    def input_error(request: HttpRequest, exc: services.InputError) -> HttpResponse:
        # Over a limit of size (a file, a request's files, the owner's quota): 413.
        status = 413 if isinstance(exc, services.TooLarge) else 422
        return api.create_response(request, {"detail": api_message(request, exc)}, status=status)
