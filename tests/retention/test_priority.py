"""Save rates and expected value: from measured cases, shown vs held out, shrunk to the prior."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Customer
from retention.models import Case, Playbook
from retention.priority import expected_value, playbook_save_rates, save_rate_estimate
from tests.retention.factories import CaseFactory, CustomerFactory


def test_expected_value_is_probability_times_aum_times_save_rate_minus_cost():
    assert expected_value(probability=0.5, aum_at_risk=100_000, save_rate=0.2, contact_cost=50) == 9_950


def test_save_rate_is_the_prior_until_there_are_outcomes():
    assert save_rate_estimate(shown_n=0, shown_retained=0, control_n=0, control_retained=0, prior=0.15,
                              prior_weight=50) == 0.15
    assert save_rate_estimate(shown_n=100, shown_retained=90, control_n=0, control_retained=0, prior=0.15,
                              prior_weight=50) == 0.15


def test_save_rate_moves_towards_the_observed_uplift_as_outcomes_accumulate():
    few = save_rate_estimate(shown_n=20, shown_retained=18, control_n=20, control_retained=12, prior=0.15,
                             prior_weight=50)
    many = save_rate_estimate(shown_n=5000, shown_retained=4500, control_n=5000, control_retained=3000,
                              prior=0.15, prior_weight=50)
    assert 0.15 < few < many
    assert many == pytest.approx(0.3, abs=0.01)


def test_a_negative_uplift_never_gives_a_negative_save_rate():
    assert save_rate_estimate(shown_n=5000, shown_retained=1000, control_n=5000, control_retained=4000,
                              prior=0.15, prior_weight=50) == 0.0


def test_playbook_prior_overrides_the_setting(db, settings):
    settings.RETENTION_SAVE_RATE_PRIOR = 0.1
    Playbook.objects.filter(key="aum_drop").update(save_rate_prior=0.4)
    rates = playbook_save_rates()
    assert rates[Playbook.objects.get(key="aum_drop").pk] == 0.4
    assert rates[Playbook.objects.get(key="segment_product").pk] == 0.1


def _measured(bank, *, playbook: Playbook, is_control: bool, outcome: str, worked: bool, n: int) -> None:
    customers = Customer.objects.bulk_create(
        [CustomerFactory.build(branch=bank.branch, rm=bank.owner) for _ in range(n)])
    Case.objects.bulk_create([
        CaseFactory.build(customer=c, branch=bank.branch, owner=bank.owner, playbook=playbook, status="cleared",
                          is_control=is_control, outcome=outcome, outcome_measured_on=dt.date(2024, 4, 1),
                          aum_at_window_start=Decimal(1000), aum_kept=Decimal(1000 if outcome == "retained" else 0),
                          worked_at=dt.datetime(2024, 1, 20, tzinfo=dt.UTC) if worked else None)
        for c in customers])


def test_the_save_rate_compares_shown_with_held_out_not_worked(bank, settings):
    settings.RETENTION_SAVE_RATE_PRIOR = 0.15
    settings.RETENTION_SAVE_RATE_PRIOR_WEIGHT = 50
    playbook = Playbook.objects.get(key="aum_drop")
    # Shown: 200 cases, 120 retained (60%); of them the 50 worked were all retained.
    _measured(bank, playbook=playbook, is_control=False, outcome="retained", worked=True, n=50)
    _measured(bank, playbook=playbook, is_control=False, outcome="retained", worked=False, n=70)
    _measured(bank, playbook=playbook, is_control=False, outcome="lost", worked=False, n=80)
    # Held out: 100 cases, 50 retained (50%).
    _measured(bank, playbook=playbook, is_control=True, outcome="retained", worked=False, n=50)
    _measured(bank, playbook=playbook, is_control=True, outcome="lost", worked=False, n=50)

    rate = playbook_save_rates()[playbook.pk]

    expected = save_rate_estimate(shown_n=200, shown_retained=120, control_n=100, control_retained=50, prior=0.15,
                                  prior_weight=50)
    assert rate == pytest.approx(expected)
    # Uplift 0.10 over an effective 66.7 cases, shrunk towards 0.15: strictly between the two.
    assert 0.10 < rate < 0.15
    # Unmeasured cases and other playbooks do not move it.
    CaseFactory(customer=bank.customer, playbook=playbook)
    assert playbook_save_rates()[playbook.pk] == pytest.approx(expected)
    assert playbook_save_rates()[Playbook.objects.get(key="segment_product").pk] == 0.15
