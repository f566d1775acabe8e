"""retention.selectors behind the pages: the alert list's filters, the dashboard's figures,
the measured alerts of the retention report, the walk-in flags and talking points."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from churn.models import RiskBand
from customers.models import Customer
from retention.models import Alert, AlertKind, AlertStatus, Playbook
from retention.selectors import (
    alert_list_for_user,
    branch_dashboard,
    dashboard_figures,
    dashboard_month,
    expected_aum_at_risk_by_band,
    measured_alerts_for_user,
    open_alert_kinds_by_customer,
    playbook_talking_points,
    product_comparison_table,
)
from tests.retention.factories import (
    ChurnScoreFactory,
    CustomerFactory,
    ProductFactory,
    ProductYieldFactory,
    UserFactory,
)

MONTH = dt.date(2024, 5, 1)


def _alert(bank, customer: Customer, **fields) -> Alert:
    values = {
        "customer": customer, "branch": customer.branch, "kind": AlertKind.MODEL_RISK,
        "playbook": Playbook.objects.get(key="segment_product"), "owner": customer.rm, "owner_role": "rm",
        "status": AlertStatus.OPEN, "raised_on": dt.date(2024, 5, 10), "last_triggered_on": dt.date(2024, 5, 10),
        "window_start_month": dt.date(2024, 4, 1), "window_ends_on": dt.date(2024, 7, 31),
    }
    values.update(fields)
    return Alert.objects.create(**values)


def test_the_segment_filter_follows_the_rms_override_over_the_rules_segment(bank):
    overridden = CustomerFactory(branch=bank.branch, rm=bank.owner, segment="product", segment_override="service")
    plain = CustomerFactory(branch=bank.branch, rm=bank.owner, segment="service")
    product = CustomerFactory(branch=bank.branch, rm=bank.owner, segment="product")
    alerts = {c.pk: _alert(bank, c) for c in (overridden, plain, product)}

    service = set(alert_list_for_user(user=bank.owner, filters={"segment": "service"}))
    products = set(alert_list_for_user(user=bank.owner, filters={"segment": "product"}))

    assert service == {alerts[overridden.pk], alerts[plain.pk]}
    assert products == {alerts[product.pk]}


def test_the_band_filter_keeps_alerts_raised_in_that_band(bank):
    high = _alert(bank, bank.customer, details={"risk_band": "high"})
    other = CustomerFactory(branch=bank.branch, rm=bank.owner)
    medium = _alert(bank, other, details={"risk_band": "medium"})

    assert list(alert_list_for_user(user=bank.owner, filters={"risk_band": "high"})) == [high]
    assert list(alert_list_for_user(user=bank.owner, filters={"risk_band": "medium"})) == [medium]
    assert set(alert_list_for_user(user=bank.owner, filters={})) == {high, medium}


def test_the_dashboard_month_is_the_one_asked_for_but_never_a_later_one():
    today = dt.date(2024, 5, 15)
    assert dashboard_month(requested=None, today=today) == MONTH
    assert dashboard_month(requested=dt.date(2024, 2, 20), today=today) == dt.date(2024, 2, 1)
    assert dashboard_month(requested=dt.date(2025, 1, 1), today=today) == MONTH


def test_measured_alerts_include_held_out_ones_on_the_users_customers_only(bank):
    shown = _alert(bank, bank.customer, outcome="retained", outcome_measured_on=MONTH)
    held_out_customer = CustomerFactory(branch=bank.branch, rm=bank.owner)
    held_out = _alert(bank, held_out_customer, is_control=True, outcome="lost", outcome_measured_on=MONTH)
    _alert(bank, CustomerFactory(branch=bank.branch, rm=bank.owner))  # not measured yet
    outsider_customer = CustomerFactory(branch=bank.other_branch, rm=bank.outsider)
    _alert(bank, outsider_customer, outcome="retained", outcome_measured_on=MONTH)

    assert set(measured_alerts_for_user(user=bank.head)) == {shown, held_out}
    assert set(measured_alerts_for_user(user=bank.outsider)) == {Alert.objects.get(customer=outsider_customer)}


def test_aum_at_risk_by_band_sums_the_latest_scores_in_scope_with_every_band_listed(bank):
    assert expected_aum_at_risk_by_band(user=bank.head) == []
    ChurnScoreFactory(customer=bank.customer, scored_on=dt.date(2024, 5, 14), expected_aum_at_risk=Decimal("900"))
    ChurnScoreFactory(customer=bank.customer, scored_on=dt.date(2024, 5, 15), expected_aum_at_risk=Decimal("100"))
    second = CustomerFactory(branch=bank.branch, rm=bank.colleague)
    ChurnScoreFactory(customer=second, scored_on=dt.date(2024, 5, 15), expected_aum_at_risk=Decimal("50"))
    elsewhere = CustomerFactory(branch=bank.other_branch, rm=bank.outsider)
    ChurnScoreFactory(customer=elsewhere, scored_on=dt.date(2024, 5, 15), expected_aum_at_risk=Decimal("7"))

    bands = expected_aum_at_risk_by_band(user=bank.head)

    assert [entry["band"] for entry in bands] == list(RiskBand.values)
    assert {entry["band"]: entry["total"] for entry in bands} == {"low": 0.0, "medium": 0.0, "high": 150.0}


def test_the_dashboards_trend_is_each_months_own_totals_oldest_first(bank):
    _alert(bank, bank.customer, raised_on=dt.date(2024, 3, 5))
    _alert(bank, CustomerFactory(branch=bank.branch, rm=bank.owner), raised_on=dt.date(2024, 5, 2),
           outcome="retained", outcome_measured_on=dt.date(2024, 5, 3), aum_kept=Decimal("1000"))

    figures = dashboard_figures(user=bank.head, month=MONTH, trend_months=3)

    assert [entry["month"] for entry in figures["trend"]] == [dt.date(2024, 3, 1), dt.date(2024, 4, 1), MONTH]
    for entry in figures["trend"]:
        assert entry["totals"] == branch_dashboard(user=bank.head, month=entry["month"])["totals"]
    assert [entry["totals"]["raised"] for entry in figures["trend"]] == [1, 0, 1]
    assert figures["totals"] == figures["trend"][-1]["totals"]
    assert sum(row["raised"] for row in figures["per_owner"]) == figures["totals"]["raised"]
    assert [row.key for row in figures["report_by_playbook"]] == ["segment_product"]


def test_walk_in_flags_show_open_visible_alerts_highest_priority_first(bank):
    _alert(bank, bank.customer, kind=AlertKind.AUM_DROP, playbook=Playbook.objects.get(key="aum_drop"), priority=1)
    _alert(bank, bank.customer, priority=5)
    held_out = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _alert(bank, held_out, is_control=True)
    dismissed = CustomerFactory(branch=bank.branch, rm=bank.owner)
    _alert(bank, dismissed, status=AlertStatus.DISMISSED)

    kinds = open_alert_kinds_by_customer(user=bank.lobby, customer_ids=[bank.customer.pk, held_out.pk, dismissed.pk])

    assert kinds == {bank.customer.pk: [AlertKind.MODEL_RISK.label, AlertKind.AUM_DROP.label]}
    assert open_alert_kinds_by_customer(user=UserFactory(username="far", branch=bank.other_branch, role="lobby"),
                                        customer_ids=[bank.customer.pk]) == {}


def test_talking_points_are_the_active_segment_playbooks_description_and_first_steps(db):
    playbook = Playbook.objects.get(key="segment_product")
    last = playbook.steps.order_by("order").last()
    playbook.steps.create(order=last.order + 1, owner_role="rm", channel="call", text_zh="再跟进", text_en="Follow up.")
    steps = [step.text for step in playbook.steps.all()]
    assert len(steps) > 4 and playbook.description

    assert playbook_talking_points()["product"] == [playbook.description, *steps[:4]]
    Playbook.objects.filter(segment="product").update(is_active=False)
    assert "product" not in playbook_talking_points()


@pytest.mark.parametrize("who", ["owner", "colleague", "lobby"])
def test_the_dashboard_figures_of_a_user_never_count_another_branch(bank, who):
    _alert(bank, CustomerFactory(branch=bank.other_branch, rm=bank.outsider), raised_on=dt.date(2024, 5, 3))
    figures = dashboard_figures(user=getattr(bank, who), month=MONTH, trend_months=2)
    assert figures["totals"]["raised"] == 0


def test_product_comparison_puts_ours_beside_competitors_with_yield_history(db):
    ours = ProductFactory(product_code="OUR-1", kind="wealth", yield_pct=Decimal("3.2"), term_days=90)
    theirs = ProductFactory(product_code="CMB-1", provider="CMB", is_ours=False, kind="wealth",
                            yield_pct=Decimal("3.5"))
    ProductFactory(product_code="OUR-LOAN", kind="loan", yield_pct=Decimal("4.1"))
    for month, pct in ((dt.date(2024, 3, 1), "3.4"), (dt.date(2024, 4, 1), "3.5")):
        ProductYieldFactory(product=theirs, month=month, yield_pct=Decimal(pct))
    ProductYieldFactory(product=ours, month=dt.date(2024, 4, 1), yield_pct=Decimal("3.2"))

    [table] = product_comparison_table(kind="wealth", since=dt.date(2024, 4, 1))

    assert [p["product_code"] for p in table["ours"]] == ["OUR-1"]
    assert table["ours"][0]["term_days"] == 90
    [competitor] = table["competitors"]
    assert competitor["provider"] == "CMB"
    assert competitor["history"] == [(dt.date(2024, 4, 1), Decimal("3.500"))]


def test_the_comparison_groups_products_by_kind_and_flags_competitors_paying_more_than_our_best(db):
    ours = ProductFactory(kind="wealth", yield_pct=Decimal("2.80"), is_ours=True)
    ProductFactory(kind="wealth", yield_pct=Decimal("2.50"), is_ours=True)
    better = ProductFactory(kind="wealth", yield_pct=Decimal("3.10"), is_ours=False, provider="Rival Bank")
    worse = ProductFactory(kind="wealth", yield_pct=Decimal("2.70"), is_ours=False, provider="Rival Bank")
    ProductFactory(kind="deposit", yield_pct=Decimal("1.50"), is_ours=False, provider="Rival Bank")
    ProductFactory(kind="loan", yield_pct=Decimal("3.55"), is_ours=True)

    groups = product_comparison_table()

    assert [group["kind"] for group in groups] == ["deposit", "wealth"]  # ProductKind order; no loans
    wealth = groups[1]
    assert [p["product_code"] for p in wealth["ours"]][0] == ours.product_code  # best yield first
    assert {p["product_code"]: p["beats_ours"] for p in wealth["competitors"]} == {
        better.product_code: True, worse.product_code: False}
    assert groups[0]["competitors"][0]["beats_ours"] is False  # no product of ours to beat
    assert [group["kind"] for group in product_comparison_table(kind="wealth")] == ["wealth"]
    assert product_comparison_table(kind="loan") == []
