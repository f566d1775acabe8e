"""retention.digest: one member of staff's day — tasks due, overdue, new high-value cases, escalated work."""

from __future__ import annotations

import datetime as dt

import pytest

from retention.digest import digest_for_user, digest_since
from retention.escalation import tasks_escalate
from retention.models import DigestSent, TaskStatus
from retention.selectors import case_list_for_user
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CaseFactory, CustomerFactory, TaskFactory

pytestmark = pytest.mark.django_db

YESTERDAY = RUN_DATE - dt.timedelta(days=1)


def _case(bank, rm=None, **kwargs):
    rm = rm or bank.owner
    return CaseFactory(customer=CustomerFactory(branch=bank.branch, rm=rm), **kwargs)


def test_the_rm_sees_their_own_tasks_due_today_and_overdue_not_a_colleagues(bank):
    mine = _case(bank)
    due = TaskFactory(case=mine, due_on=RUN_DATE)
    late = TaskFactory(case=mine, due_on=YESTERDAY)
    TaskFactory(case=mine, due_on=RUN_DATE + dt.timedelta(days=1))  # tomorrow: not today's
    TaskFactory(case=mine, due_on=RUN_DATE, status=TaskStatus.DONE)
    TaskFactory(case=_case(bank, rm=bank.colleague), due_on=RUN_DATE)  # the colleague's

    digest = digest_for_user(user=bank.owner, day=RUN_DATE)

    assert digest.due_today.rows == [due] and digest.due_today.count == 1
    assert digest.overdue.rows == [late]
    assert not digest.shows_escalated and digest.escalated.count == 0


def test_the_lobby_sees_only_their_own_tasks_not_the_rms(bank):
    case = _case(bank)
    TaskFactory(case=case, due_on=RUN_DATE)
    interception = TaskFactory(case=case, due_on=RUN_DATE, owner_role="lobby", owner=bank.lobby, channel="branch")

    assert digest_for_user(user=bank.lobby, day=RUN_DATE).due_today.rows == [interception]


def test_a_snoozed_or_held_out_case_has_nothing_due(bank):
    TaskFactory(case=_case(bank, status="snoozed", snoozed_until=RUN_DATE + dt.timedelta(days=3)), due_on=RUN_DATE)
    TaskFactory(case=_case(bank, is_control=True), due_on=RUN_DATE)

    assert digest_for_user(user=bank.owner, day=RUN_DATE).is_empty


def test_new_high_value_cases_are_those_opened_since_the_last_digest_above_the_threshold(bank, settings):
    settings.RETENTION_DIGEST_HIGH_VALUE_CNY = 10_000
    big_today = _case(bank, opened_on=RUN_DATE, priority=40_000)
    _case(bank, opened_on=RUN_DATE, priority=9_999)  # below the threshold
    big_last_week = _case(bank, opened_on=RUN_DATE - dt.timedelta(days=6), priority=50_000)
    _case(bank, rm=bank.colleague, opened_on=RUN_DATE, priority=90_000)  # the colleague's

    # No digest yet: since yesterday.
    assert digest_for_user(user=bank.owner, day=RUN_DATE).new_cases.rows == [big_today]
    # The last digest a week ago: everything since.
    DigestSent.objects.create(staff=bank.owner, day=RUN_DATE - dt.timedelta(days=7), email="x@bank.example",
                              language="en")
    assert digest_since(user=bank.owner, day=RUN_DATE) == RUN_DATE - dt.timedelta(days=7)
    assert digest_for_user(user=bank.owner, day=RUN_DATE).new_cases.rows == [big_last_week, big_today]


def test_the_head_sees_the_branchs_new_cases_and_the_tasks_escalated_to_them(bank, settings):
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    settings.RETENTION_DIGEST_HIGH_VALUE_CNY = 10_000
    colleagues = _case(bank, rm=bank.colleague, opened_on=RUN_DATE, priority=20_000)
    stuck = TaskFactory(case=colleagues, due_on=RUN_DATE - dt.timedelta(days=3))
    TaskFactory(case=_case(bank, priority=500), due_on=YESTERDAY)  # overdue, not yet escalated
    elsewhere = CaseFactory(customer=CustomerFactory(branch=bank.other_branch, rm=bank.outsider))
    TaskFactory(case=elsewhere, due_on=RUN_DATE - dt.timedelta(days=3))
    tasks_escalate(today=RUN_DATE)

    digest = digest_for_user(user=bank.head, day=RUN_DATE)

    assert digest.shows_escalated
    assert digest.escalated.rows == [stuck]  # the branch's, not the other branch's
    assert digest.new_cases.rows == [colleagues]
    # The head's own lists: nothing of theirs is due.
    assert digest.due_today.count == digest.overdue.count == 0


def test_a_long_part_lists_the_first_rows_and_counts_them_all(bank, settings):
    settings.RETENTION_DIGEST_MAX_ROWS = 3
    for _ in range(5):
        TaskFactory(case=_case(bank), due_on=RUN_DATE)

    part = digest_for_user(user=bank.owner, day=RUN_DATE).due_today

    assert len(part.rows) == 3 and part.count == 5 and part.more == 2


def test_the_digests_tasks_due_are_the_tasks_of_the_lists_due_filter(bank):
    # Two due today on one case, one on another, one overdue, one of the colleague's.
    first, second = _case(bank), _case(bank)
    due = {TaskFactory(case=first, due_on=RUN_DATE).pk, TaskFactory(case=first, due_on=RUN_DATE).pk,
           TaskFactory(case=second, due_on=RUN_DATE).pk}
    TaskFactory(case=second, due_on=YESTERDAY)
    TaskFactory(case=_case(bank, rm=bank.colleague), due_on=RUN_DATE)

    digest = digest_for_user(user=bank.owner, day=RUN_DATE)
    listed = case_list_for_user(user=bank.owner, filters={"due": "today", "today": RUN_DATE})

    assert {task.pk for task in digest.due_today.rows} == due and digest.due_today.count == 3
    assert set(listed.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert sum(1 for case in listed for task in case.tasks.all()
               if task.owner_id == bank.owner.pk and task.due_on == RUN_DATE and task.status == "open") == 3
