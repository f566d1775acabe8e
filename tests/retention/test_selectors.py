"""retention.selectors behind the pages: the RM's list of cases (filters, contiguous ranks,
time-critical first, the budget), one case, the 360's cases, the day's progress, the
competitor table and the prize draw's eligibility."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import Customer
from retention.case_services import case_close, contact_log, task_done
from retention.models import CaseStatus, Playbook, SignalKind
from retention.selectors import (
    case_get_for_user,
    case_list_for_user,
    customer_cases_for_user,
    prize_eligibility_list,
    product_comparison_table,
    progress_for_user,
    tasks_done_today,
)
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import (
    CaseFactory,
    CustomerFactory,
    ProductFactory,
    ProductYieldFactory,
    SignalFactory,
    TaskFactory,
)


def own_customer(bank, **fields) -> Customer:
    return CustomerFactory(branch=bank.branch, rm=bank.owner, **fields)


def test_the_list_has_one_row_per_case_whatever_its_signals(bank):
    case = CaseFactory(customer=bank.customer)
    for kind in ("model_risk", "tier_downgrade", "aum_drop"):
        SignalFactory(case=case, kind=kind)
    TaskFactory(case=case)
    TaskFactory(case=case)

    rows = list(case_list_for_user(user=bank.owner))

    assert rows == [case]
    assert [s.kind for s in rows[0].signals.all()] == ["model_risk", "tier_downgrade", "aum_drop"]


def test_ranks_are_contiguous_time_critical_first_then_by_expected_value(bank, frozen_day):
    low = CaseFactory(customer=own_customer(bank), priority=100)
    high = CaseFactory(customer=own_customer(bank), priority=9_000)
    urgent = CaseFactory(customer=own_customer(bank), priority=10, urgent=True)
    middle = CaseFactory(customer=own_customer(bank), priority=5_000)
    # Another RM's cases do not take ranks from the owner's list.
    CaseFactory(customer=CustomerFactory(branch=bank.branch, rm=bank.colleague), priority=7_000)

    rows = list(case_list_for_user(user=bank.owner))
    assert [(row.pk, row.list_rank) for row in rows] == [(urgent.pk, 1), (high.pk, 2), (middle.pk, 3), (low.pk, 4)]

    # The RM closes the second: the ranks close up, no gap.
    case_close(case=high, user=bank.owner, outcome="retained", reason="kept")
    assert [(row.pk, row.list_rank) for row in case_list_for_user(user=bank.owner)] == [
        (urgent.pk, 1), (middle.pk, 2), (low.pk, 3)]


def test_a_heads_list_ranks_each_owners_cases_apart(bank):
    mine = CaseFactory(customer=own_customer(bank), priority=10)
    theirs = CaseFactory(customer=CustomerFactory(branch=bank.branch, rm=bank.colleague), priority=20)
    ranks = {row.pk: row.list_rank for row in case_list_for_user(user=bank.head)}
    assert ranks == {mine.pk: 1, theirs.pk: 1}


def test_held_out_snoozed_and_closed_cases_are_not_on_the_list(bank):
    shown = CaseFactory(customer=own_customer(bank))
    CaseFactory(customer=own_customer(bank), is_control=True)
    CaseFactory(customer=own_customer(bank), status=CaseStatus.SNOOZED)
    closed = CaseFactory(customer=own_customer(bank), status=CaseStatus.CLOSED_RETAINED)

    assert list(case_list_for_user(user=bank.owner)) == [shown]
    assert list(case_list_for_user(user=bank.owner, filters={"status": "closed_retained"})) == [closed]


def test_the_segment_filter_follows_the_rms_override_over_the_rules_segment(bank):
    overridden = own_customer(bank, segment="product", segment_override="service")
    plain = own_customer(bank, segment="service")
    product = own_customer(bank, segment="product")
    cases = {c.pk: CaseFactory(customer=c) for c in (overridden, plain, product)}

    service = set(case_list_for_user(user=bank.owner, filters={"segment": "service"}))
    products = set(case_list_for_user(user=bank.owner, filters={"segment": "product"}))

    assert service == {cases[overridden.pk], cases[plain.pk]}
    assert products == {cases[product.pk]}


def test_the_signal_and_band_filters_look_at_the_active_signals(bank):
    high = CaseFactory(customer=bank.customer)
    SignalFactory(case=high, details={"risk_band": "high"})
    medium = CaseFactory(customer=own_customer(bank))
    SignalFactory(case=medium, details={"risk_band": "medium"})
    SignalFactory(case=medium, kind=SignalKind.AUM_DROP, playbook=Playbook.objects.get(key="aum_drop"))
    cleared = CaseFactory(customer=own_customer(bank))
    SignalFactory(case=cleared, kind=SignalKind.AUM_DROP, playbook=Playbook.objects.get(key="aum_drop"),
                  is_active=False, cleared_on=RUN_DATE)

    assert list(case_list_for_user(user=bank.owner, filters={"risk_band": "high"})) == [high]
    assert list(case_list_for_user(user=bank.owner, filters={"risk_band": "medium"})) == [medium]
    assert list(case_list_for_user(user=bank.owner, filters={"signal": "aum_drop"})) == [medium]
    # Filtered, the ranks are over what is shown.
    assert [row.list_rank for row in case_list_for_user(user=bank.owner, filters={"signal": "aum_drop"})] == [1]


def test_the_list_reads_in_three_queries_whatever_its_length(bank, django_assert_num_queries):
    for _ in range(5):
        case = CaseFactory(customer=own_customer(bank))
        SignalFactory(case=case)
        TaskFactory(case=case)
    with django_assert_num_queries(3):
        rows = list(case_list_for_user(user=bank.owner))
        assert sum(len(row.signals.all()) + len(row.tasks.all()) for row in rows) == 10


@pytest.mark.parametrize("who", ["colleague", "outsider"])
def test_a_case_out_of_scope_is_a_404_and_audited_as_refused(bank, who):
    case = CaseFactory(customer=bank.customer)
    user = getattr(bank, who)
    with pytest.raises(Http404):
        case_get_for_user(user=user, case_id=case.pk, origin=AuditOrigin(actor=user))
    refused = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert refused.detail["object_type"] == "retention.case" and refused.detail["object_id"] == str(case.pk)
    # Without an origin (a re-read after an action) nothing is written.
    with pytest.raises(Http404):
        case_get_for_user(user=user, case_id=case.pk)
    assert AuditEvent.objects.count() == 1
    assert case_get_for_user(user=bank.owner, case_id=case.pk) == case


@pytest.mark.parametrize("case_id", ["abc", -1, 0, 2**70, None])
def test_a_malformed_case_id_is_a_404(bank, case_id):
    with pytest.raises(Http404):
        case_get_for_user(user=bank.owner, case_id=case_id)


def test_a_held_out_case_is_a_404_even_for_its_owner(bank):
    case = CaseFactory(customer=bank.customer, is_control=True)
    with pytest.raises(Http404):
        case_get_for_user(user=bank.owner, case_id=case.pk)
    assert customer_cases_for_user(user=bank.owner, customer_id=bank.customer.pk) == []


def test_the_customers_cases_open_first_then_newest_with_their_history(bank):
    old = CaseFactory(customer=bank.customer, status=CaseStatus.CLOSED_LOST, opened_on=dt.date(2023, 1, 5))
    older = CaseFactory(customer=bank.customer, status=CaseStatus.CLEARED, opened_on=dt.date(2022, 6, 1))
    current = CaseFactory(customer=bank.customer, opened_on=dt.date(2024, 5, 1))
    CaseFactory(customer=own_customer(bank))

    assert customer_cases_for_user(user=bank.owner, customer_id=bank.customer.pk) == [current, old, older]
    assert customer_cases_for_user(user=bank.outsider, customer_id=bank.customer.pk) == []


def test_tasks_done_today_and_the_progress_line(bank, frozen_day, settings):
    settings.RETENTION_DAILY_BUDGET = 3
    cases = [CaseFactory(customer=own_customer(bank), priority=float(i)) for i in range(5)]
    calls = [TaskFactory(case=case, channel="call") for case in cases]
    visit = TaskFactory(case=cases[0], channel="visit")
    assert progress_for_user(user=bank.owner, today=RUN_DATE).cases_worked == 0

    task_done(task=calls[0], user=bank.owner)
    task_done(task=visit, user=bank.owner)
    contact_log(case=cases[1], user=bank.owner, channel="call", result="reached")
    case_close(case=cases[2], user=bank.owner, outcome="lost", reason="moved away")
    task_done(task=calls[3], user=bank.head)  # the head's work is not the RM's

    assert set(tasks_done_today(user=bank.owner, today=RUN_DATE)) == {calls[0], visit, calls[1]}
    progress = progress_for_user(user=bank.owner, today=RUN_DATE)
    assert (progress.cases_worked, progress.tasks_done, progress.budget, progress.open_cases) == (3, 3, 3, 4)
    assert tasks_done_today(user=bank.owner, today=RUN_DATE + dt.timedelta(days=1)).count() == 0
    # Yesterday's work is not today's.
    assert progress_for_user(user=bank.owner, today=RUN_DATE + dt.timedelta(days=1)).cases_worked == 0


def test_with_fewer_cases_than_the_budget_the_budget_is_what_there_is(bank, frozen_day):
    case = CaseFactory(customer=bank.customer)
    progress = progress_for_user(user=bank.owner, today=timezone.localdate())
    assert (progress.cases_worked, progress.budget) == (0, 1)
    case_close(case=case, user=bank.owner, outcome="retained", reason="kept")
    progress = progress_for_user(user=bank.owner, today=timezone.localdate())
    assert (progress.cases_worked, progress.budget, progress.open_cases) == (1, 1, 0)


def test_prize_eligibility_is_the_months_recovery_signals_active_customers_only(bank):
    month = dt.date(2024, 5, 1)
    recovery = Playbook.objects.get(signal_kind=SignalKind.RECOVERY_ELIGIBLE)
    eligible = CaseFactory(customer=bank.customer, leading_kind="recovery_eligible", playbook=recovery)
    SignalFactory(case=eligible, event_on=month)
    held_out = CaseFactory(customer=own_customer(bank), is_control=True, leading_kind="recovery_eligible",
                           playbook=recovery)
    SignalFactory(case=held_out, event_on=month)
    closed_customer = own_customer(bank, status="closed")
    SignalFactory(case=CaseFactory(customer=closed_customer, leading_kind="recovery_eligible", playbook=recovery),
                  event_on=month)
    SignalFactory(case=CaseFactory(customer=own_customer(bank), leading_kind="recovery_eligible",
                                   playbook=recovery), event_on=dt.date(2024, 4, 1))

    assert list(prize_eligibility_list(month=dt.date(2024, 5, 20))) == sorted(
        [bank.customer, held_out.customer], key=lambda c: c.customer_id)


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
