"""The nightly cases stage: one case per customer, signals on it, tasks, clearing, ranking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from retention.control import control_draw, period_start
from retention.models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Signal,
    SignalKind,
    Task,
    TaskStatus,
    catalogue_text,
)
from retention.raising import cases_raise_for_date
from tests.retention.conftest import RUN_DATE, SHANGHAI
from tests.retention.factories import (
    AppointmentFactory,
    CaseFactory,
    ChurnScoreFactory,
    CustomerFactory,
    HoldingFactory,
    ProductFactory,
)


@pytest.fixture(autouse=True)
def no_control_group(settings):
    settings.RETENTION_CONTROL_SHARE = 0.0


def travel_to(traveller, day: dt.date) -> None:
    traveller.move_to(dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI))


def raise_today() -> dict:
    return cases_raise_for_date(run_date=timezone.localdate())


def _everything() -> tuple:
    return (
        list(Case.objects.order_by("pk").values()),
        list(Signal.objects.order_by("pk").values()),
        list(Task.objects.order_by("pk").values()),
        CaseEvent.objects.count(),
    )


def _competitor_maturity(customer, *, days: int, amount: str = "416000.00"):
    product = ProductFactory(provider="Other Bank", is_ours=False, kind="wealth")
    return HoldingFactory(customer=customer, product=product, amount=Decimal(amount),
                          maturity_on=RUN_DATE + dt.timedelta(days=days))


def test_two_signals_of_one_customer_are_one_case_with_both_playbooks_tasks(bank, frozen_day, settings):
    settings.RETENTION_COMPETITOR_MATURITY_DAYS = 14
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, probability=0.7)
    _competitor_maturity(bank.customer, days=10)

    counts = raise_today()

    case = Case.objects.get()
    assert counts["opened"] == 1 and counts["signals_added"] == 2
    assert case.customer == bank.customer and case.owner == bank.owner and case.status == CaseStatus.OPEN
    assert sorted(case.signals.values_list("kind", flat=True)) == ["competitor_maturity", "model_risk"]
    playbooks = set(case.tasks.values_list("playbook__key", flat=True))
    assert playbooks == {"segment_product", "competitor_maturity"}
    # The competitor product matures in 10 days: the RM's first call is due 7 days before it.
    first_call = case.tasks.filter(playbook__key="competitor_maturity").order_by("order").first()
    assert first_call.due_on == RUN_DATE + dt.timedelta(days=3)
    # The case's figures are its leading signal's (highest expected value), parts kept.
    leader = case.signals.order_by("-priority").first()
    assert case.leading_kind == leader.kind and case.priority == pytest.approx(leader.priority)
    assert case.priority == pytest.approx(
        case.probability * float(case.aum_at_risk) * case.save_rate - case.contact_cost)
    assert CaseEvent.objects.filter(case=case, action=CaseEvent.Action.OPENED).count() == 1


def test_a_second_run_on_the_same_day_changes_nothing(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE)
    raise_today()
    before = _everything()

    again = raise_today()

    assert again["opened"] == 0 and again["signals_added"] == 0 and again["tasks_created"] == 0
    assert again["signals_renewed"] == 0 and again["signals_cleared"] == 0
    assert _everything() == before


def test_a_renewed_signal_updates_the_case_in_place(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, risk_band="high", probability=0.7)
    raise_today()
    tasks = Task.objects.count()

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=1))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE + dt.timedelta(days=1), risk_band="medium",
                      probability=0.45)
    counts = raise_today()

    case = Case.objects.get()
    signal = case.signals.get()
    assert counts["signals_renewed"] == 1 and counts["opened"] == 0
    assert signal.seen_count == 2 and signal.last_seen_on == RUN_DATE + dt.timedelta(days=1)
    assert signal.details == {"risk_band": "medium"} and case.probability == pytest.approx(0.45)
    assert Task.objects.count() == tasks  # no second set of steps


def test_a_new_signal_joins_the_open_case_and_brings_its_tasks(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()
    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=1))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE + dt.timedelta(days=1))
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE + dt.timedelta(days=2))

    counts = raise_today()

    case = Case.objects.get()
    assert counts["opened"] == 0 and counts["signals_added"] == 1
    withdrawal = case.signals.get(kind=SignalKind.LARGE_WITHDRAWAL)
    tasks = case.tasks.filter(signal=withdrawal)
    # Booked for the day after tomorrow: every step is due on the booking day.
    assert tasks.exists() and set(tasks.values_list("due_on", flat=True)) == {RUN_DATE + dt.timedelta(days=2)}
    # The lobby manager's step is theirs.
    assert set(tasks.filter(owner_role="lobby").values_list("owner", flat=True)) <= {bank.lobby.pk}
    assert CaseEvent.objects.filter(case=case, action=CaseEvent.Action.SIGNAL_ADDED).count() == 1


def test_a_cleared_signal_cancels_its_open_tasks_and_the_last_one_closes_the_case(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE)
    raise_today()

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=1))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE + dt.timedelta(days=1))
    counts = raise_today()  # the booking day has passed

    case = Case.objects.get()
    withdrawal = case.signals.get(kind=SignalKind.LARGE_WITHDRAWAL)
    assert counts["signals_cleared"] == 1 and not withdrawal.is_active
    assert withdrawal.clear_reason and withdrawal.cleared_on == RUN_DATE + dt.timedelta(days=1)
    assert set(withdrawal.tasks.values_list("status", flat=True)) == {TaskStatus.CANCELLED}
    assert case.status == CaseStatus.OPEN

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=2))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE + dt.timedelta(days=2), risk_band="low",
                      probability=0.05)
    counts = raise_today()

    case.refresh_from_db()
    assert counts["cases_cleared"] == 1 and case.status == CaseStatus.CLEARED and case.rank is None
    assert not case.tasks.filter(status=TaskStatus.OPEN).exists()
    with translation.override("zh-hans"):
        assert catalogue_text(case.close_reason) != case.close_reason  # translated when shown


def test_model_risk_stays_on_a_night_without_scores(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()
    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=1))

    counts = raise_today()  # no scores tonight: the model's rule did not run

    assert "model_risk" in counts["skipped_rules"]
    assert Case.objects.get().status == CaseStatus.OPEN and Signal.objects.get().is_active


def test_held_out_customers_get_a_case_with_signals_and_no_tasks(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 1.0
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)

    counts = raise_today()

    case = Case.objects.get()
    assert counts["held_out"] == 1 and case.is_control and case.rank is None
    assert case.signals.count() == 1 and not case.tasks.exists()
    assert case.control_period == period_start(RUN_DATE, months=3)
    assert case.control_draw == pytest.approx(control_draw(
        customer_key=bank.customer.customer_id, period=case.control_period, salt=settings.RETENTION_CONTROL_SALT
        if hasattr(settings, "RETENTION_CONTROL_SALT") else "retention-control-v1"))


def test_the_draw_is_per_customer_and_period_never_per_signal(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 0.5
    customers = [CustomerFactory(branch=bank.branch, rm=bank.owner) for _ in range(40)]
    for customer in customers:
        ChurnScoreFactory(customer=customer, scored_on=RUN_DATE)
        AppointmentFactory(customer=customer, scheduled_on=RUN_DATE)

    raise_today()

    cases = list(Case.objects.all())
    assert len(cases) == 40  # one case per customer, whatever the number of signals
    groups = {case.is_control for case in cases}
    assert groups == {True, False}  # 40 customers at 50%: both groups drawn
    for case in cases:
        expected = control_draw(customer_key=case.customer.customer_id, period=case.control_period,
                                salt="retention-control-v1") < 0.5
        assert case.is_control == expected


def test_ranks_are_contiguous_per_owner_time_critical_first(bank, frozen_day, settings):
    settings.RETENTION_DAILY_BUDGET = 3
    rich = [CustomerFactory(branch=bank.branch, rm=bank.owner) for _ in range(4)]
    for number, customer in enumerate(rich):
        ChurnScoreFactory(customer=customer, scored_on=RUN_DATE, aum=Decimal(1_000_000 + number))
    urgent = CustomerFactory(branch=bank.branch, rm=bank.owner)
    ChurnScoreFactory(customer=urgent, scored_on=RUN_DATE, probability=0.2, risk_band="medium",
                      aum=Decimal("1000"))
    AppointmentFactory(customer=urgent, scheduled_on=RUN_DATE + dt.timedelta(days=1), amount=Decimal("20000"))

    raise_today()

    ranked = list(Case.objects.filter(owner=bank.owner).order_by("rank"))
    assert [case.rank for case in ranked] == [1, 2, 3, 4, 5]
    assert ranked[0].customer == urgent and ranked[0].urgent
    assert [case.in_budget for case in ranked] == [True, True, True, False, False]
    assert [float(case.priority) for case in ranked[1:]] == sorted(
        (float(case.priority) for case in ranked[1:]), reverse=True)


def test_a_customer_never_has_two_open_cases(bank, frozen_day):
    CaseFactory(customer=bank.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseFactory(customer=bank.customer)


def test_a_case_staff_closed_is_not_opened_again_at_once(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.DISMISSED, closed_at=timezone.now())
    Signal.objects.filter(case=case).update(is_active=False)

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=1))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE + dt.timedelta(days=1))
    counts = raise_today()

    assert counts["suppressed"] == 1 and Case.objects.count() == 1


def test_an_already_lost_signal_makes_a_win_back_case(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, probability=0.05, risk_band="low")
    raise_today()
    assert not Case.objects.exists()
    # The win-back rule itself is tested with its own data; here its signal is planted.
    case = CaseFactory(customer=bank.customer, kind=CaseKind.RETENTION, opened_on=RUN_DATE)
    Signal.objects.create(case=case, customer=bank.customer, kind=SignalKind.ALREADY_LOST,
                          playbook=case.playbook, first_seen_on=RUN_DATE, last_seen_on=RUN_DATE,
                          details={"lost_month": "2024-02-01", "aum_lost": "95000.00"})
    from retention.raising import _win_back_figures

    Case.objects.filter(pk=case.pk).update(kind=CaseKind.WIN_BACK)
    assert _win_back_figures() == 1
    case.refresh_from_db()
    assert case.lost_month == dt.date(2024, 2, 1) and case.aum_lost == Decimal("95000.00")
