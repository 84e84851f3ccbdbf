"""What the loan really cost (docs/analysis.md, "Loan-cost audit"): the internal rate of
return of the dated cash flows, as an annual rate a user can hold against the lines they
know. Pure: integers in (minor units, dates), Decimals out; no floats anywhere.

The formula, stated once (the dossiers and the analysis page print it):

    received = Σ payment_i / (1 + r)^(d_i)

where d_i is the number of days from the disbursement to payment i and r the daily rate.
r is found by bisection in Decimal arithmetic (60 significant digits, until the bracket is
narrower than 10^-30): with the money going one way on day 0 and the other way after, the
left side falls as r grows, so there is exactly one root and bisection cannot miss it.

    APR = r × 365                  (the actuarial method of Reg Z App. J / the MLA's MAPR,
                                    with the day as unit period; the IRR annualisation
                                    China's central bank asks lenders to disclose, 2021)
    effective annual rate = (1 + r)^365 − 1   (compounded)

The lines: China's 24 % and 36 % (the 2015 private-lending provisions' lines, still how
people speak of them), the judicial cap since 2020 of four times the one-year LPR at the
contract's time (the LPR is an operator setting, LOCKER_LPR_1Y_BP and _DATE), and the US
Military Lending Act's 36 % MAPR."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import get_args

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from locker.core import kinds
from locker.core.money import format_minor

DAYS_PER_YEAR = 365
PRECISION = 60
TOLERANCE = Decimal("1e-30")
MAX_STEPS = 400

WHAT: tuple[str, ...] = get_args(kinds.PaymentWhat)
STATUS: tuple[str, ...] = get_args(kinds.PaymentStatus)


@dataclass(frozen=True)
class Payment:
    """A payment from the borrower (a loan_payment entry, corrections applied)."""

    day: date
    amount_minor: int
    what: str = "repayment"
    status: str = "paid"
    seq: int = 0


@dataclass(frozen=True)
class LoanFacts:
    principal_minor: int | None
    received_minor: int | None
    disbursed: date | None
    stated_rate_bp: int | None  # the annual rate the contract states, in basis points
    payments: tuple[Payment, ...] = ()


@dataclass(frozen=True)
class Line:
    key: str  # "cn_24", "cn_36", "cn_4lpr", "us_mapr"
    label: str | Promise
    rate: Decimal  # a fraction: 0.24


def lines(lpr_bp: int, lpr_date: date | None) -> list[Line]:
    cap = Decimal(4 * lpr_bp) / 10000
    return [
        Line(
            "cn_24",
            _("China: 24 % a year (private lending, the protected line until 2020)"),
            Decimal("0.24"),
        ),
        Line(
            "cn_36",
            _("China: 36 % a year (above it, interest was void until 2020)"),
            Decimal("0.36"),
        ),
        Line(
            "cn_4lpr",
            format_lazy(
                _("China: four times the one-year LPR ({lpr} % on {date}), the courts' cap"),
                lpr=_percent(of_basis_points(lpr_bp)),
                date=lpr_date.isoformat() if lpr_date else "—",
            ),
            cap,
        ),
        Line("us_mapr", _("United States: 36 % MAPR (Military Lending Act)"), Decimal("0.36")),
    ]


class LoanCostError(ValueError):
    """The inputs cannot give a rate; `message` says why in the user's language."""

    def __init__(self, code: str, message: str | Promise, seqs: Sequence[int] = ()) -> None:
        super().__init__(str(code))
        self.code = code
        self.message = message
        self.seqs = list(seqs)


@dataclass(frozen=True)
class Flow:
    day: date
    days: int  # from the disbursement
    amount_minor: int  # the borrower's view: + received, − paid
    what: str  # "received" or a Payment.what
    status: str  # "paid" or "demanded"
    seq: int = 0

    @property
    def abs_minor(self) -> int:
        return abs(self.amount_minor)


@dataclass(frozen=True)
class Audit:
    scenario: str  # "paid" or "demanded" (paid plus what is still demanded)
    flows: list[Flow]
    received_minor: int
    paid_minor: int  # the payments of this scenario together
    daily_rate: Decimal  # r, a fraction
    apr: Decimal  # r × 365
    effective: Decimal  # (1 + r)^365 − 1
    stated_rate_bp: int | None
    comparisons: list[tuple[Line, bool]] = field(default_factory=list)  # (line, above it)

    @property
    def cost_minor(self) -> int:
        return self.paid_minor - self.received_minor


def _present_value(flows: Sequence[tuple[int, Decimal]], rate: Decimal) -> Decimal:
    base = 1 + rate
    return sum((amount / base**days for days, amount in flows), Decimal(0))


def irr_daily(flows: Sequence[tuple[int, int]]) -> Decimal:
    """The daily rate r at which the flows (days from the start, amount in minor units from
    the lender's side: − lent, + repaid) are worth nothing on day 0. Raises LoanCostError
    when there is no such rate."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        values = [(days, Decimal(amount)) for days, amount in flows]
        at_start = sum((a for d, a in values if d == 0), Decimal(0))
        later = sum((a for d, a in values if d > 0), Decimal(0))
        if later <= 0:
            raise LoanCostError("no_payments", NO_PAYMENTS)
        if at_start >= 0:
            raise LoanCostError("repaid_at_once", REPAID_AT_ONCE)
        low, high = Decimal("-0.999999"), Decimal(1)
        if _present_value(values, low) < 0:
            raise LoanCostError("no_rate", NO_RATE)
        steps = 0
        while _present_value(values, high) > 0:
            high *= 2
            steps += 1
            if steps > 200:
                raise LoanCostError("no_rate", NO_RATE)
        for _step in range(MAX_STEPS):
            middle = (low + high) / 2
            if _present_value(values, middle) > 0:
                low = middle
            else:
                high = middle
            if high - low < TOLERANCE:
                break
        return (low + high) / 2


NO_PAYMENTS = _("No payment is recorded after the day the money was received, so no rate.")
REPAID_AT_ONCE = _("What was paid on the day of the loan is as much as was received: no rate.")
NO_RATE = _("These amounts and dates give no rate (the payments are less than nothing).")
NO_RECEIVED = _("The amount actually received is missing or not more than zero.")
NO_DATE = _("The date the money was received (the loan start date) is missing.")
BEFORE = _("A payment is dated before the money was received: please correct its date.")


def flows_of(facts: LoanFacts, scenario: str = "paid") -> list[Flow]:
    """The dated cash flows of a scenario, the borrower's view, in date order. Raises
    LoanCostError for inputs no rate can come from."""
    received = facts.received_minor
    if received is None:
        received = facts.principal_minor
    if received is None or received <= 0:
        raise LoanCostError("no_received", NO_RECEIVED)
    if facts.disbursed is None:
        raise LoanCostError("no_date", NO_DATE)
    wanted = ("paid",) if scenario == "paid" else STATUS
    payments = [p for p in facts.payments if p.status in wanted and p.amount_minor > 0]
    early = [p.seq for p in payments if p.day < facts.disbursed]
    if early:
        raise LoanCostError("before", BEFORE, early)
    if not payments:
        raise LoanCostError("no_payments", NO_PAYMENTS)
    start = facts.disbursed
    flows = [Flow(start, 0, received, "received", "paid")]
    for p in sorted(payments, key=lambda p: (p.day, p.seq)):
        flows.append(Flow(p.day, (p.day - start).days, -p.amount_minor, p.what, p.status, p.seq))
    return flows


def audit(facts: LoanFacts, *, scenario: str = "paid", lpr_bp: int, lpr_date: date | None) -> Audit:
    flows = flows_of(facts, scenario)
    rate = irr_daily([(f.days, -f.amount_minor) for f in flows])
    with localcontext() as ctx:
        ctx.prec = PRECISION
        apr = rate * DAYS_PER_YEAR
        effective = (1 + rate) ** DAYS_PER_YEAR - 1
    paid = -sum(f.amount_minor for f in flows if f.what != "received")
    return Audit(
        scenario=scenario,
        flows=flows,
        received_minor=flows[0].amount_minor,
        paid_minor=paid,
        daily_rate=rate,
        apr=apr,
        effective=effective,
        stated_rate_bp=facts.stated_rate_bp,
        comparisons=[(line, apr > line.rate) for line in lines(lpr_bp, lpr_date)],
    )


@dataclass(frozen=True)
class LoanCost:
    """Both scenarios, or why each cannot be computed."""

    paid: Audit | None
    paid_error: LoanCostError | None
    demanded: Audit | None  # only when something is still demanded
    demanded_error: LoanCostError | None
    facts: LoanFacts
    lpr_bp: int
    lpr_date: date | None

    @property
    def has_inputs(self) -> bool:
        return bool(self.facts.payments) or self.facts.received_minor is not None


def loan_cost(facts: LoanFacts, *, lpr_bp: int, lpr_date: date | None) -> LoanCost:
    results: dict[str, tuple[Audit | None, LoanCostError | None]] = {}
    for scenario in STATUS:
        if scenario == "demanded" and not any(p.status == "demanded" for p in facts.payments):
            results[scenario] = (None, None)
            continue
        try:
            results[scenario] = (
                audit(facts, scenario=scenario, lpr_bp=lpr_bp, lpr_date=lpr_date),
                None,
            )
        except LoanCostError as exc:
            results[scenario] = (None, exc)
    return LoanCost(
        paid=results["paid"][0],
        paid_error=results["paid"][1],
        demanded=results["demanded"][0],
        demanded_error=results["demanded"][1],
        facts=facts,
        lpr_bp=lpr_bp,
        lpr_date=lpr_date,
    )


def _percent(fraction: Decimal, places: str = "0.01") -> str:
    """A fraction as a percentage with two decimals, grouped: 19.08 -> "1,908.00"."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        value = (fraction * 100).quantize(Decimal(places), rounding=ROUND_HALF_EVEN)
    return f"{value:,}"


def percent(fraction: Decimal, places: str = "0.01") -> str:
    return _percent(fraction, places)


def rate_text(fraction: Decimal, places: str = "0.01") -> str:
    """A rate as the audit prints it beside its label: 0.24 -> "24.00 %"."""
    return f"{_percent(fraction, places)} %"


def of_basis_points(bp: int) -> Decimal:
    """A rate given in basis points (the case's stated_rate_bp) as a fraction: 2400 -> 0.24."""
    return Decimal(bp) / 10000


def plain_words(result: Audit) -> list[str]:
    """The audit in sentences a borrower reads (the active language)."""
    if result.cost_minor < 0:
        # Less paid back than received: the loan is not repaid, and a negative rate compared
        # with the legal lines ("not above 24 %") would read as a finding it is not.
        return [
            str(
                format_lazy(
                    _(
                        "You received {received} and have paid {paid} so far, less than you "
                        "received: the loan is not repaid, so these payments give no rate of "
                        "its cost to compare with the legal lines (their rate, {apr} % a year, "
                        "is negative). Where amounts are still demanded, the scenario with "
                        "them shows what paying them would cost."
                    ),
                    received=_major(result.received_minor),
                    paid=_major(result.paid_minor),
                    apr=_percent(result.apr),
                )
            )
        ]
    sentences = [
        str(
            format_lazy(
                _(
                    "You received {received} and paid {paid}: the loan cost {cost}. Counted "
                    "by day, that is {daily} % a day, an annual rate (APR) of {apr} %; "
                    "compounded over a year, {effective} %."
                ),
                received=_major(result.received_minor),
                paid=_major(result.paid_minor),
                cost=_major(result.cost_minor),
                daily=_percent(result.daily_rate, "0.0001"),
                apr=_percent(result.apr),
                effective=_percent(result.effective) if result.effective < 10**9 else "> 10⁹",
            )
        )
    ]
    if result.stated_rate_bp is not None:
        sentences.append(
            str(
                format_lazy(
                    _("The contract states {stated} % a year."),
                    stated=_percent(of_basis_points(result.stated_rate_bp)),
                )
            )
        )
    for line, above in result.comparisons:
        if line.rate <= 0:
            continue
        times = (result.apr / line.rate).quantize(Decimal("0.1"))
        sentences.append(
            str(
                format_lazy(
                    _("Above the line “{line}”: {times} times it.")
                    if above
                    else _("Not above the line “{line}”."),
                    line=line.label,
                    times=f"{times:,}",
                )
            )
        )
    return sentences


def _major(minor: int) -> str:
    return format_minor(minor)


FORMULA = _(
    "received = Σ paymentᵢ / (1 + r)^dᵢ, dᵢ = days from the money received to payment i; "
    "r found by bisection; APR = r × 365; effective annual rate = (1 + r)^365 − 1."
)
