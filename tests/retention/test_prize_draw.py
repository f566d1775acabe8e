from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from retention.models import PrizeDraw
from retention.prize import prize_draw_run, prize_draw_winners
from retention.raising import cases_raise_for_date
from tests.retention.factories import CustomerFactory, MonthlyBalanceFactory


def test_the_same_seed_draws_the_same_winners():
    eligible = [f"C{i:04d}" for i in range(50)]
    first = prize_draw_winners(eligible=eligible, seed="abc", winners=5)
    assert first == prize_draw_winners(eligible=list(reversed(eligible)), seed="abc", winners=5)
    assert first != prize_draw_winners(eligible=eligible, seed="abd", winners=5)
    assert len(set(first)) == 5


@pytest.fixture
def recovered_customers(bank, settings):
    settings.RETENTION_CONTROL_SHARE = 0.0
    customers = []
    for _ in range(6):
        customer = CustomerFactory(branch=bank.branch, rm=bank.owner)
        for month, aum in ((dt.date(2024, 2, 1), 200_000), (dt.date(2024, 3, 1), 120_000),
                           (dt.date(2024, 4, 1), 210_000)):
            MonthlyBalanceFactory(customer=customer, month=month, aum=Decimal(aum))
        customers.append(customer)
    cases_raise_for_date(run_date=dt.date(2024, 5, 3))
    return customers


def test_a_draw_is_recorded_with_its_seed_and_who_ran_it_and_can_be_replayed(bank, recovered_customers):
    draw = prize_draw_run(month=dt.date(2024, 4, 1), winners=2, run_by=bank.head)

    assert draw.eligible == sorted(c.customer_id for c in recovered_customers)
    assert len(draw.winners) == 2 and set(draw.winners) <= set(draw.eligible)
    assert draw.run_by == bank.head and draw.run_at is not None
    assert prize_draw_winners(eligible=draw.eligible, seed=draw.seed, winners=2) == draw.winners
    with pytest.raises(ValidationError):
        prize_draw_run(month=dt.date(2024, 4, 1), winners=2, run_by=bank.head)


def test_the_command_runs_a_draw_with_a_given_seed(bank, recovered_customers):
    out = StringIO()
    call_command("prize_draw", "--month", "2024-04", "--winners", "3", "--seed", "fixed", "--run-by", "head",
                 stdout=out)

    draw = PrizeDraw.objects.get()
    assert draw.seed == "fixed" and draw.run_by == bank.head
    assert draw.winners == prize_draw_winners(eligible=draw.eligible, seed="fixed", winners=3)
    for winner in draw.winners:
        assert winner in out.getvalue()


def test_a_month_with_nobody_eligible_is_not_drawn(db):
    with pytest.raises(ValidationError):
        prize_draw_run(month=dt.date(2024, 4, 1), winners=1)
    assert not PrizeDraw.objects.exists()
