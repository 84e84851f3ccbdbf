"""Reads of cases: the cases a person owns (the API's list and their case list),
and what the case page shows of one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import tzinfo
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from locker.core import stats
from locker.infra.rows import prepared, row_instance, select_list, table
from locker.models import Case, CaseStats, CaseStatsCount, Entry, KeptReceipt


@cache
def _case_statement() -> str:
    # Names from the model's fields; the value is a parameter.
    return f'SELECT {select_list(Case, "c")} FROM {table(Case)} c WHERE c."id" = %s'  # noqa: S608


def case_with_id(case_id: uuid.UUID) -> Case | None:
    """The case with this id, whoever may see it (locker/permissions.py decides). Read on
    every call that names a case: one statement written once (locker/infra/rows.py)."""
    with connection.cursor() as cursor:
        cursor.execute(_case_statement(), [prepared(Case, "id", case_id)])
        row = cursor.fetchone()
    return None if row is None else row_instance(Case, row)


def cases_owned_by(user: Any) -> QuerySet[Case]:
    return Case.objects.filter(owner=user)


RECENT_ENTRIES = 5
SUMMARY_FIELDS = ("seq", "kind", "body", "occurred_at", "recorded_at", "erased_at")


def owned_cases(user: Any) -> QuerySet[Case]:
    """The user's own cases with their entry count and latest recording, most recent first."""
    return (
        Case.objects.filter(owner=user)
        .annotate(entry_count=Count("entries"), last_recorded=Max("entries__recorded_at"))
        .order_by("-last_recorded")
    )


@dataclass(frozen=True)
class CaseOverview:
    summary: stats.Summary
    recent: list[Entry]  # the latest few, by when they happened (else were recorded)
    entry_count: int
    kept_count: int
    upfront_minor: int | None


def with_kept_count(cases: QuerySet[Case]) -> QuerySet[Case]:
    """`cases`, each read with how many receipts its owner kept (the case page's count), in
    the same statement: a query less for the case page."""
    kept = (
        KeptReceipt.objects.filter(case=OuterRef("pk"))
        .order_by()
        .values("case")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return cases.annotate(
        kept_receipt_count=Coalesce(Subquery(kept, output_field=IntegerField()), 0)
    )


def kept_count(case: Case) -> int:
    if "kept_receipt_count" in case.__dict__:  # read with the case (with_kept_count)
        return int(case.__dict__["kept_receipt_count"])
    return KeptReceipt.objects.filter(case=case).count()


def upfront_minor(case: Case) -> int | None:
    """What the lender kept back from the principal (砍头息), if the facts show any."""
    if case.principal_minor is None or case.received_minor is None:
        return None
    return max(case.principal_minor - case.received_minor, 0) or None


def recent_entries(case: Case, count: int = RECENT_ENTRIES) -> list[Entry]:
    """The latest few by when they happened (else were recorded), read from the timeline's
    index; whole rows, so that the template's row reads no deferred field one at a time."""
    rows = Entry.objects.filter(case=case).annotate(when=Coalesce("occurred_at", "recorded_at"))
    return list(rows.order_by("-when", "-seq")[:count])


def stored_summary(case: Case, tz: tzinfo, head: tuple[int, str]) -> stats.Summary | None:
    """The case's figures in `tz` from its CaseStats row, if the row covers exactly the
    chain's head `head` and keeps that zone; None otherwise (the caller rebuilds it)."""
    key = stats.zone_key(tz)
    if Case.stats.is_cached(case):  # read with the case (select_related("stats"))
        row = getattr(case, "stats", None)
    else:
        row = CaseStats.objects.filter(case_id=case.pk).first()
    if key is None or row is None or (row.seq, row.head) != head:
        return None
    if key not in row.tally.get("zones", {}):
        return None
    # The counts this zone's figures need: every one but the other zones' days.
    counts = CaseStatsCount.objects.filter(case_id=case.pk).filter(
        Q(key__startswith=f"day:{key}:") | ~Q(key__startswith="day:")
    )
    return stats.Tally.from_parts(row.tally, counts.values_list("key", "count")).summary(key)


def full_summary(case: Case, tz: tzinfo) -> stats.Summary:
    """The figures computed from every entry (an erased entry's content is gone: it counts
    in no figure, though it is still a row)."""
    entries = Entry.objects.filter(case=case, erased_at__isnull=True).only(*SUMMARY_FIELDS)
    return stats.summarise(entries.iterator(chunk_size=2000), tz)


def case_overview(
    case: Case,
    tz: tzinfo,
    *,
    head: tuple[int, str] | None = None,
    summary: stats.Summary | None = None,
) -> CaseOverview:
    """The case page's figures and rows in the viewer's zone: `summary` as the page got it
    from the running tally (services.case_stats.current_summary; without it, the stored
    row or else the full computation), the latest rows from the timeline's index, the count
    from the chain's head (seqs run 1..n without gaps, which the badge checks), and the
    count of kept receipts."""
    if head is None:
        row = Entry.objects.filter(case=case).order_by("-seq").values_list("seq", "hash").first()
        head = row if row else (0, "")
    if summary is None:
        summary = stored_summary(case, tz, head) or full_summary(case, tz)
    return CaseOverview(
        summary=summary,
        recent=recent_entries(case),
        entry_count=head[0],
        kept_count=kept_count(case),
        upfront_minor=upfront_minor(case),
    )
