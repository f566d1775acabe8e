"""One test per rule, seen through the case it opens, at a frozen date (RUN_DATE = 2024-05-15, Shanghai).

Monthly balances describe finished months: on 15 May the latest known month is April.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from retention.models import CaseStatus, Playbook, Signal
from retention.models import SignalKind as AlertKind
from retention.raising import cases_raise_for_date
from retention.selectors import prize_eligibility_list
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import (
    AppointmentFactory,
    ChurnScoreFactory,
    ContactLogFactory,
    HoldingFactory,
    MonthlyBalanceFactory,
    ProductFactory,
    SurveyFactory,
)

pytestmark = pytest.mark.usefixtures("frozen_day")


@pytest.fixture(autouse=True)
def no_control_group(settings):
    # The draw is tested on its own; here every case is shown.
    settings.RETENTION_CONTROL_SHARE = 0.0


def raise_today() -> dict:
    return cases_raise_for_date(run_date=timezone.localdate())


def only_alert(kind: str) -> Signal:
    """The one signal of ``kind`` tonight (its case: ``.case``, its tasks: ``.tasks``)."""
    signals = list(Signal.objects.filter(kind=kind).select_related("case"))
    assert len(signals) == 1, signals
    return signals[0]


def balances(customer, *amounts_by_month: tuple[dt.date, str]) -> None:
    for month, aum in amounts_by_month:
        MonthlyBalanceFactory(customer=customer, month=month, aum=Decimal(aum))


def test_model_risk_high_band_goes_to_the_rm_with_the_segment_playbook(bank):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, risk_band="high", probability=0.8)

    raise_today()

    alert = only_alert(AlertKind.MODEL_RISK)
    assert alert.case.owner == bank.owner
    assert alert.case.branch == bank.branch
    assert alert.playbook.key == "segment_product"
    assert alert.reasons[0]["feature"] == "aum_change_3m"
    assert alert.expected_aum_at_risk == Decimal("240000.00")  # 0.8 x 300,000
    steps = list(alert.tasks.order_by("order"))
    assert [s.order for s in steps] == [1, 2, 3, 4]
    assert steps[0].due_on == RUN_DATE and steps[0].owner == bank.owner
    assert steps[1].due_on == RUN_DATE + dt.timedelta(days=3)


def test_model_risk_bands_are_configurable(bank, settings):
    settings.RETENTION_RISK_BANDS = ["high"]
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, risk_band="medium", probability=0.4)
    ChurnScoreFactory(scored_on=RUN_DATE, risk_band="low", probability=0.05)

    raise_today()

    assert not Signal.objects.exists()


def test_competitor_product_maturing_within_7_days_offers_our_best_yield_product_of_that_kind(bank):
    ProductFactory(product_code="OUR-W1", kind="wealth", yield_pct=Decimal("3.100"))
    best = ProductFactory(product_code="OUR-W2", kind="wealth", yield_pct=Decimal("3.600"))
    ProductFactory(product_code="OUR-D1", kind="deposit", yield_pct=Decimal("4.000"))
    theirs = ProductFactory(product_code="ICBC-W", provider="ICBC", is_ours=False, kind="wealth",
                            yield_pct=Decimal("3.400"))
    HoldingFactory(customer=bank.customer, product=theirs, amount=Decimal("250000"),
                   maturity_on=RUN_DATE + dt.timedelta(days=7))
    HoldingFactory(product=theirs, maturity_on=RUN_DATE + dt.timedelta(days=8))  # too far ahead

    raise_today()

    alert = only_alert(AlertKind.COMPETITOR_MATURITY)
    assert alert.customer == bank.customer
    assert alert.case.owner == bank.owner
    assert alert.details["replacement_product"] == best.product_code
    assert alert.event_on == RUN_DATE + dt.timedelta(days=7)
    assert alert.aum_at_risk == Decimal("250000.00")
    assert alert.tasks.filter(channel="call").exists()


def test_own_product_maturing_within_14_days_for_an_at_risk_customer_asks_for_a_rollover(bank):
    ours = ProductFactory(kind="deposit")
    HoldingFactory(customer=bank.customer, product=ours, maturity_on=RUN_DATE + dt.timedelta(days=14))
    # Yesterday's score: the rule uses the latest score on or before the run date.
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE - dt.timedelta(days=1), risk_band="medium",
                      probability=0.4)
    calm = ChurnScoreFactory(scored_on=RUN_DATE - dt.timedelta(days=1), risk_band="low", probability=0.05)
    HoldingFactory(customer=calm.customer, product=ours, maturity_on=RUN_DATE + dt.timedelta(days=3))

    raise_today()

    alert = only_alert(AlertKind.OWN_MATURITY)
    assert alert.customer == bank.customer
    assert alert.playbook.key == "own_maturity"
    assert alert.probability == pytest.approx(0.4)


def test_tier_downgrade_ahead_when_aum_is_just_above_the_floor_and_falling(bank, settings):
    settings.RETENTION_TIER_MARGIN = 0.10
    balances(bank.customer, (dt.date(2024, 3, 1), "600000"), (dt.date(2024, 4, 1), "540000"))
    # Close to the floor but rising: no alert.
    other = MonthlyBalanceFactory(month=dt.date(2024, 3, 1), aum=Decimal("510000")).customer
    balances(other, (dt.date(2024, 4, 1), "530000"))
    # This month's row is not known yet on 15 May and must be ignored.
    balances(bank.customer, (dt.date(2024, 5, 1), "900000"))

    raise_today()

    alert = only_alert(AlertKind.TIER_DOWNGRADE)
    assert alert.customer == bank.customer
    assert alert.details["tier"] == "platinum"
    assert alert.details["floor"] == 500_000


def test_sharp_aum_drop_of_30_percent_in_a_month(bank):
    balances(bank.customer, (dt.date(2024, 3, 1), "100000"), (dt.date(2024, 4, 1), "69000"))
    mild = MonthlyBalanceFactory(month=dt.date(2024, 3, 1), aum=Decimal("100000")).customer
    balances(mild, (dt.date(2024, 4, 1), "75000"))

    raise_today()

    alert = only_alert(AlertKind.AUM_DROP)
    assert alert.customer == bank.customer
    assert alert.reasons[0]["value"] == pytest.approx(-0.31)


def test_the_rules_read_balances_up_to_the_nightly_runs_month_not_past_it(bank):
    # On 15 May the last complete month is April; a run scoring from March (April's export
    # late) must have the rules compare the same months as its scores: no April drop yet.
    balances(bank.customer, (dt.date(2024, 2, 1), "100000"), (dt.date(2024, 3, 1), "99000"),
             (dt.date(2024, 4, 1), "50000"))

    counts = cases_raise_for_date(run_date=RUN_DATE, data_month=dt.date(2024, 3, 1))
    assert counts["by_kind"][AlertKind.AUM_DROP] == 0
    counts = cases_raise_for_date(run_date=RUN_DATE, data_month=dt.date(2024, 4, 1))
    assert counts["by_kind"][AlertKind.AUM_DROP] == 1


def test_a_trigger_whose_playbook_is_inactive_is_counted_and_logged_not_silently_dropped(bank, caplog):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, risk_band="high", probability=0.8)
    Playbook.objects.filter(key="segment_product").update(is_active=False)

    counts = raise_today()

    assert not Signal.objects.exists()
    assert counts["no_playbook"] == 1 and counts["by_kind"][AlertKind.MODEL_RISK] == 1
    assert "playbook 'segment_product' is missing or inactive" in caplog.text


def test_large_withdrawal_booked_for_tomorrow_reaches_the_rm_and_the_lobby_list(bank):
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE + dt.timedelta(days=1), kind="transfer")
    AppointmentFactory(scheduled_on=RUN_DATE + dt.timedelta(days=2))

    raise_today()

    alert = only_alert(AlertKind.LARGE_WITHDRAWAL)
    assert alert.case.owner == bank.owner
    assert alert.tasks.filter(owner_role="lobby", owner=bank.lobby, due_on=RUN_DATE + dt.timedelta(days=1)).exists()
    assert alert.case.urgent and alert.case.rank == 1  # booked for tomorrow: time-critical


def test_satisfaction_fell_for_a_core_customer_goes_to_the_branch_head(bank):
    bank.customer.tier = "platinum"
    bank.customer.save()
    SurveyFactory(customer=bank.customer, surveyed_on=dt.date(2024, 1, 10), score=9)
    SurveyFactory(customer=bank.customer, surveyed_on=dt.date(2024, 5, 10), score=5)

    raise_today()

    alert = only_alert(AlertKind.SATISFACTION_DROP)
    # The case stays the customer's RM's; the callback is the head's task, due within the callback days.
    assert alert.case.owner == bank.owner
    assert alert.playbook.key == "satisfaction_core"
    callback = alert.tasks.get(owner=bank.head, order=1)
    assert callback.channel == "call" and callback.due_on == RUN_DATE + dt.timedelta(days=2)


def test_satisfaction_down_three_points_for_an_ordinary_customer_goes_to_the_rm(bank):
    SurveyFactory(customer=bank.customer, surveyed_on=dt.date(2024, 2, 1), score=10)
    SurveyFactory(customer=bank.customer, surveyed_on=dt.date(2024, 5, 1), score=7)
    steady = SurveyFactory(surveyed_on=dt.date(2024, 2, 1), score=9).customer
    SurveyFactory(customer=steady, surveyed_on=dt.date(2024, 5, 1), score=8)

    raise_today()

    alert = only_alert(AlertKind.SATISFACTION_DROP)
    assert alert.customer == bank.customer
    assert alert.case.owner == bank.owner
    assert alert.playbook.key == "satisfaction_other"


def test_complaint_from_a_core_customer_asks_the_branch_head_to_apologise(bank):
    bank.customer.tier = "private"
    bank.customer.save()
    ContactLogFactory(customer=bank.customer, contacted_at=timezone.now() - dt.timedelta(days=1))

    raise_today()

    alert = only_alert(AlertKind.SERVICE_FAILURE)
    assert alert.case.owner == bank.owner
    assert alert.playbook.key == "service_failure_core"
    assert alert.tasks.get(order=1).owner == bank.head


def test_aum_back_to_the_pre_drop_level_makes_the_customer_eligible_for_the_prize_draw(bank):
    balances(bank.customer, (dt.date(2024, 2, 1), "200000"), (dt.date(2024, 3, 1), "150000"),
             (dt.date(2024, 4, 1), "205000"))
    still_down = MonthlyBalanceFactory(month=dt.date(2024, 2, 1), aum=Decimal("200000")).customer
    balances(still_down, (dt.date(2024, 3, 1), "150000"), (dt.date(2024, 4, 1), "180000"))

    raise_today()

    alert = only_alert(AlertKind.RECOVERY_ELIGIBLE)
    assert alert.customer == bank.customer
    assert alert.event_on == dt.date(2024, 4, 1)
    assert list(prize_eligibility_list(month=dt.date(2024, 4, 1))) == [bank.customer]
    assert alert.case.status == CaseStatus.OPEN
