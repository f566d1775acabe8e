"""What the rules read (``retention.rules.RuleContext``), held compactly for a million customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import CustomerStatus
from retention.rules import MonthRun, RuleContext, rule_aum_drop, rule_own_maturity
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import (
    ChurnScoreFactory,
    CustomerFactory,
    HoldingFactory,
    MonthlyBalanceFactory,
    ProductFactory,
)


def _months(customer, *months_and_aum: tuple[dt.date, str]) -> None:
    for month, aum in months_and_aum:
        MonthlyBalanceFactory(customer=customer, month=month, aum=Decimal(aum))


def test_balances_keep_the_last_three_consecutive_months_before_the_cutoff(bank):
    feb, mar, apr, may = (dt.date(2024, m, 1) for m in (2, 3, 4, 5))
    jan = dt.date(2024, 1, 1)
    full = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _months(full, (jan, "1"), (feb, "2"), (mar, "3"), (apr, "4"), (may, "5"))  # May: after the cutoff
    gap = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _months(gap, (feb, "20"), (apr, "40"))  # March missing: only April counts
    gap_early = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _months(gap_early, (jan, "1"), (mar, "30"), (apr, "40"))  # January is out of the window anyway
    closed = CustomerFactory(branch=bank.branch, rm=bank.owner, status=CustomerStatus.CLOSED)
    _months(closed, (mar, "3"), (apr, "4"))

    balances = RuleContext(run_date=RUN_DATE, data_month=apr).balances

    assert balances[full.pk] == [(feb, Decimal("2.00")), (mar, Decimal("3.00")), (apr, Decimal("4.00"))]
    assert balances[gap.pk] == [(apr, Decimal("40.00"))]
    assert balances[gap_early.pk] == [(mar, Decimal("30.00")), (apr, Decimal("40.00"))]
    assert closed.pk not in balances
    assert bank.customer.pk not in balances  # no balances at all


def test_balances_without_a_data_month_end_with_the_month_before_the_run_date(bank):
    _months(bank.customer, (dt.date(2024, 4, 1), "4"), (dt.date(2024, 5, 1), "5"))
    assert RuleContext(run_date=RUN_DATE).balances[bank.customer.pk] == [(dt.date(2024, 4, 1), Decimal("4.00"))]


def test_latest_scores_for_reads_the_latest_day_of_the_customers_asked_once(bank):
    other = CustomerFactory(branch=bank.branch, rm=bank.owner)
    unscored = CustomerFactory(branch=bank.branch, rm=bank.owner)
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE - dt.timedelta(days=1), probability=0.2)
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, probability=0.7, risk_band="high")
    ChurnScoreFactory(customer=other, scored_on=RUN_DATE, probability=0.4, risk_band="medium")
    ctx = RuleContext(run_date=RUN_DATE)

    scores = ctx.latest_scores_for([bank.customer.pk, unscored.pk])
    assert scores[bank.customer.pk].probability == 0.7 and scores[bank.customer.pk].risk_band == "high"
    assert unscored.pk not in scores and other.pk not in scores
    with CaptureQueriesContext(connection) as queries:
        again = ctx.latest_scores_for([bank.customer.pk, unscored.pk])
    assert len(queries) == 0 and again[bank.customer.pk] == scores[bank.customer.pk]
    assert ctx.latest_scores_for([other.pk])[other.pk].probability == 0.4
    assert set(ctx.latest_scores) == {bank.customer.pk, other.pk}


def test_own_maturity_reasons_end_with_the_first_three_of_the_latest_score(bank):
    reasons = [{"feature": f"f{n}", "contribution": 0.1 * n, "value": n} for n in range(5)]
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, risk_band="high", reasons=reasons)
    HoldingFactory(customer=bank.customer, product=ProductFactory(is_ours=True),
                   maturity_on=RUN_DATE + dt.timedelta(days=5))
    low = CustomerFactory(branch=bank.branch, rm=bank.owner)  # not at risk: no rollover call
    ChurnScoreFactory(customer=low, scored_on=RUN_DATE, risk_band="low", probability=0.05)
    HoldingFactory(customer=low, product=ProductFactory(is_ours=True), maturity_on=RUN_DATE + dt.timedelta(days=5))
    unscored = CustomerFactory(branch=bank.branch, rm=bank.owner)
    HoldingFactory(customer=unscored, product=ProductFactory(is_ours=True),
                   maturity_on=RUN_DATE + dt.timedelta(days=5))

    [trigger] = rule_own_maturity(RuleContext(run_date=RUN_DATE))
    assert trigger.customer_id == bank.customer.pk

    assert trigger.reasons[0]["feature"] == "own_product_matures"
    assert trigger.reasons[1:] == reasons[:3]


def test_a_month_run_reads_as_month_and_amount_pairs():
    run = MonthRun(dt.date(2023, 11, 1), (12345, 100000, -5))
    assert len(run) == 3
    assert run[0] == (dt.date(2023, 11, 1), Decimal("123.45"))
    assert run[-1] == (dt.date(2024, 1, 1), Decimal("-0.05"))
    assert str(run[1][1]) == "1000.00"  # two places, as the database's amount reads
    assert run[-2:] == [(dt.date(2023, 12, 1), Decimal("1000.00")), (dt.date(2024, 1, 1), Decimal("-0.05"))]
    with pytest.raises(IndexError):
        run[3]


def test_the_balance_rules_read_the_amounts_as_the_database_holds_them(bank):
    _months(bank.customer, (dt.date(2024, 3, 1), "100000.00"), (dt.date(2024, 4, 1), "60000.50"))
    [drop] = rule_aum_drop(RuleContext(run_date=RUN_DATE))
    assert drop.customer_id == bank.customer.pk and drop.aum_at_risk == Decimal("60000.50")
    assert drop.details["aum"] == "60000.50" and drop.details["previous_aum"] == "100000.00"
    assert drop.reasons[0]["value"] == round(60000.50 / 100000 - 1, 4)


def test_balance_candidates_are_the_runs_of_the_customers_a_balance_rule_could_fire_for(bank):
    feb, mar, apr = (dt.date(2024, m, 1) for m in (2, 3, 4))
    dropped = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _months(dropped, (mar, "100000"), (apr, "69000"))  # a 31% fall: the AUM-drop rule
    steady = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _months(steady, (feb, "100000"), (mar, "101000"), (apr, "99000"))
    near_floor = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _months(near_floor, (mar, "600000"), (apr, "540000"))  # falling to just above platinum's floor
    recovered = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _months(recovered, (feb, "200000"), (mar, "150000"), (apr, "205000"))  # the prize draw's rule
    gap = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _months(gap, (feb, "100000"), (apr, "10000"))  # March missing: no month to compare April with
    closed = CustomerFactory(branch=bank.branch, rm=bank.owner, status=CustomerStatus.CLOSED)
    _months(closed, (mar, "100000"), (apr, "10000"))

    ctx = RuleContext(run_date=RUN_DATE, data_month=apr)
    candidates = ctx.balance_candidates

    assert set(candidates) == {dropped.pk, near_floor.pk, recovered.pk}
    for pk, run in candidates.items():
        assert run == ctx.balances[pk]  # the same months and amounts as the whole context's


def test_customers_for_reads_the_active_customers_asked_once(bank):
    closed = CustomerFactory(branch=bank.branch, rm=bank.owner, status=CustomerStatus.CLOSED)
    ctx = RuleContext(run_date=RUN_DATE)

    facts = ctx.customers_for([bank.customer.pk, closed.pk])
    assert facts[bank.customer.pk].branch_id == bank.branch.pk and facts[bank.customer.pk].rm_id == bank.owner.pk
    assert closed.pk not in facts
    with CaptureQueriesContext(connection) as queries:
        again = ctx.customers_for([bank.customer.pk, closed.pk])
    assert len(queries) == 0 and again[bank.customer.pk] == facts[bank.customer.pk]
    assert set(ctx.customers) == set(facts)  # every active customer: here, the bank's one
