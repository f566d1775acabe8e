"""churn.selectors.customer_score_history: the score history on the customer page."""

from __future__ import annotations

import datetime as dt

import pytest

from churn.selectors import customer_score_history
from tests.retention.factories import ChurnScoreFactory, CustomerFactory


@pytest.mark.django_db
def test_the_history_is_one_score_per_night_then_the_older_month_end_scores(settings):
    settings.CHURN_DAILY_SCORE_RETENTION_DAYS = 30
    customer = CustomerFactory()
    for month_end in (dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)):
        ChurnScoreFactory(customer=customer, scored_on=month_end, is_month_end=True)
    # Seven nights ran in April: seven points, not one.
    nights = [ChurnScoreFactory(customer=customer, scored_on=dt.date(2024, 4, day), is_month_end=False)
              for day in range(5, 12)]

    latest, history = customer_score_history(customer=customer, month_ends=1)

    assert latest == nights[-1]
    # The nights of the last 30 days (the 31 March month end among them), then one older month end.
    assert [s.scored_on for s in history] == [
        *[dt.date(2024, 4, day) for day in range(11, 4, -1)], dt.date(2024, 3, 31), dt.date(2024, 2, 29)]


@pytest.mark.django_db
def test_a_latest_score_at_month_end_is_not_listed_twice_and_no_scores_give_nothing():
    customer = CustomerFactory()
    assert customer_score_history(customer=customer) == (None, [])
    month_end = ChurnScoreFactory(customer=customer, scored_on=dt.date(2024, 3, 31), is_month_end=True)

    assert customer_score_history(customer=customer) == (month_end, [month_end])
