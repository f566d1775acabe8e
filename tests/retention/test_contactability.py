"""Contactability (retention.contactability): a case whose every open task would break the
customer's wishes (do not contact on its channel, or the contact-frequency cap reached) is
blocked, with the reason; the services refuse a contact that would break them; the list
sinks a blocked case to the end, and the night's ranking leaves it out of the budget."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.services import AuditOrigin
from customers.models import ContactConsent, ContactLog
from retention.case_services import contact_log, task_done
from retention.contactability import case_blocked_expression, case_contactability
from retention.models import Case, TaskStatus
from retention.raising import cases_raise_for_date, cases_rank
from retention.selectors import case_list_for_user
from tests.retention.conftest import RUN_DATE, SHANGHAI
from tests.retention.factories import (
    CaseFactory,
    ChurnScoreFactory,
    ContactLogFactory,
    CustomerFactory,
    SignalFactory,
    TaskFactory,
)


def origin_of(user) -> AuditOrigin:
    return AuditOrigin(actor=user, ip_address="10.0.0.1", path="/test/")


def dnc(customer, channel: str = "call", *, on: dt.date = dt.date(2024, 5, 3), reason: str = "本人致电",
        do_not_contact: bool = True) -> ContactConsent:
    return ContactConsent.objects.create(customer=customer, channel=channel, do_not_contact=do_not_contact,
                                         reason=reason, effective_on=on)


def contacted(customer, *, days_ago: int, channel: str = "call", result: str = "no_answer", hour: int = 10):
    day = RUN_DATE - dt.timedelta(days=days_ago)
    return ContactLogFactory(customer=customer, channel=channel, result=result,
                             contacted_at=dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI))


def case_with(customer, *channels: str, **fields) -> Case:
    case = CaseFactory(customer=customer, **fields)
    SignalFactory(case=case)
    for order, channel in enumerate(channels, start=1):
        TaskFactory(case=case, order=order, channel=channel)
    return case


def blocked_in_sql(case: Case) -> bool:
    return bool(Case.objects.annotate(blocked=case_blocked_expression(today=RUN_DATE)).get(pk=case.pk).blocked)


def contactability(case: Case):
    return case_contactability(cases=[case], today=RUN_DATE)[case.pk]


# --- do not contact ------------------------------------------------------------------------


def test_a_case_whose_every_task_is_on_a_do_not_contact_channel_is_blocked_with_the_reason(bank, frozen_day):
    case = case_with(bank.customer, "call", "call")
    dnc(bank.customer, "call")

    found = contactability(case)

    assert found.blocked and blocked_in_sql(case)
    assert found.reason == "The customer asked not to be contacted: phone call (2024-05-03, 本人致电)"


def test_the_reason_reads_in_chinese_on_a_chinese_page(bank, frozen_day):
    from django.utils import translation

    case = case_with(bank.customer, "call")
    dnc(bank.customer, "call")

    with translation.override("zh-hans"):
        assert contactability(case).reason == "客户要求不接受电话联系（2024-05-03，本人致电）"


def test_a_case_with_a_task_on_another_channel_is_not_blocked(bank, frozen_day):
    case = case_with(bank.customer, "call", "visit")
    dnc(bank.customer, "call")

    found = contactability(case)

    assert not found.blocked and not blocked_in_sql(case) and found.reason == ""
    assert list(found.task_reasons.values()) == [
        "The customer asked not to be contacted: phone call (2024-05-03, 本人致电)"]


def test_a_cleared_flag_or_one_not_yet_in_force_blocks_nothing(bank, frozen_day):
    cleared = case_with(bank.customer, "call")
    dnc(bank.customer, "call", do_not_contact=False)
    later = case_with(CustomerFactory(branch=bank.branch, rm=bank.owner), "call")
    dnc(later.customer, "call", on=RUN_DATE + dt.timedelta(days=1))

    assert not contactability(cleared).blocked and not blocked_in_sql(cleared)
    assert not contactability(later).blocked and not blocked_in_sql(later)


def test_a_case_with_no_open_task_is_not_blocked(bank, frozen_day):
    case = case_with(bank.customer, "call")
    case.tasks.update(status=TaskStatus.DONE)
    dnc(bank.customer, "call")

    assert not contactability(case).blocked and not blocked_in_sql(case)


# --- the contact-frequency cap ------------------------------------------------------------------


def test_two_outbound_contacts_in_seven_days_block_until_the_first_leaves_the_window(bank, frozen_day):
    case = case_with(bank.customer, "call", "message")
    contacted(bank.customer, days_ago=6)  # 2024-05-09: counts until 05-15, today
    contacted(bank.customer, days_ago=1, channel="visit", result="reached")

    found = contactability(case)

    assert found.blocked and blocked_in_sql(case)
    assert found.reason == "2 contacts in the last 7 days: next possible on 05-16"


def test_a_contact_seven_days_ago_has_left_the_window(bank, frozen_day):
    case = case_with(bank.customer, "call")
    contacted(bank.customer, days_ago=7)
    contacted(bank.customer, days_ago=1)

    assert not contactability(case).blocked and not blocked_in_sql(case)


def test_a_customer_seen_in_the_branch_is_neither_counted_nor_capped(bank, frozen_day):
    calls = case_with(bank.customer, "call")
    contacted(bank.customer, days_ago=1, channel="branch")
    contacted(bank.customer, days_ago=2, channel="branch")
    contacted(bank.customer, days_ago=3)
    in_branch = case_with(CustomerFactory(branch=bank.branch, rm=bank.owner), "branch")
    for days_ago in (1, 2, 3):
        contacted(in_branch.customer, days_ago=days_ago)

    assert not contactability(calls).blocked and not blocked_in_sql(calls)
    assert not contactability(in_branch).blocked and not blocked_in_sql(in_branch)


def test_the_cap_is_configurable(bank, frozen_day, settings):
    settings.RETENTION_CONTACT_CAP_COUNT = 3
    settings.RETENTION_CONTACT_CAP_DAYS = 14
    case = case_with(bank.customer, "call")
    for days_ago in (13, 8, 2):
        contacted(bank.customer, days_ago=days_ago)

    found = contactability(case)

    assert found.blocked and blocked_in_sql(case)
    assert found.reason == "3 contacts in the last 14 days: next possible on 05-16"


def test_a_do_not_contact_flag_and_the_cap_give_both_reasons(bank, frozen_day):
    case = case_with(bank.customer, "call", "visit")
    dnc(bank.customer, "call", reason="")
    contacted(bank.customer, days_ago=0, channel="visit")
    contacted(bank.customer, days_ago=2, channel="message")

    assert contactability(case).reason == (
        "The customer asked not to be contacted: phone call (2024-05-03) · "
        "2 contacts in the last 7 days: next possible on 05-20")


def test_contactability_of_many_cases_is_three_queries(bank, frozen_day):
    cases = []
    for i in range(6):
        customer = CustomerFactory(branch=bank.branch, rm=bank.owner)
        cases.append(case_with(customer, "call", "visit"))
        dnc(customer, "call")
        if i % 2:
            contacted(customer, days_ago=1)
            contacted(customer, days_ago=2)

    with CaptureQueriesContext(connection) as queries:
        found = case_contactability(cases=cases, today=RUN_DATE)

    assert len(queries) == 3
    assert [found[case.pk].blocked for case in cases] == [False, True] * 3
    assert [blocked_in_sql(case) for case in cases] == [False, True] * 3


# --- the services --------------------------------------------------------------------------------


def test_a_contact_on_a_do_not_contact_channel_is_refused_with_the_reason(bank, frozen_day):
    case = case_with(bank.customer, "call", "visit")
    dnc(bank.customer, "call")

    with pytest.raises(ValidationError) as refused:
        contact_log(case=case, user=bank.owner, channel="call", result="reached", origin=origin_of(bank.owner))

    assert "The customer asked not to be contacted: phone call (2024-05-03, 本人致电)" in refused.value.messages[0]
    assert not ContactLog.objects.exists()
    assert case.tasks.get(order=1).status == TaskStatus.OPEN


def test_a_task_on_a_do_not_contact_channel_cannot_be_ticked_done(bank, frozen_day):
    case = case_with(bank.customer, "call", "visit")
    dnc(bank.customer, "call")

    with pytest.raises(ValidationError):
        task_done(task=case.tasks.get(order=1), user=bank.owner, origin=origin_of(bank.owner))
    task_done(task=case.tasks.get(order=2), user=bank.owner, origin=origin_of(bank.owner))

    assert list(case.tasks.order_by("order").values_list("status", flat=True)) == [TaskStatus.OPEN,
                                                                                  TaskStatus.DONE]


def test_the_third_outbound_contact_within_the_cap_is_refused(bank, frozen_day):
    case = case_with(bank.customer, "call", "visit", "branch")
    contact_log(case=case, user=bank.owner, channel="call", result="no_answer")
    contact_log(case=case, user=bank.owner, channel="visit", result="reached")

    with pytest.raises(ValidationError) as refused:
        contact_log(case=case, user=bank.owner, channel="message", result="reached")
    contact_log(case=case, user=bank.owner, channel="branch", result="reached")  # the customer came in

    assert "2 contacts in the last 7 days: next possible on 05-22" in refused.value.messages[0]
    assert ContactLog.objects.count() == 3


# --- the list and the night -----------------------------------------------------------------------


def test_a_blocked_case_sinks_to_the_end_of_the_list(bank, frozen_day):
    blocked = case_with(bank.customer, "call", priority=90_000.0, urgent=True)
    dnc(bank.customer, "call")
    others = [case_with(CustomerFactory(branch=bank.branch, rm=bank.owner), "call", priority=1_000.0 * i)
              for i in (2, 1)]

    rows = list(case_list_for_user(user=bank.owner))

    assert [case.pk for case in rows] == [others[0].pk, others[1].pk, blocked.pk]
    assert [case.list_rank for case in rows] == [1, 2, 3]
    assert [case.contact_blocked for case in rows] == [False, False, True]


def test_the_nights_ranking_leaves_a_do_not_contact_customers_case_out_of_the_budget(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 0.0
    settings.RETENTION_DAILY_BUDGET = 2
    customers = [CustomerFactory(branch=bank.branch, rm=bank.owner) for _ in range(3)]
    for number, customer in enumerate(customers):
        ChurnScoreFactory(customer=customer, scored_on=RUN_DATE, aum=Decimal(1_000_000 - number))
    richest = customers[0]
    for channel in ("call", "visit", "message", "branch"):
        dnc(richest, channel, reason="不要再联系我")

    cases_raise_for_date(run_date=timezone.localdate())

    ranked = list(Case.objects.filter(owner=bank.owner).order_by("rank"))
    assert [case.customer for case in ranked] == [customers[1], customers[2], richest]
    assert [case.in_budget for case in ranked] == [True, True, False]
    assert ranked[0].priority < ranked[2].priority  # ranked last although it is worth the most


def test_a_blocked_case_is_not_time_critical_and_comes_back_when_the_flag_is_cleared(bank, frozen_day, settings):
    settings.RETENTION_DAILY_BUDGET = 5
    case = case_with(bank.customer, "call")
    case.signals.update(kind="large_withdrawal", event_on=RUN_DATE)
    flag = dnc(bank.customer, "call")

    cases_rank(run_date=RUN_DATE)
    case.refresh_from_db()
    assert (case.urgent, case.in_budget, case.rank) == (False, False, 1)

    flag.do_not_contact = False
    flag.save()
    cases_rank(run_date=RUN_DATE)
    case.refresh_from_db()
    assert (case.urgent, case.in_budget, case.rank) == (True, True, 1)
