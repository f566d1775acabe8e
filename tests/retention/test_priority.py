from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from retention.models import Alert, Playbook
from retention.priority import expected_value, playbook_save_rates, save_rate_estimate
from retention.selectors import alert_list_for_user
from retention.services import alerts_raise_for_date
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import ChurnScoreFactory, CustomerFactory


@pytest.fixture(autouse=True)
def no_control_group(settings):
    settings.RETENTION_CONTROL_SHARE = 0.0


def test_expected_value_is_probability_times_aum_times_save_rate_minus_cost():
    assert expected_value(probability=0.5, aum_at_risk=100_000, save_rate=0.2, contact_cost=50) == 9_950


def test_save_rate_is_the_prior_until_there_are_outcomes():
    assert save_rate_estimate(worked_n=0, worked_retained=0, control_n=0, control_retained=0, prior=0.15,
                              prior_weight=50) == 0.15


def test_save_rate_moves_towards_the_observed_uplift_as_outcomes_accumulate():
    few = save_rate_estimate(worked_n=20, worked_retained=18, control_n=20, control_retained=12, prior=0.15,
                             prior_weight=50)
    many = save_rate_estimate(worked_n=5000, worked_retained=4500, control_n=5000, control_retained=3000,
                              prior=0.15, prior_weight=50)
    assert 0.15 < few < many
    assert many == pytest.approx(0.3, abs=0.01)


def test_playbook_prior_overrides_the_setting(db, settings):
    settings.RETENTION_SAVE_RATE_PRIOR = 0.1
    Playbook.objects.filter(key="aum_drop").update(save_rate_prior=0.4)
    rates = playbook_save_rates()
    assert rates[Playbook.objects.get(key="aum_drop").pk] == 0.4
    assert rates[Playbook.objects.get(key="segment_product").pk] == 0.1


def test_a_large_account_at_moderate_risk_outranks_a_small_one_at_high_risk(bank, frozen_day):
    small = CustomerFactory(branch=bank.branch, rm=bank.owner)
    ChurnScoreFactory(customer=small, scored_on=RUN_DATE, probability=0.9, aum=Decimal("20000"))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, probability=0.4, aum=Decimal("2000000"))

    alerts_raise_for_date(run_date=timezone.localdate())

    ranked = list(alert_list_for_user(user=bank.owner))
    assert [a.customer for a in ranked] == [bank.customer, small]
    assert [a.rank for a in ranked] == [1, 2]


def test_each_owner_gets_a_daily_budget_and_the_rest_stay_visible_below(bank, frozen_day, settings,
                                                                       django_assert_num_queries):
    settings.RETENTION_DAILY_BUDGET = 3
    for i in range(5):
        customer = CustomerFactory(branch=bank.branch, rm=bank.owner)
        ChurnScoreFactory(customer=customer, scored_on=RUN_DATE, probability=0.5, aum=Decimal(100_000 * (i + 1)))
    colleague_customer = CustomerFactory(branch=bank.branch, rm=bank.colleague)
    ChurnScoreFactory(customer=colleague_customer, scored_on=RUN_DATE, probability=0.1, aum=Decimal(1000))

    alerts_raise_for_date(run_date=timezone.localdate())

    with django_assert_num_queries(2):  # alerts with their joins, then the steps
        alerts = list(alert_list_for_user(user=bank.owner))
        [list(alert.steps.all()) for alert in alerts]
    assert [a.in_budget for a in alerts] == [True, True, True, False, False]
    assert [a.aum for a in alerts] == sorted((a.aum for a in alerts), reverse=True)
    # The colleague's own budget is separate: their one alert is first for them.
    assert Alert.objects.get(owner=bank.colleague).rank == 1
    assert Alert.objects.get(owner=bank.colleague).in_budget


def test_the_list_query_count_does_not_grow_with_the_list(bank, frozen_day, django_assert_num_queries):
    for _ in range(12):
        ChurnScoreFactory(customer=CustomerFactory(branch=bank.branch, rm=bank.owner), scored_on=RUN_DATE)
    alerts_raise_for_date(run_date=RUN_DATE)
    with django_assert_num_queries(2):
        for alert in alert_list_for_user(user=bank.owner, filters={"kind": "model_risk"}):
            _ = (alert.customer.name, alert.playbook.name, alert.owner.username, alert.branch.code,
                 [s.text for s in alert.steps.all()])
    assert RUN_DATE == dt.date(2024, 5, 15)
