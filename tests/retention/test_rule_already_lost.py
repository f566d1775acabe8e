"""rule_already_lost: customers who have already left by the churn definition get a win-back signal.

Run date 2024-05-15: the latest known month is April 2024; the look-back (six months by
default) covers November 2023 to April 2024. Balances start in May 2023.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from churn.reasons import render_reasons
from core.months import add_months
from retention import rules
from retention.models import OwnerRole, Playbook, SignalKind
from retention.rules import RULES, RuleContext, already_lost_candidates, rule_already_lost
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CustomerFactory, MonthlyBalanceFactory

FIRST = dt.date(2023, 5, 1)
APRIL = dt.date(2024, 4, 1)
MONTHS = [add_months(FIRST, i) for i in range(12)]  # May 2023 .. April 2024


def history(customer, amounts: dict[dt.date, str], *, default: str | None = "1000000", months=MONTHS) -> None:
    """One balance row per month: ``amounts`` where given, else ``default`` (None: no row)."""
    for month in months:
        aum = amounts.get(month, default)
        if aum is not None:
            MonthlyBalanceFactory(customer=customer, month=month, aum=Decimal(aum))


def from_month(start: dt.date, aum: str) -> dict[dt.date, str]:
    return {month: aum for month in MONTHS if month >= start}


def lost_today(**context) -> dict[int, object]:
    return {t.customer_id: t for t in rule_already_lost(RuleContext(run_date=RUN_DATE, **context))}


@pytest.fixture
def steady(db):
    """A customer whose AUM never moves: there is always someone with the latest month."""
    customer = CustomerFactory(customer_id="STEADY")
    history(customer, {})
    return customer


def test_a_customer_whose_aum_fell_94_percent_five_months_ago_has_left_in_that_month(steady):
    customer = CustomerFactory(customer_id="LEFT")
    history(customer, from_month(dt.date(2023, 12, 1), "60000"))

    found = lost_today()

    assert list(found) == [customer.pk]
    trigger = found[customer.pk]
    assert trigger.kind == SignalKind.ALREADY_LOST
    assert trigger.playbook_key == "win_back" and trigger.owner_role == OwnerRole.RM
    assert trigger.details["lost_month"] == "2023-12-01"
    assert trigger.details["aum_lost"] == "940000.00"
    assert trigger.details["aum_before"] == "1000000.00"
    assert trigger.details["criterion"] == "aum_drop"
    # What a win-back would bring back; leaving is a fact, not a risk.
    assert trigger.aum_at_risk == Decimal("940000.00")
    assert trigger.probability == 1.0
    assert trigger.event_on == dt.date(2023, 12, 1)
    [reason] = trigger.reasons
    assert reason["feature"] == "already_lost" and reason["contribution"] is None
    assert reason["value"] == 0.94


def test_the_reason_reads_in_plain_words_in_both_languages(steady):
    customer = CustomerFactory(customer_id="LEFT")
    history(customer, from_month(dt.date(2023, 12, 1), "60000"))
    reasons = lost_today()[customer.pk].reasons

    with translation.override("en"):
        assert render_reasons(reasons) == [
            "Left in December 2023 by the churn definition: AUM down 94% from 1,000,000 CNY to 60,000 CNY"]
    with translation.override("zh-hans"):
        assert render_reasons(reasons) == ["已于2023年12月按流失定义流失：资产从1,000,000元降至60,000元，下降94%"]


def test_a_customer_who_dipped_and_recovered_has_not_left(steady):
    dipped = CustomerFactory(customer_id="DIPPED")
    history(dipped, {dt.date(2024, 1, 1): "60000"})  # below half of the average for one month, then back
    wobbly = CustomerFactory(customer_id="WOBBLY")
    history(wobbly, {dt.date(2024, 2, 1): "700000", dt.date(2024, 3, 1): "650000"})  # never below half

    assert lost_today() == {}


def test_a_customer_who_came_back_and_left_again_left_in_the_later_month(steady):
    customer = CustomerFactory(customer_id="RELAPSE")
    history(customer, {dt.date(2023, 12, 1): "60000", dt.date(2024, 1, 1): "60000", dt.date(2024, 4, 1): "50000"})

    trigger = lost_today()[customer.pk]

    assert trigger.details["lost_month"] == "2024-04-01"
    assert trigger.details["aum_lost"] == "950000.00"


def test_falling_out_of_the_tier_for_the_rest_of_the_window_is_leaving(steady):
    customer = CustomerFactory(customer_id="DOWNGRADED")
    # Platinum (>= 500,000) to gold: a third lost, not half, but a tier lower to the end.
    history(customer, from_month(dt.date(2024, 1, 1), "400000"), default="600000")

    trigger = lost_today()[customer.pk]

    assert trigger.details["lost_month"] == "2024-01-01"
    assert trigger.details["criterion"] == "tier_downgrade"
    assert trigger.details["aum_lost"] == "200000.00"
    with translation.override("en"):
        assert render_reasons(trigger.reasons) == [
            "Left in January 2024 by the churn definition: fell out of the platinum tier, AUM down from "
            "600,000 CNY to 400,000 CNY"]


def test_a_customer_the_bank_stopped_exporting_has_closed_by_the_definition(steady):
    customer = CustomerFactory(customer_id="GONE")
    history(customer, {month: None for month in MONTHS if month >= dt.date(2024, 2, 1)})

    trigger = lost_today()[customer.pk]

    assert trigger.details["lost_month"] == "2024-02-01"
    assert trigger.details["criterion"] == "closed"
    assert trigger.details["aum_lost"] == "1000000.00"


def test_a_customer_under_the_minimum_average_aum_is_not_scored_by_the_definition_so_not_lost(steady, settings):
    customer = CustomerFactory(customer_id="SMALL")
    history(customer, from_month(dt.date(2024, 1, 1), "10"), default="900")  # average 900 < 1,000 CNY

    assert lost_today() == {}

    # The threshold is the definition's own setting, not one of the rule's.
    settings.CHURN_MIN_AVG_AUM = 500
    # ... and 890 CNY lost is under RETENTION_WIN_BACK_MIN_AUM_LOST: not worth a win-back case.
    assert lost_today() == {}
    settings.RETENTION_WIN_BACK_MIN_AUM_LOST = 0
    assert lost_today()[customer.pk].details["aum_lost"] == "890.00"


def test_a_later_months_balance_is_not_used(steady):
    # The run date's own month (May) is not finished: its row is not known on 15 May.
    leaves_in_may = CustomerFactory(customer_id="MAY")
    history(leaves_in_may, {})
    MonthlyBalanceFactory(customer=leaves_in_may, month=dt.date(2024, 5, 1), aum=Decimal("1000"))
    comes_back_in_may = CustomerFactory(customer_id="BACK-IN-MAY")
    history(comes_back_in_may, from_month(dt.date(2024, 2, 1), "60000"))
    MonthlyBalanceFactory(customer=comes_back_in_may, month=dt.date(2024, 5, 1), aum=Decimal("1000000"))

    assert list(lost_today()) == [comes_back_in_may.pk]
    # A nightly run pinned to March's balances does not see April either.
    leaves_in_april = CustomerFactory(customer_id="APRIL")
    history(leaves_in_april, {APRIL: "1000"})
    assert leaves_in_april.pk in lost_today()
    assert leaves_in_april.pk not in lost_today(data_month=dt.date(2024, 3, 1))


def test_a_loss_before_the_look_back_is_not_tonights_news(steady, settings):
    customer = CustomerFactory(customer_id="LONG-AGO")
    history(customer, from_month(dt.date(2023, 8, 1), "60000"))  # nine months before the run date

    assert lost_today() == {}

    settings.RETENTION_WIN_BACK_LOOKBACK_MONTHS = 12
    assert lost_today()[customer.pk].details["lost_month"] == "2023-08-01"


def test_a_few_queries_read_only_the_candidates_rows_however_many_customers(steady, monkeypatch):
    for n in range(60):
        history(CustomerFactory(customer_id=f"KEPT-{n}"), {APRIL: "900000"})  # down 10%: not a candidate
    left = [CustomerFactory(customer_id=f"LEFT-{n}") for n in range(3)]
    for customer in left:
        history(customer, from_month(dt.date(2023, 12, 1), "60000"))
    ctx = RuleContext(run_date=RUN_DATE)

    with CaptureQueriesContext(connection) as queries:
        candidates = already_lost_candidates(ctx)
    # The latest known month, the candidates (one aggregate over the months read), their rows.
    assert len(queries) == 3
    assert candidates is not None and candidates.last_month == APRIL
    assert candidates.customer_count == 3
    assert len(candidates.rows) == 3 * len(MONTHS)

    with CaptureQueriesContext(connection) as queries:
        found = rule_already_lost(ctx)
    assert len(queries) == 3
    assert sorted(t.customer_id for t in found) == sorted(c.pk for c in left)

    # Many candidates: their rows are read in batches, and the result is the same.
    monkeypatch.setattr(rules, "_CANDIDATE_BATCH", 2)
    with CaptureQueriesContext(connection) as queries:
        again = rule_already_lost(ctx)
    assert len(queries) == 4
    assert [t.details for t in again] == [t.details for t in found]


def test_no_balances_at_all_finds_nobody(db):
    assert rule_already_lost(RuleContext(run_date=RUN_DATE)) == []


def test_the_rule_is_run_every_night_with_the_win_back_playbook(db):
    assert RULES[SignalKind.ALREADY_LOST] is rule_already_lost
    assert Playbook.objects.filter(key="win_back", signal_kind=SignalKind.ALREADY_LOST, is_active=True).exists()


def test_the_night_opens_a_win_back_case_with_the_month_and_the_aum_lost(steady, settings, frozen_day):
    from retention.models import Case, CaseKind
    from retention.raising import cases_raise_for_date

    settings.RETENTION_CONTROL_SHARE = 0.0
    customer = CustomerFactory(customer_id="LEFT")
    history(customer, from_month(dt.date(2023, 12, 1), "60000"))

    cases_raise_for_date(run_date=RUN_DATE)

    case = Case.objects.get(customer=customer)
    assert case.kind == CaseKind.WIN_BACK and case.playbook.key == "win_back"
    assert case.owner == customer.rm
    assert (case.lost_month, case.aum_lost) == (dt.date(2023, 12, 1), Decimal("940000.00"))
    assert case.aum_at_risk == Decimal("940000.00") and case.probability == 1.0
    assert case.tasks.filter(owner=customer.rm).exists()
    assert not Case.objects.filter(customer=steady).exists()
