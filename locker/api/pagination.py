"""Limit/offset pagination for the API that no pair of integers can turn into a 500."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

DEFAULT_LIMIT = 100
# A larger limit is read as "as many as you give me": this many.
MAX_LIMIT = 1000


class BoundedLimitOffset(LimitOffsetPagination):
    """ninja's limit/offset, but neither number reaches SQL unchecked. ninja passes them
    straight into the slice, and an offset such as 10**30 overflows the 64-bit integer of
    SQLite and PostgreSQL (a 500). Here the limit is capped at MAX_LIMIT and an offset at or
    past the end answers an empty page with the true count, without a query. Negative numbers
    are refused (422) by the schema, as before."""

    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1)
        offset: int = Field(0, ge=0)

    def paginate_queryset(
        self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        count = self._items_count(queryset)
        offset: int = pagination.offset
        limit = min(pagination.limit, MAX_LIMIT)
        # offset < count keeps offset + limit well inside a 64-bit integer.
        items = queryset[offset : offset + limit] if offset < count else []
        return {self.items_attribute: items, "count": count}
