"""The analysis page's reads (docs/analysis.md): the conduct analysis and the loan-cost
audit of one case, computed from all its entries on each view of that page; the case page
reads the panel the worker keeps from the same computation (selectors/case_conduct.py).
Erased entries count in nothing; corrections are applied first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo

from django.conf import settings

from locker.core import conduct, loan_cost, stats
from locker.models import Case, Entry


@dataclass(frozen=True)
class CaseAnalysis:
    conduct: conduct.ConductAnalysis
    loan: loan_cost.LoanCost
    events: dict[int, stats.Event]  # by seq, for the rows the page names


def lpr_setting() -> tuple[int, date | None]:
    value = settings.LOCKER_LPR_1Y_DATE
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        day = None
    return settings.LOCKER_LPR_1Y_BP, day


def loan_facts(facts: dict[str, object], events: Iterable[stats.Event]) -> loan_cost.LoanFacts:
    """The audit's inputs: the case facts (a dict as Case.facts() or a dossier's
    case_facts give them) and the loan_payment events (corrections applied)."""

    def integer(name: str) -> int | None:
        value = facts.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    start = facts.get("loan_start")
    disbursed = None
    if isinstance(start, date):
        disbursed = start
    elif isinstance(start, str) and start:
        try:
            disbursed = date.fromisoformat(start)
        except ValueError:
            disbursed = None
    payments = []
    for event in events:
        if event.kind != "loan_payment":
            continue
        body = event.body
        try:
            day = date.fromisoformat(str(body.get("date")))
        except ValueError:
            continue
        amount = body.get("amount_minor")
        if not isinstance(amount, int):
            continue
        payments.append(
            loan_cost.Payment(
                day=day,
                amount_minor=amount,
                what=str(body.get("what") or "repayment"),
                status=str(body.get("status") or "paid"),
                seq=event.seq,
            )
        )
    return loan_cost.LoanFacts(
        principal_minor=integer("principal_minor"),
        received_minor=integer("received_minor"),
        disbursed=disbursed,
        stated_rate_bp=integer("stated_rate_bp"),
        payments=tuple(payments),
    )


def analyse_events(facts: dict[str, object], events: Sequence[stats.Event]) -> CaseAnalysis:
    """The one computation behind the analysis page and every dossier's analysis and audit
    sections."""
    lpr_bp, lpr_date = lpr_setting()
    return CaseAnalysis(
        conduct=conduct.analyse(events),
        loan=loan_cost.loan_cost(loan_facts(facts, events), lpr_bp=lpr_bp, lpr_date=lpr_date),
        events={e.seq: e for e in events},
    )


def case_events(case: Case, tz: tzinfo, *, upto: int | None = None) -> list[stats.Event]:
    """The case's events as the analysis reads them (corrections applied, erased entries
    left out, times in `tz`); with `upto`, of the entries up to that seq only."""
    entries = Entry.objects.filter(case=case, erased_at__isnull=True)
    if upto is not None:
        entries = entries.filter(seq__lte=upto)
    rows = entries.only(
        "seq", "kind", "body", "occurred_at", "recorded_at", "case_id", "erased_at"
    ).iterator(chunk_size=2000)
    return stats.effective_events(list(rows), tz)


def case_analysis(case: Case, tz: tzinfo) -> CaseAnalysis:
    return analyse_events(case.facts(), case_events(case, tz))


def case_conduct(case: Case, tz: tzinfo, *, upto: int) -> conduct.ConductAnalysis:
    """The conduct analysis alone, of the entries up to seq `upto`: what the case page's
    panel keeps (locker/services/case_conduct.py). The same reading and the same
    conduct.analyse call as the analysis page's."""
    return conduct.analyse(case_events(case, tz, upto=upto))
