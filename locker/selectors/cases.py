"""Reads of cases: the cases a person owns (the API's list and their case list),
and what the case page shows of one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from django.db.models import Count, Max, QuerySet

from locker.core import stats
from locker.models import Case, Entry, KeptReceipt


def cases_owned_by(user: Any) -> QuerySet[Case]:
    return Case.objects.filter(owner=user)


RECENT_ENTRIES = 5


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


def upfront_minor(case: Case) -> int | None:
    """What the lender kept back from the principal (砍头息), if the facts show any."""
    if case.principal_minor is None or case.received_minor is None:
        return None
    return max(case.principal_minor - case.received_minor, 0) or None


def case_overview(case: Case, tz: tzinfo) -> CaseOverview:
    """The case page's figures in the viewer's zone: one query for the entries (the members
    the figures and the rows need), one for the count of kept receipts."""
    entries = list(
        Entry.objects.filter(case=case).only(
            "seq", "kind", "body", "occurred_at", "recorded_at", "case_id", "erased_at"
        )
    )
    recent = sorted(entries, key=lambda e: (e.occurred_at or e.recorded_at, e.seq), reverse=True)
    return CaseOverview(
        # An erased entry's content is gone: it counts in no figure (it is still a row).
        summary=stats.summarise([e for e in entries if not e.is_erased], tz),
        recent=recent[:RECENT_ENTRIES],
        entry_count=len(entries),
        kept_count=KeptReceipt.objects.filter(case=case).count(),
        upfront_minor=upfront_minor(case),
    )
