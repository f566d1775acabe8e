from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retention.measuring import case_outcomes_mark
from retention.models import Case, CaseStatus, TaskStatus
from retention.raising import cases_raise_for_date
from tests.retention.factories import ChurnScoreFactory, CustomerFactory, MonthlyBalanceFactory

MONTHS = [dt.date(2024, m, 1) for m in range(2, 8)]  # Feb..Apr baseline, May..Jul window


@pytest.fixture(autouse=True)
def no_control_group(settings):
    settings.RETENTION_CONTROL_SHARE = 0.0


def history(customer, amounts):
    for month, aum in zip(MONTHS, amounts, strict=True):
        MonthlyBalanceFactory(customer=customer, month=month, aum=Decimal(aum))


def test_outcomes_are_measured_at_the_end_of_the_window_by_the_churn_definition(bank):
    stayed = bank.customer
    left = CustomerFactory(branch=bank.branch, rm=bank.owner)
    history(stayed, [100_000, 100_000, 100_000, 95_000, 110_000, 120_000])
    history(left, [100_000, 100_000, 100_000, 90_000, 60_000, 40_000])  # below 50% of the baseline
    for customer in (stayed, left):
        ChurnScoreFactory(customer=customer, scored_on=dt.date(2024, 5, 15))
    cases_raise_for_date(run_date=dt.date(2024, 5, 15))

    assert case_outcomes_mark(as_of=dt.date(2024, 7, 31)) == {
        "retained": 0, "lost": 0, "not_measurable": 0, "waiting_for_data": 0}
    counts = case_outcomes_mark(as_of=dt.date(2024, 8, 2))

    assert counts["retained"] == 1 and counts["lost"] == 1
    kept = Case.objects.get(customer=stayed)
    lost = Case.objects.get(customer=left)
    assert (kept.outcome, kept.aum_kept, kept.status) == ("retained", Decimal("100000.00"),
                                                          CaseStatus.CLOSED_RETAINED)
    assert (lost.outcome, lost.aum_kept, lost.status) == ("lost", Decimal("40000.00"), CaseStatus.CLOSED_LOST)
    # Closing a case ends its signals and cancels its open tasks.
    assert not kept.signals.filter(is_active=True).exists()
    assert not kept.tasks.filter(status=TaskStatus.OPEN).exists()
    # Measured once: a rerun changes nothing.
    assert case_outcomes_mark(as_of=dt.date(2024, 8, 3))["retained"] == 0
