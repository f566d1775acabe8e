"""What staff do on a case and its tasks (retention.case_services): every action writes
its CaseEvent with the actor and is audited given an origin; the first work marks the
case worked; a logged contact completes the matching task; snooze has a horizon;
dismiss and close need a reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import ContactLog
from retention.case_services import (
    case_close,
    case_dismiss,
    case_snooze,
    case_start,
    contact_log,
    task_done,
    task_undo,
)
from retention.models import Case, CaseEvent, CaseStatus, TaskOutcome, TaskStatus
from retention.selectors import case_list_for_user
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CaseFactory, SignalFactory, TaskFactory


@pytest.fixture
def case(bank):
    case = CaseFactory(customer=bank.customer)
    SignalFactory(case=case)
    TaskFactory(case=case, order=1, channel="call")
    TaskFactory(case=case, order=2, channel="visit", due_on=RUN_DATE + dt.timedelta(days=3))
    TaskFactory(case=case, order=3, owner_role="lobby", owner=bank.lobby, channel="branch")
    return case


def origin_of(user) -> AuditOrigin:
    return AuditOrigin(actor=user, ip_address="10.0.0.1", path="/test/")


def staff_events(case: Case) -> list[str]:
    return list(case.events.exclude(actor=None).order_by("at", "pk").values_list("action", flat=True))


def test_starting_a_case_moves_it_to_in_progress_and_is_audited(bank, case, frozen_day):
    case_start(case=case, user=bank.owner, origin=origin_of(bank.owner))

    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.worked_at is None  # starting is not work done
    event = case.events.get()
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        CaseEvent.Action.STARTED, bank.owner, CaseStatus.OPEN, CaseStatus.IN_PROGRESS)
    audit = AuditEvent.objects.get(action=AuditAction.CHANGE)
    assert audit.object_type == "retention.case" and audit.object_id == str(case.pk)
    assert audit.customer_id == bank.customer.pk and audit.detail["case_action"] == "start"


def test_ticking_a_task_marks_the_case_worked_and_undo_reverts_it(bank, case, frozen_day):
    task = case.tasks.get(order=1)

    task_done(task=task, user=bank.owner, origin=origin_of(bank.owner))

    task.refresh_from_db()
    case.refresh_from_db()
    assert (task.status, task.done_by) == (TaskStatus.DONE, bank.owner) and task.done_at is not None
    assert case.status == CaseStatus.IN_PROGRESS and case.worked_at is not None
    assert case.events.get(action=CaseEvent.Action.TASK_DONE).task == task

    task_undo(task=task, user=bank.owner, origin=origin_of(bank.owner))

    task.refresh_from_db()
    case.refresh_from_db()
    assert (task.status, task.done_by, task.done_at) == (TaskStatus.OPEN, None, None)
    assert case.worked_at is None  # ticked by mistake: nothing was done after all
    assert staff_events(case) == [CaseEvent.Action.TASK_DONE, CaseEvent.Action.TASK_UNDONE]
    assert [e.detail["case_action"] for e in AuditEvent.objects.order_by("pk")] == ["task_done", "task_undo"]


def test_a_task_outcome_is_recorded_with_the_amount_kept(bank, case, frozen_day):
    lobby_task = case.tasks.get(order=3)
    task_done(task=lobby_task, user=bank.lobby, outcome=TaskOutcome.FUNDS_KEPT, note="seated in the wealth area",
              amount_kept=Decimal("400000"))
    lobby_task.refresh_from_db()
    assert (lobby_task.outcome, lobby_task.amount_kept, lobby_task.done_by) == (
        TaskOutcome.FUNDS_KEPT, Decimal("400000.00"), bank.lobby)
    with pytest.raises(ValidationError):
        task_done(task=case.tasks.get(order=1), user=bank.owner, outcome="maybe")


def test_logging_a_contact_completes_the_users_open_task_on_that_channel(bank, case, frozen_day):
    contact = contact_log(case=case, user=bank.owner, channel="visit", result="reached", note="met at home",
                          next_step_on=RUN_DATE + dt.timedelta(days=3), origin=origin_of(bank.owner))

    assert ContactLog.objects.get() == contact
    assert (contact.customer, contact.staff, contact.channel) == (bank.customer, bank.owner, "visit")
    visit = case.tasks.get(order=2)
    assert (visit.status, visit.contact, visit.done_by) == (TaskStatus.DONE, contact, bank.owner)
    # The call and the lobby's task are another channel and another person's: still open.
    assert set(case.tasks.filter(status=TaskStatus.OPEN).values_list("order", flat=True)) == {1, 3}
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS and case.worked_at is not None
    event = case.events.get(action=CaseEvent.Action.CONTACT_LOGGED)
    assert event.task == visit and event.data["contact"] == contact.pk

    # Undo: the task is open again, the contact stays in the log, the case stays worked.
    task_undo(task=visit, user=bank.owner)
    visit.refresh_from_db()
    case.refresh_from_db()
    assert visit.status == TaskStatus.OPEN and visit.contact is None
    assert ContactLog.objects.filter(pk=contact.pk).exists()
    assert case.worked_at is not None


def test_a_contact_on_a_channel_without_a_task_completes_nothing_but_is_work(bank, case, frozen_day):
    contact_log(case=case, user=bank.owner, channel="message", result="no_answer")
    assert not case.tasks.filter(status=TaskStatus.DONE).exists()
    case.refresh_from_db()
    assert case.worked_at is not None
    assert case.events.get(action=CaseEvent.Action.CONTACT_LOGGED).task is None


def test_a_contact_by_someone_else_does_not_complete_the_rms_task(bank, case, frozen_day):
    contact_log(case=case, user=bank.head, channel="call", result="reached")
    assert case.tasks.get(order=1).status == TaskStatus.OPEN


@pytest.mark.parametrize("days", [0, -1, 31, 3_000_000])
def test_snooze_accepts_only_tomorrow_up_to_the_horizon(bank, case, frozen_day, days):
    until = dt.date.max if days > 10_000 else RUN_DATE + dt.timedelta(days=days)
    with pytest.raises(ValidationError) as refused:
        case_snooze(case=case, user=bank.owner, until=until)
    message = " ".join(refused.value.messages)
    if days > 0:
        assert "30" in message and (RUN_DATE + dt.timedelta(days=30)).isoformat() in message
    else:
        assert "later" in message
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and not case.events.exists()


def test_the_snooze_horizon_is_configurable(bank, case, frozen_day, settings):
    settings.RETENTION_SNOOZE_MAX_DAYS = 7
    with pytest.raises(ValidationError):
        case_snooze(case=case, user=bank.owner, until=RUN_DATE + dt.timedelta(days=8))
    case_snooze(case=case, user=bank.owner, until=RUN_DATE + dt.timedelta(days=7), note="on holiday")
    case.refresh_from_db()
    assert (case.status, case.snoozed_until) == (CaseStatus.SNOOZED, RUN_DATE + dt.timedelta(days=7))
    assert case.events.get().data == {"until": (RUN_DATE + dt.timedelta(days=7)).isoformat()}
    assert case not in case_list_for_user(user=bank.owner)


def test_working_a_snoozed_case_wakes_it(bank, case, frozen_day):
    case_snooze(case=case, user=bank.owner, until=RUN_DATE + dt.timedelta(days=5))
    task_done(task=case.tasks.get(order=1), user=bank.owner)
    case.refresh_from_db()
    assert (case.status, case.snoozed_until) == (CaseStatus.IN_PROGRESS, None)


def test_dismiss_needs_a_reason_and_cancels_the_open_tasks(bank, case, frozen_day):
    with pytest.raises(ValidationError):
        case_dismiss(case=case, user=bank.owner, reason="  ")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN

    case_dismiss(case=case, user=bank.owner, reason="Customer is emigrating", origin=origin_of(bank.owner))

    case.refresh_from_db()
    assert (case.status, case.close_reason, case.closed_by) == (
        CaseStatus.DISMISSED, "Customer is emigrating", bank.owner)
    assert case.closed_at is not None and case.rank is None and not case.in_budget
    assert set(case.tasks.values_list("status", flat=True)) == {TaskStatus.CANCELLED}
    event = case.events.get(action=CaseEvent.Action.DISMISSED)
    assert event.note == "Customer is emigrating" and event.data["tasks_cancelled"] == 3
    with pytest.raises(ValidationError):
        task_done(task=case.tasks.get(order=1), user=bank.owner)


@pytest.mark.parametrize(("outcome", "status"), [("retained", CaseStatus.CLOSED_RETAINED),
                                                  ("lost", CaseStatus.CLOSED_LOST)])
def test_closing_a_case_records_the_outcome_the_reason_and_who(bank, case, frozen_day, outcome, status):
    task_done(task=case.tasks.get(order=1), user=bank.owner)
    with pytest.raises(ValidationError):
        case_close(case=case, user=bank.owner, outcome=outcome, reason="")
    with pytest.raises(ValidationError):
        case_close(case=case, user=bank.owner, outcome="perhaps", reason="x")

    case_close(case=case, user=bank.owner, outcome=outcome, reason="renewed the deposit",
               origin=origin_of(bank.owner))

    case.refresh_from_db()
    assert (case.status, case.close_reason, case.closed_by) == (status, "renewed the deposit", bank.owner)
    assert case.outcome == ""  # the measured outcome comes at the end of the churn window
    event = case.events.get(action=CaseEvent.Action.CLOSED)
    assert (event.from_status, event.to_status, event.data["outcome"]) == (CaseStatus.IN_PROGRESS, status, outcome)
    assert case.tasks.get(order=1).status == TaskStatus.DONE  # work done stays done
    assert AuditEvent.objects.get(action=AuditAction.CHANGE).detail == {"case_action": "close", "outcome": outcome}
    with pytest.raises(ValidationError):
        case_start(case=case, user=bank.owner)


def test_a_closed_case_leaves_room_for_a_new_one_but_two_open_cases_are_impossible(bank, case, frozen_day):
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseFactory(customer=bank.customer)
    case_close(case=case, user=bank.owner, outcome="retained", reason="kept")
    assert CaseFactory(customer=bank.customer).status == CaseStatus.OPEN


def test_a_task_of_another_case_cannot_be_ticked_through_this_one(bank, case, frozen_day):
    other = TaskFactory(case=CaseFactory(customer__branch=bank.branch, customer__rm=bank.owner))
    other.case = case  # a forged object: the service goes by the database, not by what it is handed
    with pytest.raises(PermissionDenied):
        task_done(task=other, user=bank.owner)
    other.refresh_from_db()
    assert other.status == TaskStatus.OPEN


def test_an_rm_cannot_tick_the_heads_callback_or_the_lobbys_interception(bank, case, frozen_day):
    callback = TaskFactory(case=case, owner_role="head", owner=bank.head, order=8, channel="call")
    interception = TaskFactory(case=case, owner_role="lobby", owner=bank.lobby, order=9, channel="branch")
    for task in (callback, interception):
        with pytest.raises(PermissionDenied):
            task_done(task=task, user=bank.owner)
        task.refresh_from_db()
        assert task.status == TaskStatus.OPEN
    # Their owners can; the head covers the lobby.
    assert task_done(task=callback, user=bank.head).status == TaskStatus.DONE
    assert task_done(task=interception, user=bank.head).status == TaskStatus.DONE
    with pytest.raises(PermissionDenied):
        task_undo(task=callback, user=bank.owner)
