"""The case badge: the chain's verification report, cached. Page views check the chain's
hashes and signed checkpoints (fast: no file is read) and cache the result for a few
minutes per head; a full check that re-hashes every evidence file runs only when the owner
asks, and its result is remembered with the time it ran."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from locker.core import chain
from locker.models import Case, Entry
from locker.selectors.chain import verify_case

QUICK_TTL_S = 300
FULL_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Badge:
    report: chain.ChainReport
    full_checked_at: datetime | None  # when the evidence files were last re-hashed, if ever


def _head(case: Case) -> tuple[int, str]:
    head = Entry.objects.filter(case=case).order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, chain.GENESIS_PREV)


def _key(case: Case, kind: str, head: tuple[int, str]) -> str:
    return f"chain:{kind}:{case.pk}:{head[0]}:{head[1]}"


def _load(value: object) -> chain.ChainReport | None:
    if isinstance(value, dict) and "report" in value:
        return chain.ChainReport(**value["report"])
    return None


def case_badge(case: Case) -> Badge:
    head = _head(case)
    full = cache.get(_key(case, "full", head))
    full_report = _load(full)
    quick_report = _load(cache.get(_key(case, "quick", head)))
    if quick_report is None:
        quick_report = verify_case(case, rehash_files=False)
        cache.set(_key(case, "quick", head), {"report": asdict(quick_report)}, QUICK_TTL_S)
    # A failed full check stays on the badge until the chain grows past it.
    if full_report is not None and not full_report.ok and quick_report.ok:
        return Badge(full_report, full["at"])  # type: ignore[index]
    return Badge(quick_report, full["at"] if full_report is not None else None)  # type: ignore[index]


def full_check(case: Case) -> Badge:
    head = _head(case)
    report = verify_case(case, rehash_files=True)
    now = timezone.now()
    cache.set(_key(case, "full", head), {"report": asdict(report), "at": now}, FULL_TTL_S)
    cache.set(_key(case, "quick", head), {"report": asdict(report)}, QUICK_TTL_S)
    return Badge(report, now)
