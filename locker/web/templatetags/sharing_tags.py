"""Template helpers of the sharing pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from locker.selectors import sharing

register = template.Library()

# Where a request keeps has_shares once it is known (read by the tag, or with the case).
_HAS_SHARES = "_locker_has_shares"


def remember_has_shares(request: HttpRequest, value: bool) -> None:
    """has_shares for this request, as a page read it with its case (sharing.
    with_viewer_has_shares): the tag then asks nothing more."""
    setattr(request, _HAS_SHARES, bool(value))


@register.simple_tag(takes_context=True)
def has_shares(context: template.Context) -> bool:
    """Whether the signed-in user has open shares addressed to them (once per request)."""
    request = context.get("request")
    if request is None:
        return False
    if not hasattr(request, _HAS_SHARES):
        remember_has_shares(request, sharing.has_shares(getattr(request, "user", None)))
    return bool(getattr(request, _HAS_SHARES))


@register.filter
def in_set(value: Any, values: Any) -> bool:
    return value in values
