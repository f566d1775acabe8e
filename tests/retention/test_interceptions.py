"""The lobby's interception list (its tasks on booked large withdrawals) and recording what
became of one: came in and kept the funds / moved them, or did not come."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import ContactLog
from retention.branch_selectors import interception_tasks_for_user
from retention.branch_services import interception_record
from retention.models import Case, CaseEvent, Task
from tests.retention.branch_factories import callback_case, interception_case
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CustomerFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db
TOMORROW = RUN_DATE + dt.timedelta(days=1)


def _record(task, user, outcome, amount=None, note=""):
    return interception_record(task=task, user=user, outcome=outcome,
                               amount_kept=None if amount is None else Decimal(amount), note=note,
                               origin=AuditOrigin(actor=user, via="page"))


# --- the list -----------------------------------------------------------------------------------


def test_the_list_holds_the_lobby_tasks_booked_for_today_and_tomorrow(bank, frozen_day):
    _case, _signal, today_task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE, amount="300000.00")
    tomorrow_task = interception_case(CustomerFactory(branch=bank.branch, rm=bank.owner), lobby=bank.lobby,
                                      on=TOMORROW)[2]
    later = interception_case(CustomerFactory(branch=bank.branch, rm=bank.owner), lobby=bank.lobby,
                              on=RUN_DATE + dt.timedelta(days=2))[2]
    bigger_today = interception_case(CustomerFactory(branch=bank.branch, rm=bank.owner), lobby=bank.lobby,
                                     on=RUN_DATE, amount="900000.00")[2]

    listed = list(interception_tasks_for_user(user=bank.lobby, today=RUN_DATE))

    # Today first, the largest booking first within the day; the day after tomorrow is not yet on it.
    assert listed == [bigger_today, today_task, tomorrow_task]
    assert later not in listed


def test_the_rms_steps_of_the_same_case_are_not_on_the_lobbys_list(bank):
    case, signal, task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)
    TaskFactory(case=case, signal=signal, owner_role="rm", owner=bank.owner, channel="branch", due_on=RUN_DATE)
    assert list(interception_tasks_for_user(user=bank.lobby, today=RUN_DATE)) == [task]


@pytest.mark.parametrize("who,sees", [("lobby", True), ("head", True), ("owner", True), ("colleague", False),
                                      ("outsider", False)])
def test_the_list_follows_the_users_scope(bank, who, sees):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)[2]
    far = UserFactory(username="lobby_far", branch=bank.other_branch, role="lobby")
    assert (list(interception_tasks_for_user(user=getattr(bank, who), today=RUN_DATE)) == [task]) is sees
    assert not interception_tasks_for_user(user=far, today=RUN_DATE).exists()


def test_a_held_out_case_is_never_on_the_list(bank):
    # A held-out case has no tasks; even one left over by mistake is not listed.
    interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE, is_control=True)
    assert not interception_tasks_for_user(user=bank.lobby, today=RUN_DATE).exists()


def test_a_recorded_interception_stays_on_the_list_and_a_cancelled_one_goes(bank, frozen_day):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)[2]
    _record(task, bank.lobby, "did_not_come")
    assert list(interception_tasks_for_user(user=bank.lobby, today=RUN_DATE)) == [task]
    Task.objects.filter(pk=task.pk).update(status="cancelled")
    assert not interception_tasks_for_user(user=bank.lobby, today=RUN_DATE).exists()


# --- recording ----------------------------------------------------------------------------------


def test_funds_kept_completes_the_task_with_the_amount_and_logs_the_visit(bank, frozen_day):
    case, _signal, task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE, amount="500000.00")

    _record(task, bank.lobby, "funds_kept", "350000", "moved to a 3-month product")

    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "funds_kept" and task.amount_kept == Decimal("350000.00")
    assert task.done_by == bank.lobby and task.outcome_note == "moved to a 3-month product"
    contact = ContactLog.objects.get(customer=bank.customer)
    assert task.contact == contact and contact.channel == "branch" and contact.result == "agreed"
    assert contact.staff == bank.lobby
    case = Case.objects.get(pk=case.pk)
    assert case.status == "in_progress" and case.worked_at is not None
    event = CaseEvent.objects.get(case=case)
    assert event.action == "task_outcome" and event.task == task and event.actor == bank.lobby
    assert (event.from_status, event.to_status) == ("open", "in_progress")
    assert event.data["outcome"] == "funds_kept" and event.data["amount_kept"] == "350000"
    audit = AuditEvent.objects.get(action=AuditAction.CHANGE)
    assert audit.actor == bank.lobby and audit.detail["case_action"] == "interception"
    assert audit.detail["outcome"] == "funds_kept"


def test_funds_moved_may_keep_a_part(bank, frozen_day):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE, amount="500000.00")[2]
    _record(task, bank.head, "funds_moved", "100000")  # the head covers the lobby
    task.refresh_from_db()
    assert task.outcome == "funds_moved" and task.amount_kept == Decimal("100000") and task.done_by == bank.head
    assert ContactLog.objects.get().result == "declined"


def test_funds_moved_without_an_amount_kept_nothing(bank, frozen_day):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)[2]
    _record(task, bank.lobby, "funds_moved")
    assert Task.objects.get(pk=task.pk).amount_kept == Decimal("0")


def test_did_not_come_completes_the_task_and_logs_no_visit(bank, frozen_day):
    case, _signal, task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)
    _record(task, bank.lobby, "did_not_come")
    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "did_not_come" and task.amount_kept is None
    assert task.contact is None and not ContactLog.objects.exists()
    # The lobby watched for the customer: the case was worked.
    assert Case.objects.get(pk=case.pk).worked_at is not None


@pytest.mark.parametrize("outcome,amount,field,message", [
    ("", None, "outcome", "Say whether the customer came in and what became of the funds."),
    ("reached", None, "outcome", "Say whether the customer came in and what became of the funds."),
    ("funds_kept", None, "amount_kept", "Enter the amount the customer kept with us."),
    ("funds_kept", "0", "amount_kept", "Enter the amount the customer kept with us."),
    ("funds_kept", "-5", "amount_kept", "Enter the amount the customer kept with us."),
    ("funds_kept", "500000.01", "amount_kept", "At most the booked 500,000.00 CNY can be kept."),
    ("funds_moved", "600000", "amount_kept", "At most the booked 500,000.00 CNY can be kept."),
    ("did_not_come", "10", "amount_kept", "The customer did not come in: no amount was kept."),
])
def test_an_incomplete_or_impossible_record_is_refused_with_its_message(bank, frozen_day, outcome, amount, field,
                                                                        message):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE, amount="500000.00")[2]
    with pytest.raises(ValidationError) as refused:
        _record(task, bank.lobby, outcome, amount)
    assert refused.value.message_dict == {field: [message]}
    assert Task.objects.get(pk=task.pk).status == "open"
    assert not ContactLog.objects.exists() and not CaseEvent.objects.exists()


def test_a_done_interception_cannot_be_recorded_twice(bank, frozen_day):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)[2]
    _record(task, bank.lobby, "did_not_come")
    with pytest.raises(ValidationError, match="already done"):
        _record(Task.objects.get(pk=task.pk), bank.lobby, "funds_kept", "1000")
    assert Task.objects.get(pk=task.pk).outcome == "did_not_come"


def test_a_closed_case_takes_no_record(bank, frozen_day):
    case, _signal, task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)
    Case.objects.filter(pk=case.pk).update(status="closed_lost")
    with pytest.raises(ValidationError, match="no longer be recorded"):
        _record(task, bank.lobby, "did_not_come")


@pytest.mark.parametrize("who", ["owner", "colleague"])
def test_an_rm_does_not_record_the_lobbys_interception(bank, frozen_day, who):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)[2]
    with pytest.raises(PermissionDenied):
        _record(task, getattr(bank, who), "did_not_come")
    assert Task.objects.get(pk=task.pk).status == "open"
    refused = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert refused.actor == getattr(bank, who) and refused.detail["reason"] == "interception"


def test_a_task_that_is_no_interception_is_refused(bank, frozen_day):
    task = callback_case(bank.customer, head=bank.head, due_on=RUN_DATE)[2]
    with pytest.raises(PermissionDenied):
        _record(task, bank.head, "funds_kept", "10")
    assert AuditEvent.objects.get(action=AuditAction.DENIED).detail["reason"] == "not_an_interception"


def test_a_lobby_manager_of_another_branch_cannot_record(bank, frozen_day):
    task = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)[2]
    far = UserFactory(username="lobby_far", branch=bank.other_branch, role="lobby")
    with pytest.raises(PermissionDenied):
        _record(task, far, "did_not_come")
    assert Task.objects.get(pk=task.pk).status == "open"
