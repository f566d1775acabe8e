"""customers.selectors behind the RM's follow-ups and the head's callback queue."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from customers.models import Role
from customers.selectors import (
    contact_follow_ups_due,
    customer_balance_history,
    customer_handover_recipients,
    customer_holdings_by_maturity,
    survey_history,
)
from tests.retention.factories import (
    BranchFactory,
    ContactLogFactory,
    CustomerFactory,
    HoldingFactory,
    MonthlyBalanceFactory,
    SurveyFactory,
    UserFactory,
)

TODAY = dt.date(2024, 5, 15)


@pytest.fixture
def bank(db):
    branch, other = BranchFactory(code="SH01"), BranchFactory(code="BJ01")
    owner = UserFactory(username="rm_owner", branch=branch, role=Role.RM)
    return SimpleNamespace(
        branch=branch, owner=owner,
        colleague=UserFactory(username="rm_colleague", branch=branch, role=Role.RM),
        outsider=UserFactory(username="rm_outsider", branch=other, role=Role.RM),
        head=UserFactory(username="head", branch=branch, role=Role.HEAD),
        customer=CustomerFactory(branch=branch, rm=owner),
    )


def test_follow_ups_due_are_the_last_weeks_on_the_users_customers_earliest_first(bank):
    due = ContactLogFactory(customer=bank.customer, next_step_on=TODAY)
    older = ContactLogFactory(customer=bank.customer, next_step_on=TODAY - dt.timedelta(days=7))
    ContactLogFactory(customer=bank.customer, next_step_on=TODAY - dt.timedelta(days=8))
    ContactLogFactory(customer=bank.customer, next_step_on=TODAY + dt.timedelta(days=1))
    colleagues = CustomerFactory(branch=bank.branch, rm=bank.colleague)
    theirs = ContactLogFactory(customer=colleagues, next_step_on=TODAY)

    assert contact_follow_ups_due(user=bank.owner, today=TODAY) == [older, due]
    assert contact_follow_ups_due(user=bank.head, today=TODAY, limit=1) == [older]
    assert theirs in contact_follow_ups_due(user=bank.head, today=TODAY)
    assert contact_follow_ups_due(user=bank.outsider, today=TODAY) == []


def test_survey_history_keeps_each_customers_latest_surveys_newest_first(bank):
    for day in range(1, 8):
        SurveyFactory(customer=bank.customer, surveyed_on=dt.date(2024, 4, day), score=day)
    other = CustomerFactory(branch=bank.branch, rm=bank.owner)
    SurveyFactory(customer=other, surveyed_on=dt.date(2024, 4, 1), score=9)

    history = survey_history(customer_ids=[bank.customer.pk, other.pk], per_customer=3)

    assert [s.score for s in history[bank.customer.pk]] == [7, 6, 5]
    assert [s.score for s in history[other.pk]] == [9]


def test_balance_history_is_the_last_months_oldest_first(bank):
    for month in range(1, 7):
        MonthlyBalanceFactory(customer=bank.customer, month=dt.date(2024, month, 1), aum=month * 1000)

    rows = customer_balance_history(customer=bank.customer, months=4)

    assert [row["month"].month for row in rows] == [3, 4, 5, 6]
    assert [int(row["aum"]) for row in rows] == [3000, 4000, 5000, 6000]


def test_holdings_show_what_matures_next_then_open_ended_then_matured_latest_first(bank):
    def holding(maturity_on):
        return HoldingFactory(customer=bank.customer, maturity_on=maturity_on)

    later, sooner = holding(TODAY + dt.timedelta(days=30)), holding(TODAY + dt.timedelta(days=3))
    open_ended = holding(None)
    long_ago, recently = holding(TODAY - dt.timedelta(days=90)), holding(TODAY - dt.timedelta(days=2))

    holdings = customer_holdings_by_maturity(customer=bank.customer, today=TODAY)

    assert holdings == [sooner, later, open_ended, recently, long_ago]
    assert [h.days_to_maturity for h in holdings] == [3, 30, None, -2, -90]


def test_hand_over_goes_to_the_rm_or_for_an_unassigned_customer_to_the_branch_head(bank):
    unassigned = CustomerFactory(branch=bank.branch, rm=None)
    other_branch_unassigned = CustomerFactory(branch=bank.outsider.branch, rm=None)

    recipients = customer_handover_recipients(customers=[bank.customer, unassigned, other_branch_unassigned])

    assert recipients == {bank.customer.pk: bank.owner, unassigned.pk: bank.head, other_branch_unassigned.pk: None}
