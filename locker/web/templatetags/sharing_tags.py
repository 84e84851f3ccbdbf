"""Template helpers of the sharing pages."""

from __future__ import annotations

from typing import Any

from django import template

from locker.selectors import sharing

register = template.Library()


@register.simple_tag(takes_context=True)
def has_shares(context: template.Context) -> bool:
    """Whether the signed-in user has open shares addressed to them (once per request)."""
    request = context.get("request")
    if request is None:
        return False
    if not hasattr(request, "_locker_has_shares"):
        request._locker_has_shares = sharing.has_shares(getattr(request, "user", None))
    return bool(request._locker_has_shares)


@register.filter
def in_set(value: Any, values: Any) -> bool:
    return value in values
