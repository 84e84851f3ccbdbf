"""The timeline query: a case's entries newest first (by when they happened, else when they
were recorded), filtered by kind, tag and a date range in the viewer's time zone. Shared by
the owner's pages and the lawyer's review pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from locker.models import Case, Entry


@dataclass(frozen=True)
class Filters:
    kind: str = ""
    tag: str = ""
    start: date | None = None
    end: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.kind or self.tag or self.start or self.end)


def with_tag(entries: QuerySet[Entry], tag: str) -> QuerySet[Entry]:
    """Entries whose body.tags holds `tag`. JSON containment exists on PostgreSQL only; on
    SQLite the same test is json_each over the array."""
    if connection.vendor == "postgresql":
        return entries.filter(body__tags__contains=[tag])
    table = Entry._meta.db_table
    # The tag is a bound parameter; the only interpolated name is our own table's.
    exists = RawSQL(  # noqa: S611
        f"EXISTS (SELECT 1 FROM json_each({table}.body, '$.tags') "  # noqa: S608
        "WHERE json_each.value = %s)",
        (tag,),
        output_field=BooleanField(),
    )
    return entries.alias(has_tag=exists).filter(has_tag=True)


def _start_of(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min).replace(tzinfo=tz)


def timeline(case: Case, filters: Filters, tz: tzinfo) -> QuerySet[Entry]:
    entries: QuerySet[Any] = Entry.objects.filter(case=case).annotate(
        when=Coalesce("occurred_at", "recorded_at")
    )
    if filters.kind:
        entries = entries.filter(kind=filters.kind)
    if filters.tag:
        entries = with_tag(entries, filters.tag)
    if filters.start:
        entries = entries.filter(when__gte=_start_of(filters.start, tz))
    if filters.end:
        entries = entries.filter(when__lt=_start_of(filters.end + timedelta(days=1), tz))
    return entries.order_by("-when", "-seq")


def chain_entries(case: Case) -> QuerySet[Entry]:
    """The case's entries in chain order (seq), unevaluated so that a page is sliced in SQL."""
    return Entry.objects.filter(case=case).order_by("seq")
