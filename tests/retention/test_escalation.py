"""retention.escalation: tasks overdue by RETENTION_ESCALATE_AFTER_DAYS go up to the branch head, once."""

from __future__ import annotations

import datetime as dt

import pytest

from customers.models import Role
from retention.escalation import tasks_escalate
from retention.models import CaseEvent, TaskStatus
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CaseFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _task(bank, *, days_overdue: int, **kwargs):
    case = kwargs.pop("case", None) or CaseFactory(customer=bank.customer)
    return TaskFactory(case=case, due_on=RUN_DATE - dt.timedelta(days=days_overdue), **kwargs)


def test_a_task_overdue_by_the_setting_is_escalated_with_an_event_naming_the_head(bank, settings):
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    task = _task(bank, days_overdue=2)

    assert tasks_escalate(today=RUN_DATE) == 1

    task.refresh_from_db()
    assert task.escalated_on == RUN_DATE
    event = task.case.events.get(action=CaseEvent.Action.ESCALATED)
    assert event.task == task and event.actor is None
    assert event.data == {"task": task.pk, "due_on": "2024-05-13", "days_overdue": 2, "owner": bank.owner.pk,
                          "head": bank.head.pk}


def test_a_task_overdue_by_fewer_days_is_not_escalated_yet(bank, settings):
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    task = _task(bank, days_overdue=1)

    assert tasks_escalate(today=RUN_DATE) == 0
    task.refresh_from_db()
    assert task.escalated_on is None


def test_a_rerun_escalates_nothing_twice(bank, settings):
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    task = _task(bank, days_overdue=5)
    tasks_escalate(today=RUN_DATE)

    assert tasks_escalate(today=RUN_DATE) == 0
    assert tasks_escalate(today=RUN_DATE + dt.timedelta(days=1)) == 0
    assert task.case.events.filter(action=CaseEvent.Action.ESCALATED).count() == 1
    task.refresh_from_db()
    assert task.escalated_on == RUN_DATE


def test_done_cancelled_snoozed_and_held_out_work_is_not_escalated(bank, settings):
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    done = _task(bank, days_overdue=3, status=TaskStatus.DONE)
    cancelled = _task(bank, days_overdue=3, case=done.case, status=TaskStatus.CANCELLED)
    snoozed = _task(bank, days_overdue=3, case=CaseFactory(status="snoozed", snoozed_until=RUN_DATE))
    held_out = _task(bank, days_overdue=3, case=CaseFactory(is_control=True))

    assert tasks_escalate(today=RUN_DATE) == 0
    for task in (done, cancelled, snoozed, held_out):
        task.refresh_from_db()
        assert task.escalated_on is None


def test_the_heads_own_tasks_are_not_escalated(bank, settings):
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    callback = _task(bank, days_overdue=4, owner_role="head", owner=bank.head)
    # An RM step of a customer with no RM, owned by the head as fallback.
    fallback = _task(bank, days_overdue=4, case=callback.case, owner=bank.head)

    assert tasks_escalate(today=RUN_DATE) == 0
    callback.refresh_from_db()
    fallback.refresh_from_db()
    assert callback.escalated_on is None and fallback.escalated_on is None


def test_lobby_tasks_escalate_too_and_a_branch_without_a_head_is_recorded_as_such(bank, settings):
    settings.RETENTION_ESCALATE_AFTER_DAYS = 1
    lobby_task = _task(bank, days_overdue=1, owner_role="lobby", owner=bank.lobby, channel="branch")
    headless_rm = UserFactory(username="rm_headless", role=Role.RM)
    elsewhere = TaskFactory(case=CaseFactory(customer__rm=headless_rm, customer__branch=headless_rm.branch),
                            due_on=RUN_DATE - dt.timedelta(days=3))

    assert tasks_escalate(today=RUN_DATE) == 2
    assert lobby_task.case.events.get(action="escalated").data["head"] == bank.head.pk
    assert elsewhere.case.events.get(action="escalated").data["head"] is None


def test_many_tasks_escalate_in_batches(bank, settings, monkeypatch):
    from retention import escalation

    monkeypatch.setattr(escalation, "BATCH", 3)
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    case = CaseFactory(customer=bank.customer)
    tasks = [_task(bank, days_overdue=2 + i, case=case) for i in range(7)]

    assert tasks_escalate(today=RUN_DATE) == 7
    assert case.events.filter(action="escalated").count() == 7
    assert {t.pk for t in tasks} == set(case.tasks.filter(escalated_on=RUN_DATE).values_list("pk", flat=True))
