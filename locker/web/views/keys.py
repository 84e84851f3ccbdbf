"""The public /keys page: the instance CA and every signing certificate, current and former,
with fingerprints to read aloud and to copy, so that anyone holding a receipt, an export or
a dossier can check who signed it. No account needed; the same facts as GET /api/keys."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from locker.core import chain
from locker.selectors.keys import published_keys


def _shown(facts: dict[str, Any]) -> dict[str, Any]:
    """The published facts, with their times as datetimes for the template to format."""
    times = ("not_before", "not_after", "retired_at")
    return {
        **facts,
        **{f"{name}_at": chain.parse_timestamp(facts[name]) for name in times if name in facts},
    }


@require_GET
def keys_page(request: HttpRequest) -> HttpResponse:
    keys = published_keys()
    response = render(
        request,
        "locker/keys.html",
        {
            "current": _shown(keys["current"]),
            "previous": [_shown(item) for item in keys["previous"]],
            "ca": _shown(keys["ca"]),
        },
    )
    # Public, but it must show a rotation at once.
    response["Cache-Control"] = "no-cache"
    return response
