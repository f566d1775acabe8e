"""The branch head's callback queue (the head's tasks on callback signals) and recording a call:
reason learnt, reached, not reached. An empty record is refused with its message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import ContactLog
from retention.branch_selectors import callback_tasks_for_user, callbacks_done_today
from retention.branch_services import callback_record
from retention.models import Case, CaseEvent, Task
from tests.retention.branch_factories import callback_case, interception_case
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CustomerFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _call(task, user, outcome, note=""):
    return callback_record(task=task, user=user, outcome=outcome, note=note,
                           origin=AuditOrigin(actor=user, via="page"))


def _queue(user):
    return list(callback_tasks_for_user(user=user, today=RUN_DATE))


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_is_the_heads_tasks_on_callback_signals_due_first(bank, frozen_day):
    later = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE + dt.timedelta(days=2))[2]
    apology = callback_case(CustomerFactory(branch=bank.branch, rm=bank.owner), head=bank.head, due_on=RUN_DATE,
                            kind="service_failure")[2]
    assert _queue(bank.head) == [apology, later]


def test_the_rms_and_the_lobbys_steps_of_a_callback_case_are_not_the_heads(bank, frozen_day):
    case, signal, task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)
    TaskFactory(case=case, signal=signal, owner_role="rm", owner=bank.owner, due_on=RUN_DATE)
    assert _queue(bank.head) == [task]


def test_a_head_task_on_another_signal_is_no_callback(bank, frozen_day):
    # The win-back playbook's head call, or any head step not on a satisfaction or complaint signal.
    case, signal, _task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)
    TaskFactory(case=case, signal=signal, owner_role="head", owner=bank.head, due_on=RUN_DATE)
    assert _queue(bank.head) == []


@pytest.mark.parametrize("who,sees", [("head", True), ("lobby", True), ("owner", True), ("colleague", False),
                                      ("outsider", False)])
def test_the_queue_follows_the_users_scope(bank, frozen_day, who, sees):
    task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)[2]
    far_head = UserFactory(username="head_far", branch=bank.other_branch, role="head")
    assert (_queue(getattr(bank, who)) == [task]) is sees
    assert _queue(far_head) == []


def test_a_held_out_case_is_never_on_the_queue(bank, frozen_day):
    callback_case(bank.customer, head=bank.head, due_on=RUN_DATE, is_control=True)
    assert _queue(bank.head) == []


@pytest.mark.parametrize("status", ["snoozed", "dismissed", "closed_retained"])
def test_a_snoozed_or_closed_case_is_off_the_queue(bank, frozen_day, status):
    callback_case(bank.customer, head=bank.head, due_on=RUN_DATE, status=status)
    assert _queue(bank.head) == []


def test_a_call_done_today_stays_on_the_queue_below_the_open_ones_and_is_gone_tomorrow(bank, frozen_day):
    done = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE - dt.timedelta(days=1))[2]
    still_open = callback_case(CustomerFactory(branch=bank.branch, rm=bank.owner), head=bank.head,
                               due_on=RUN_DATE + dt.timedelta(days=1))[2]
    _call(done, bank.head, "reached", "said it was fine")
    assert _queue(bank.head) == [still_open, done]
    assert list(callback_tasks_for_user(user=bank.head, today=RUN_DATE + dt.timedelta(days=1))) == [still_open]


def test_one_row_per_case_its_next_call_and_the_call_done_today_beside_it(bank, frozen_day):
    case, signal, first = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)
    check_back = TaskFactory(case=case, signal=signal, owner_role="head", owner=bank.head,
                             due_on=RUN_DATE + dt.timedelta(days=14), text_en="Call again")
    assert _queue(bank.head) == [first]
    assert callbacks_done_today(tasks=[first], today=RUN_DATE) == {}

    _call(first, bank.head, "reason_learnt", "the queue")

    assert _queue(bank.head) == [check_back]
    assert callbacks_done_today(tasks=[check_back], today=RUN_DATE) == {case.pk: [first]}
    assert callbacks_done_today(tasks=[check_back], today=RUN_DATE + dt.timedelta(days=1)) == {}


# --- recording ----------------------------------------------------------------------------------


def test_the_reason_learnt_completes_the_task_and_logs_the_call(bank, frozen_day):
    case, _signal, task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)

    _call(task, bank.head, "reason_learnt", "  waited an hour at the counter  ")

    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "reason_learnt" and task.done_by == bank.head
    assert task.outcome_note == "waited an hour at the counter"
    contact = ContactLog.objects.get(customer=bank.customer)
    assert task.contact == contact and contact.channel == "call" and contact.result == "reached"
    assert contact.note == "waited an hour at the counter" and contact.staff == bank.head
    case = Case.objects.get(pk=case.pk)
    assert case.status == "in_progress" and case.worked_at is not None
    event = CaseEvent.objects.get(case=case)
    assert event.action == "task_outcome" and event.task == task and event.data["outcome"] == "reason_learnt"
    audit = AuditEvent.objects.get(action=AuditAction.CHANGE)
    assert audit.actor == bank.head and audit.object_id == str(case.pk)
    assert audit.detail["case_action"] == "callback" and audit.detail["task"] == task.pk
    assert audit.detail["outcome"] == "reason_learnt"


def test_an_apology_visit_is_logged_as_a_visit(bank, frozen_day):
    task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE, kind="service_failure")[2]
    assert task.channel == "visit"
    _call(task, bank.head, "reached", "apologised in person")
    assert ContactLog.objects.get().channel == "visit"


def test_not_reached_logs_the_attempt_and_leaves_the_call_due_tomorrow(bank, frozen_day):
    case, _signal, task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE - dt.timedelta(days=1))

    _call(task, bank.head, "not_reached")

    task.refresh_from_db()
    assert task.status == "open" and task.due_on == RUN_DATE + dt.timedelta(days=1) and task.outcome == ""
    assert ContactLog.objects.get().result == "no_answer"
    event = CaseEvent.objects.get(case=case)
    assert event.action == "contact_logged" and event.data["due_before"] == (RUN_DATE - dt.timedelta(1)).isoformat()
    # A call attempt is work on the case.
    assert Case.objects.get(pk=case.pk).worked_at is not None
    assert _queue(bank.head) == [task]


def test_not_reached_before_the_due_day_leaves_the_due_day(bank, frozen_day):
    task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE + dt.timedelta(days=2))[2]
    _call(task, bank.head, "not_reached")
    assert Task.objects.get(pk=task.pk).due_on == RUN_DATE + dt.timedelta(days=2)


@pytest.mark.parametrize("outcome,note,field,message", [
    ("", "", "outcome", "Choose how the call went."),
    ("", "said something", "outcome", "Choose how the call went."),
    ("funds_kept", "", "outcome", "Choose how the call went."),
    ("reason_learnt", "", "note", "Write down the reason the customer gave."),
    ("reason_learnt", "   ", "note", "Write down the reason the customer gave."),
    ("reached", "", "note", "Write down what the customer said."),
    ("reached", " \n ", "note", "Write down what the customer said."),
])
def test_an_empty_or_incomplete_record_is_refused_with_its_message(bank, frozen_day, outcome, note, field, message):
    task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)[2]
    with pytest.raises(ValidationError) as refused:
        _call(task, bank.head, outcome, note)
    assert refused.value.message_dict == {field: [message]}
    assert Task.objects.get(pk=task.pk).status == "open"
    assert not ContactLog.objects.exists() and not CaseEvent.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.CHANGE).exists()


def test_a_done_call_cannot_be_recorded_twice(bank, frozen_day):
    task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)[2]
    _call(task, bank.head, "reached", "said it was fine")
    with pytest.raises(ValidationError, match="already done"):
        _call(Task.objects.get(pk=task.pk), bank.head, "reason_learnt", "again")
    assert ContactLog.objects.count() == 1


@pytest.mark.parametrize("who", ["lobby", "owner"])
def test_only_the_head_records_the_heads_call(bank, frozen_day, who):
    task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)[2]
    with pytest.raises(PermissionDenied):
        _call(task, getattr(bank, who), "reached", "said it was fine")
    assert AuditEvent.objects.get(action=AuditAction.DENIED).detail["reason"] == "callback"
    assert Task.objects.get(pk=task.pk).status == "open"


def test_a_task_that_is_no_callback_is_refused(bank, frozen_day):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)[2]
    with pytest.raises(PermissionDenied):
        _call(task, bank.head, "reached", "said it was fine")
    assert AuditEvent.objects.get(action=AuditAction.DENIED).detail["reason"] == "not_a_callback"


def test_done_at_is_now(bank, frozen_day):
    task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)[2]
    _call(task, bank.head, "reached", "said it was fine")
    assert Task.objects.get(pk=task.pk).done_at == timezone.now()
