"""The loan-cost audit (locker.core.loan_cost) against rates computed by hand. Pure."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, localcontext

import pytest

from locker.core import loan_cost as lc

LPR = {"lpr_bp": 300, "lpr_date": date(2025, 5, 20)}
START = date(2026, 1, 1)


def facts(
    *payments: lc.Payment,
    received: int | None = 350000,
    start: date | None = START,
    principal: int | None = 500000,
) -> lc.LoanFacts:
    return lc.LoanFacts(principal, received, start, None, tuple(payments))


def test_seven_day_loan_with_fees_taken_up_front() -> None:
    # 5,000 on the contract, 3,500 received, 5,000 repaid 7 days later:
    # r = (5000 / 3500)^(1/7) − 1 = 0.0522740281…, APR = 365 r = 19.0800202…
    audit = lc.audit(facts(lc.Payment(START + timedelta(days=7), 500000)), **LPR)
    with localcontext() as ctx:
        ctx.prec = 50
        exact = (Decimal(5000) / Decimal(3500)) ** (Decimal(1) / 7) - 1
    assert abs(audit.daily_rate - exact) < Decimal("1e-25")
    assert lc.percent(audit.daily_rate, "0.0001") == "5.2274"
    assert lc.percent(audit.apr, "0.1") == "1,908.0"
    assert audit.cost_minor == 150000
    assert all(above for _line, above in audit.comparisons)
    words = " ".join(lc.plain_words(audit))
    assert "1,908.00 %" in words and "5.2274 % a day" in words


def test_twelve_monthly_instalments_match_an_amortisation_at_a_daily_rate() -> None:
    # 12,000 lent; 12 payments every 30 days at a daily rate of 0.05 % (APR 18.25 %):
    # payment = P i / (1 − (1 + i)^−12), i = 1.0005^30 − 1 = 0.015109… (rounded
    # to the fen: 12,000 / 10.900… = 1,100.91), so the IRR is that rate to within the rounding
    # of the payment.
    i = Decimal("1.0005") ** 30 - 1
    payment = (Decimal(1200000) * i / (1 - (1 + i) ** -12)).quantize(Decimal(1))
    assert payment == 110091
    audit = lc.audit(
        facts(
            *(lc.Payment(START + timedelta(days=30 * k), int(payment)) for k in range(1, 13)),
            received=1200000,
            principal=1200000,
        ),
        **LPR,
    )
    assert abs(audit.daily_rate - Decimal("0.0005")) < Decimal("0.0000002")
    assert abs(audit.apr - Decimal("0.1825")) < Decimal("0.0001")
    # Above the courts' cap (4 × 3 % = 12 %), under 24 %, 36 % and the MAPR.
    assert {line.key: above for line, above in audit.comparisons} == {
        "cn_24": False,
        "cn_36": False,
        "cn_4lpr": True,
        "us_mapr": False,
    }


def test_a_calendar_monthly_loan_is_close_to_its_nominal_rate() -> None:
    # 10,000 at 12 % nominal a year, 12 monthly payments of 888.49 (the textbook
    # amortisation), paid on the 1st of each month: daily IRR × 365 ≈ 12 % (± day counts).
    payments = [
        lc.Payment(date(2026, 1 + k, 1) if k < 12 else date(2027, 1, 1), 88849)
        for k in range(1, 13)
    ]
    audit = lc.audit(facts(*payments, received=1000000, principal=1000000), **LPR)
    assert Decimal("0.1195") < audit.apr < Decimal("0.1205")
    assert Decimal("0.126") < audit.effective < Decimal("0.128")  # (1 + r)^365 − 1 ≈ 12.7 %


def test_demanded_payments_make_a_second_scenario() -> None:
    paid = lc.Payment(START + timedelta(days=7), 200000, "extension_fee", "paid", 5)
    asked = lc.Payment(START + timedelta(days=14), 500000, "repayment", "demanded", 6)
    result = lc.loan_cost(facts(paid, asked), **LPR)
    assert result.paid is not None and result.paid.paid_minor == 200000
    assert result.paid.cost_minor == -150000  # they paid back less than they received so far
    assert result.demanded is not None and result.demanded.paid_minor == 700000
    assert [f.seq for f in result.demanded.flows] == [0, 5, 6]


@pytest.mark.parametrize(
    ("given", "code"),
    [
        (facts(), "no_payments"),
        (facts(lc.Payment(START, 100000)), "no_payments"),  # only on the day itself
        (facts(lc.Payment(START + timedelta(days=3), 1000), received=0), "no_received"),
        (
            facts(lc.Payment(START + timedelta(days=3), 1000), received=None, principal=None),
            "no_received",
        ),
        (facts(lc.Payment(START + timedelta(days=3), 1000), start=None), "no_date"),
        (facts(lc.Payment(START - timedelta(days=1), 1000, seq=9)), "before"),
        (
            facts(lc.Payment(START, 350000), lc.Payment(START + timedelta(days=2), 100)),
            "repaid_at_once",
        ),
    ],
)
def test_impossible_inputs_are_said_in_words(given: lc.LoanFacts, code: str) -> None:
    with pytest.raises(lc.LoanCostError) as caught:
        lc.audit(given, **LPR)
    assert caught.value.code == code
    assert str(caught.value.message)
    if code == "before":
        assert caught.value.seqs == [9]


def test_irr_has_the_root_it_claims() -> None:
    rate = lc.irr_daily([(0, -100000), (10, 60000), (20, 60000)])
    with localcontext() as ctx:
        ctx.prec = 50
        value = -100000 + 60000 / (1 + rate) ** 10 + 60000 / (1 + rate) ** 20
    assert abs(value) < Decimal("1e-18")
