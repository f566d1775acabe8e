"""retention.branch_services.customer_handover: the lobby hands a walk-in to the RM (or the head),
onto the RM's task of the customer's open case."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import ContactLog
from retention.branch_services import customer_handover
from retention.models import Case, CaseEvent, Playbook, Task
from tests.retention.branch_factories import interception_case
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CaseFactory, CustomerFactory, SignalFactory, TaskFactory

pytestmark = pytest.mark.django_db


def _handover(customer, user, note=""):
    return customer_handover(customer=customer, user=user, note=note, origin=AuditOrigin(actor=user, via="page"))


def _consumption_case(customer, *, rm, lobby, rm_due: dt.date):
    """An open case with the RM's call due ``rm_due`` and the lobby's "hand them to the RM" step."""
    playbook = Playbook.objects.get(key="segment_consumption")
    case = CaseFactory(customer=customer, playbook=playbook)
    signal = SignalFactory(case=case)
    rm_task = TaskFactory(case=case, signal=signal, owner_role="rm", owner=rm, channel="call", due_on=rm_due)
    lobby_task = TaskFactory(case=case, signal=signal, owner_role="lobby", owner=lobby, channel="branch",
                             due_on=RUN_DATE)
    return case, rm_task, lobby_task


@pytest.mark.parametrize("who", ["owner", "colleague"])
def test_an_rm_has_nobody_to_hand_over_to_and_nothing_is_written(bank, frozen_day, who):
    with pytest.raises(PermissionDenied):
        _handover(bank.customer, getattr(bank, who), "x")
    assert not ContactLog.objects.exists()
    refused = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert refused.actor == getattr(bank, who) and refused.detail["reason"] == "handover"


def test_the_hand_over_moves_the_rms_next_task_of_the_case_to_today(bank, frozen_day):
    case, rm_task, lobby_task = _consumption_case(bank.customer, rm=bank.owner, lobby=bank.lobby,
                                                  rm_due=RUN_DATE + dt.timedelta(days=3))

    handover = _handover(bank.customer, bank.lobby, "wants a loan")

    assert handover.recipient == bank.owner and handover.case == case and handover.task == rm_task
    rm_task.refresh_from_db()
    assert rm_task.due_on == RUN_DATE and rm_task.status == "open"
    contact = ContactLog.objects.get()
    assert contact == handover.contact and contact.staff == bank.lobby and contact.next_step_on == RUN_DATE
    assert contact.channel == "branch" and contact.note == f"Hand-over from the lobby to {bank.owner}: wants a loan"
    case = Case.objects.get(pk=case.pk)
    assert case.status == "in_progress" and case.worked_at is not None
    event = CaseEvent.objects.get(case=case)
    assert event.action == "contact_logged" and event.actor == bank.lobby
    assert event.data["task_moved"] == rm_task.pk and event.data["handover_to"] == bank.owner.pk
    # One audit event, on the customer, naming the case and the task it landed on.
    [audit] = AuditEvent.objects.filter(action=AuditAction.CHANGE)
    assert audit.actor == bank.lobby and audit.detail["action"] == "handover"
    assert audit.detail["case"] == case.pk and audit.detail["task"] == rm_task.pk


def test_the_hand_over_is_the_lobbys_own_in_branch_step(bank, frozen_day):
    # "When the customer visits, the lobby manager hands them to the RM": done by the hand-over.
    _case, _rm_task, lobby_task = _consumption_case(bank.customer, rm=bank.owner, lobby=bank.lobby, rm_due=RUN_DATE)

    handover = _handover(bank.customer, bank.lobby, "loan")

    lobby_task.refresh_from_db()
    assert handover.lobby_tasks_done == (lobby_task,)
    assert lobby_task.status == "done" and lobby_task.done_by == bank.lobby and lobby_task.contact == handover.contact


def test_the_head_handing_over_leaves_the_lobby_managers_step_to_them(bank, frozen_day):
    _case, _rm_task, lobby_task = _consumption_case(bank.customer, rm=bank.owner, lobby=bank.lobby, rm_due=RUN_DATE)
    assert _handover(bank.customer, bank.head).lobby_tasks_done == ()
    assert Task.objects.get(pk=lobby_task.pk).status == "open"


def test_an_interception_is_not_done_by_a_hand_over(bank, frozen_day):
    _case, _signal, interception = interception_case(bank.customer, lobby=bank.lobby, on=RUN_DATE)
    _handover(bank.customer, bank.lobby)
    assert Task.objects.get(pk=interception.pk).status == "open"


def test_an_overdue_task_keeps_its_due_date(bank, frozen_day):
    overdue = RUN_DATE - dt.timedelta(days=4)
    _case, rm_task, _lobby_task = _consumption_case(bank.customer, rm=bank.owner, lobby=bank.lobby, rm_due=overdue)
    assert _handover(bank.customer, bank.lobby).task == rm_task
    assert Task.objects.get(pk=rm_task.pk).due_on == overdue


def test_without_an_open_case_the_hand_over_is_a_contact_log_follow_up(bank, frozen_day):
    CaseFactory(customer=bank.customer, status="closed_retained")

    handover = _handover(bank.customer, bank.head)

    assert handover.case is None and handover.task is None and handover.recipient == bank.owner
    contact = ContactLog.objects.get()
    assert contact.channel == "branch" and contact.result == "reached" and contact.next_step_on == RUN_DATE
    assert contact.note.endswith(": —")
    assert not CaseEvent.objects.exists()


def test_a_held_out_case_is_left_alone(bank, frozen_day):
    case = CaseFactory(customer=bank.customer, is_control=True)
    held_out_task = TaskFactory(case=case, due_on=RUN_DATE + dt.timedelta(days=3))

    handover = _handover(bank.customer, bank.lobby, "hi")

    assert handover.case is None and handover.contact is not None
    assert Task.objects.get(pk=held_out_task.pk).due_on == RUN_DATE + dt.timedelta(days=3)
    case = Case.objects.get(pk=case.pk)
    assert case.worked_at is None and case.status == "open" and not CaseEvent.objects.exists()


def test_a_customer_without_rm_goes_to_the_branch_head_and_without_head_nowhere(bank, frozen_day):
    unassigned = CustomerFactory(branch=bank.branch, rm=None)

    handover = _handover(unassigned, bank.lobby, "hi")
    assert handover.recipient == bank.head
    assert "branch head" in handover.contact.note

    bank.head.is_active = False
    bank.head.save()
    assert _handover(unassigned, bank.lobby, "hi").recipient is None
    assert ContactLog.objects.filter(customer=unassigned).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE).count() == 1  # nothing written, nothing audited


def test_an_unassigned_customers_case_hands_the_heads_task_over(bank, frozen_day):
    unassigned = CustomerFactory(branch=bank.branch, rm=None)
    case = CaseFactory(customer=unassigned, owner=bank.head)
    head_task = TaskFactory(case=case, owner=bank.head, due_on=RUN_DATE + dt.timedelta(days=2))

    assert _handover(unassigned, bank.lobby).task == head_task
    assert Task.objects.get(pk=head_task.pk).due_on == RUN_DATE
