"""After a real night (``retention.raising.cases_raise_for_date``), a booked withdrawal is on the
lobby's interception list, a core customer's satisfaction drop on the head's callback queue, and
the walk-in is flagged; a held-out customer's case is on none of them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retention.branch_selectors import callback_tasks_for_user, interception_tasks_for_user, walkin_flags
from retention.models import Case
from retention.raising import cases_raise_for_date
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import AppointmentFactory, MonthlyBalanceFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def night(bank, frozen_day):
    customer = bank.customer
    customer.tier, customer.latest_aum = "platinum", Decimal("800000")
    customer.save()
    for month in (1, 2, 3, 4):
        MonthlyBalanceFactory(customer=customer, month=dt.date(2024, month, 1), aum=Decimal("800000"))
    AppointmentFactory(customer=customer, scheduled_on=RUN_DATE + dt.timedelta(days=1), amount=Decimal("500000"))
    SurveyFactory(customer=customer, surveyed_on=RUN_DATE.replace(day=1), score=9)
    SurveyFactory(customer=customer, surveyed_on=RUN_DATE.replace(day=10), score=3)

    def run():
        cases_raise_for_date(run_date=RUN_DATE)
        return Case.objects.get(customer=customer)

    return run


def test_the_nights_tasks_land_on_the_lobbys_and_the_heads_lists(bank, night, settings):
    settings.RETENTION_CONTROL_SHARE = 0.0
    case = night()

    [interception] = interception_tasks_for_user(user=bank.lobby, today=RUN_DATE)
    assert interception.case == case and interception.owner == bank.lobby
    assert interception.due_on == RUN_DATE + dt.timedelta(days=1)
    # The first call within RETENTION_CALLBACK_DAYS; the check-back call after it comes on once it is made.
    [call] = callback_tasks_for_user(user=bank.head, today=RUN_DATE)
    assert call.case == case and call.owner == bank.head and call.due_on == RUN_DATE + dt.timedelta(days=2)
    assert case.tasks.filter(owner=bank.head, due_on=RUN_DATE + dt.timedelta(days=14)).exists()
    flag = walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk])[bank.customer.pk]
    assert set(flag.signal_labels) == {"Large withdrawal or transfer booked", "Satisfaction fell"}


def test_a_held_out_customers_case_is_on_no_list_and_not_flagged(bank, night, settings):
    settings.RETENTION_CONTROL_SHARE = 1.0
    case = night()

    assert case.is_control
    for user in (bank.lobby, bank.head, bank.owner):
        assert not interception_tasks_for_user(user=user, today=RUN_DATE).exists()
        assert not callback_tasks_for_user(user=user, today=RUN_DATE).exists()
        assert walkin_flags(user=user, customer_ids=[bank.customer.pk]) == {}


def test_a_customer_who_left_is_flagged_as_a_win_back_with_the_month_and_the_aum_lost(bank, frozen_day, settings):
    # The 张思玲: AUM fell 94% (here in December 2023) and stayed down: already left by the
    # churn definition, not "low risk".
    settings.RETENTION_CONTROL_SHARE = 0.0
    months = [dt.date(2023 + (4 + i) // 12, (4 + i) % 12 + 1, 1) for i in range(12)]  # May 2023 .. April 2024
    for month in months:
        aum = "60000" if month >= dt.date(2023, 12, 1) else "1000000"
        MonthlyBalanceFactory(customer=bank.customer, month=month, aum=Decimal(aum))

    cases_raise_for_date(run_date=RUN_DATE)

    flag = walkin_flags(user=bank.lobby, customer_ids=[bank.customer.pk])[bank.customer.pk]
    assert flag.is_win_back and flag.signal_labels == ["Already left (by the churn definition)"]
    assert flag.lost_month == dt.date(2023, 12, 1) and flag.aum_lost == Decimal("940000.00")
