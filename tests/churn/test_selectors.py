"""churn.selectors.customer_score_history: the score history on the customer page."""

from __future__ import annotations

import datetime as dt

import pytest

from churn.selectors import customer_score_history
from tests.retention.factories import ChurnScoreFactory, CustomerFactory


@pytest.mark.django_db
def test_the_history_is_month_end_scores_newest_first_with_the_latest_daily_score_in_front():
    customer = CustomerFactory()
    for month_end in (dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)):
        ChurnScoreFactory(customer=customer, scored_on=month_end, is_month_end=True)
    ChurnScoreFactory(customer=customer, scored_on=dt.date(2024, 4, 10), is_month_end=False)
    latest_daily = ChurnScoreFactory(customer=customer, scored_on=dt.date(2024, 4, 11), is_month_end=False)

    latest, history = customer_score_history(customer=customer, month_ends=2)

    assert latest == latest_daily
    assert [s.scored_on for s in history] == [dt.date(2024, 4, 11), dt.date(2024, 3, 31), dt.date(2024, 2, 29)]


@pytest.mark.django_db
def test_a_latest_score_at_month_end_is_not_listed_twice_and_no_scores_give_nothing():
    customer = CustomerFactory()
    assert customer_score_history(customer=customer) == (None, [])
    month_end = ChurnScoreFactory(customer=customer, scored_on=dt.date(2024, 3, 31), is_month_end=True)

    assert customer_score_history(customer=customer) == (month_end, [month_end])
