"""The API's errors: the services' refusals answered as JSON, the language of the messages,
and how the OpenAPI document describes them.

Service errors carry lazy messages; the API puts them into English, which integrators match
on, unless the client's Accept-Language puts Chinese first (then Simplified Chinese, the only
Chinese the app speaks).

Every refusal is `{"detail": "…"}` (`Detail`), whoever answers it: a route, ninja, or a
middleware (a cut or oversized body, the database away). The one exception is ninja's own
validation 422, whose `detail` is the list of what failed (`Invalid`). The document lists
each refusal an operation can answer: the ones only some routes give (404, 403, 409, 415,
429, 507) in the route's `response=` through `refusals()`, the ones that follow from what
an operation is (it needs a token, takes a body, takes any input, exists) by
`document_common_refusals`, so no route can forget them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.functional import Promise
from ninja import Field, NinjaAPI, Schema
from pydantic import ConfigDict

from locker import services
from locker.infra.http import API_DEFAULT_LANGUAGE, api_language


def api_message(request: HttpRequest, exc: Exception | Promise) -> str:
    """The exception's message (or a lazy message) put into words in the API's language for
    this request."""
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


class Detail(Schema):
    detail: str = Field(description="what was refused and why, in the API's language")


class InvalidItem(Schema):
    """One failed check of ninja's (pydantic's) validation; more members may come."""

    model_config = ConfigDict(extra="allow")

    type: str
    loc: list[str | int]
    msg: str


class Invalid(Schema):
    detail: str | list[InvalidItem] = Field(
        description="what is wrong: a sentence, or for input that does not fit the "
        "operation's parameters or body, one item per failed check"
    )


# What each refusal means here; the document's description of the status, for every route.
REFUSALS: dict[int, str] = {
    400: "the request cannot be read: a body that is not JSON, a body cut off before it was "
    "complete, an unusable Idempotency-Key; nothing was saved",
    401: "no token, or a token that is wrong, revoked or expired",
    403: "the signed-in person may see this but not do it",
    404: "no such thing, or one this token may not see (the same answer for both)",
    409: "it cannot be done in its present state",
    413: "too large (the detail says which limit); nothing was saved",
    415: "a content type this operation does not take",
    422: "well-formed input that is not acceptable (the detail says why); nothing was saved",
    429: "too many attempts; try again after Retry-After seconds",
    503: "the database or the evidence store is unavailable for a moment; try again after "
    "Retry-After seconds; nothing was saved",
    507: "the evidence store is full; nothing was saved",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
BODY_METHODS = frozenset({"post", "put", "patch"})


def refusals(*codes: int) -> dict[int, Any]:
    """The response schemas of these refusal codes, for a route's `response=`."""
    return {code: Invalid if code == 422 else Detail for code in codes}


def _common_refusals(method: str, operation: dict[str, Any]) -> list[int]:
    codes = [503]  # any operation, while the database is away (web.middleware.unavailable)
    if operation.get("security"):
        codes.append(401)
    if method in BODY_METHODS:
        # Any body is read whole first (web.middleware.request_body): cut or unreadable is
        # 400, a Content-Length beyond every limit 413; a POST's Idempotency-Key can be 400
        # (unusable) or 422 (used before for another request).
        codes += [400, 413, 422]
    elif operation.get("parameters"):
        codes.append(422)
    return codes


def document_common_refusals(document: dict[str, Any]) -> dict[str, Any]:
    """Add to every operation of an OpenAPI document the refusals it can answer by what it
    is, and describe every refusal the same way."""
    detail_ref = {"$ref": "#/components/schemas/Detail"}
    invalid_ref = {"$ref": "#/components/schemas/Invalid"}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (Detail, Invalid):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, nested in model_schema.pop("$defs", {}).items():
            schemas.setdefault(name, nested)
        schemas.setdefault(model.__name__, model_schema)
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code in _common_refusals(method, operation):
                schema = invalid_ref if code == 422 else detail_ref
                responses.setdefault(code, {"content": {"application/json": {"schema": schema}}})
            for code, response in responses.items():
                if int(code) in REFUSALS:
                    response["description"] = REFUSALS[int(code)]
                    if int(code) in (429, 503):
                        response["headers"] = RETRY_AFTER
    return document
