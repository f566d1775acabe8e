"""The hold-out: drawn per customer and measurement period, never per case or signal."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.utils import timezone

from retention.control import control_draw, is_held_out, period_start
from retention.models import Case
from retention.raising import cases_raise_for_date
from retention.selectors import case_scope_for_user, task_scope_for_user
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import AppointmentFactory, ChurnScoreFactory, CustomerFactory

QUARTER = dt.date(2024, 4, 1)


def test_the_held_out_share_holds_within_sampling_error_over_5000_customers():
    share, n = 0.10, 5000
    held = sum(is_held_out(draw=control_draw(customer_key=f"C{i:06d}", period=QUARTER, salt="s"), share=share)
               for i in range(n))
    # Four standard errors: fails by chance about once in 16,000 runs (and the draw is deterministic anyway).
    assert abs(held / n - share) < 4 * math.sqrt(share * (1 - share) / n)


def test_the_draw_is_deterministic_and_depends_on_customer_period_and_salt():
    draw = control_draw(customer_key="C000001", period=QUARTER, salt="a")
    assert draw == control_draw(customer_key="C000001", period=QUARTER, salt="a") and 0 <= draw < 1
    customers = [f"C{i}" for i in range(50)]
    by_salt = [[control_draw(customer_key=c, period=QUARTER, salt=salt) for c in customers] for salt in "ab"]
    by_period = [[control_draw(customer_key=c, period=p, salt="a") for c in customers]
                 for p in (QUARTER, dt.date(2024, 7, 1))]
    assert by_salt[0] != by_salt[1] and by_period[0] != by_period[1]


@pytest.mark.parametrize(("day", "months", "start"), [
    (dt.date(2024, 5, 15), 3, dt.date(2024, 4, 1)), (dt.date(2024, 12, 31), 3, dt.date(2024, 10, 1)),
    (dt.date(2024, 5, 15), 1, dt.date(2024, 5, 1)), (dt.date(2024, 5, 15), 12, dt.date(2024, 1, 1)),
])
def test_periods_are_calendar_periods(day, months, start):
    assert period_start(day, months=months) == start


def test_a_period_that_does_not_divide_the_year_is_refused():
    with pytest.raises(ValueError):
        period_start(RUN_DATE, months=5)


def test_held_out_cases_are_recorded_but_shown_to_nobody(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 1.0  # hold out everyone
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE)

    counts = cases_raise_for_date(run_date=timezone.localdate())

    case = Case.objects.get()
    assert counts["held_out"] == 1 and case.is_control and case.signals.count() == 2
    assert not case.tasks.exists()
    for user in (bank.owner, bank.head, bank.lobby):
        assert not case_scope_for_user(user=user).exists()
        assert not task_scope_for_user(user=user).exists()


def test_a_rerun_does_not_move_anyone_between_the_groups(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 0.5
    for _ in range(40):
        ChurnScoreFactory(customer=CustomerFactory(branch=bank.branch, rm=bank.owner), scored_on=RUN_DATE)
    cases_raise_for_date(run_date=RUN_DATE)
    before = dict(Case.objects.values_list("pk", "is_control"))
    assert 0 < sum(before.values()) < 40

    cases_raise_for_date(run_date=RUN_DATE)
    assert dict(Case.objects.values_list("pk", "is_control")) == before


def test_a_customer_held_out_for_one_signal_is_held_out_for_every_signal_of_the_period(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 0.5
    customers = [CustomerFactory(branch=bank.branch, rm=bank.owner) for _ in range(30)]
    for customer in customers:
        ChurnScoreFactory(customer=customer, scored_on=RUN_DATE)
    cases_raise_for_date(run_date=RUN_DATE)
    first = dict(Case.objects.values_list("customer_id", "is_control"))
    # A month later, in the same quarter: the model's cases closed, a booking opens new ones.
    Case.objects.update(status="dismissed")
    from retention.models import Signal

    Signal.objects.update(is_active=False)
    later = RUN_DATE + dt.timedelta(days=31)
    for customer in customers:
        AppointmentFactory(customer=customer, scheduled_on=later)
    cases_raise_for_date(run_date=later)

    second = dict(Case.objects.filter(opened_on=later).values_list("customer_id", "is_control"))
    assert second and all(second[customer] == first[customer] for customer in second)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_extreme_shares(share):
    draws = [control_draw(customer_key=str(i), period=QUARTER, salt="s") for i in range(100)]
    assert sum(is_held_out(draw=d, share=share) for d in draws) == 100 * share
