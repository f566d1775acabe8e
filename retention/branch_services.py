"""Writes of the branch's own work: the lobby manager records an interception and hands a
walk-in over to the RM; the branch head records a callback.

Each action completes (or moves) a task of the customer's case, logs the contact in the
customer's contact log, writes the case's history (CaseEvent) and one audit event, in one
transaction. The first piece of staff work on a case sets ``worked_at`` ("worked" in the
report) and moves an open case to "in progress". A refusal (a task in scope that is not
the user's to do) is PermissionDenied, audited as refused; the pages answer it with a 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import AuditOrigin, audit_denied, audit_record
from customers.models import ContactChannel, ContactLog, ContactResult, Customer, User
from customers.permissions import user_can_hand_over
from customers.selectors import customer_handover_recipient
from customers.services import customer_action_refused
from retention.branch_selectors import INTERCEPTION_KIND, branch_task_doable_by
from retention.models import (
    CALLBACK_KINDS,
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    OwnerRole,
    Task,
    TaskOutcome,
    TaskStatus,
)
from retention.selectors import case_scope_for_user, task_scope_for_user
from retention.summary import dashboard_summary_refresh_for_case

INTERCEPTION_OUTCOMES = (TaskOutcome.FUNDS_KEPT, TaskOutcome.FUNDS_MOVED, TaskOutcome.DID_NOT_COME)
CALLBACK_OUTCOMES = (TaskOutcome.REASON_LEARNT, TaskOutcome.REACHED, TaskOutcome.NOT_REACHED)
# What the contact log says of each outcome (its results are the bank's, older than tasks).
_CONTACT_RESULT: dict[str, str] = {
    TaskOutcome.FUNDS_KEPT: ContactResult.AGREED,
    TaskOutcome.FUNDS_MOVED: ContactResult.DECLINED,
    TaskOutcome.REASON_LEARNT: ContactResult.REACHED,
    TaskOutcome.REACHED: ContactResult.REACHED,
    TaskOutcome.NOT_REACHED: ContactResult.NO_ANSWER,
}


# --- shared ---------------------------------------------------------------------------------


def _refuse(origin: AuditOrigin, task: Task, reason: str) -> PermissionDenied:
    # Written before (outside) the action's transaction, so the refusal stays in the trail.
    audit_denied(origin=origin, object_type="retention.task", object_id=task.pk, reason=reason)
    return PermissionDenied(_("This task is not yours to record."))


def _locked(task: Task, user: User) -> tuple[Case, Task]:
    """The task's case and the task, locked for update (case first, as every case action
    does), re-read inside the transaction; PermissionDenied if the task left the user's scope."""
    if not task_scope_for_user(user=user).filter(pk=task.pk).exists():
        raise PermissionDenied(_("This task is not yours to record."))
    # of=self: lock the case and the task rows only, not the customer read beside them; and PostgreSQL
    # refuses FOR UPDATE on the nullable side of an outer join (the task's signal).
    case = Case.objects.select_for_update(of=("self",)).select_related("customer").get(pk=task.case_id)
    locked = Task.objects.select_for_update(of=("self",)).select_related("signal").get(pk=task.pk)
    return case, locked


def _require_open(case: Case, task: Task) -> None:
    if task.status == TaskStatus.DONE:
        raise ValidationError(_("This task is already done."))
    if task.status != TaskStatus.OPEN or case.status not in OPEN_STATUSES:
        raise ValidationError(_("This case is %(status)s; the task can no longer be recorded.")
                              % {"status": case.get_status_display()})


def _event(case: Case, *, action: str, user: User, task: Task | None = None, note: str = "",
           data: dict[str, Any] | None = None, from_status: str = "") -> CaseEvent:
    return CaseEvent.objects.create(case=case, task=task, actor=user, action=action,
                                    from_status=from_status or case.status, to_status=case.status,
                                    note=note, data=data or {})


def _case_worked(case: Case, user: User) -> str:
    """Staff worked the case: the first time sets ``worked_at``; an open case is now in
    progress. Returns the status before, for the history."""
    before = case.status
    fields = []
    if case.worked_at is None:
        case.worked_at = timezone.now()
        fields.append("worked_at")
    if case.status == CaseStatus.OPEN:
        case.status = CaseStatus.IN_PROGRESS
        fields.append("status")
    if fields:
        case.save(update_fields=[*fields, "updated_at"])
    if "worked_at" in fields:
        dashboard_summary_refresh_for_case(case=case, today=timezone.localdate())
    return before


def _task_done(task: Task, user: User, *, outcome: str = "", note: str = "", amount_kept: Decimal | None = None,
               contact: ContactLog | None = None) -> None:
    task.status = TaskStatus.DONE
    task.done_at = timezone.now()
    task.done_by = user
    task.outcome = outcome
    task.outcome_note = note
    task.amount_kept = amount_kept
    task.contact = contact
    task.save(update_fields=["status", "done_at", "done_by", "outcome", "outcome_note", "amount_kept", "contact"])


def _log_contact(customer: Customer, user: User, *, channel: str, result: str, note: str,
                 next_step_on: dt.date | None = None) -> ContactLog:
    return ContactLog.objects.create(customer=customer, staff=user, contacted_at=timezone.now(), channel=channel,
                                     result=result, note=note, next_step_on=next_step_on)


def _audit(origin: AuditOrigin, case: Case, action: str, **detail: Any) -> None:
    audit_record(action=AuditAction.CHANGE, origin=origin, obj=case, customer=case.customer,
                 detail={"case_action": action, **detail})


# --- the lobby: interceptions -------------------------------------------------------------------


def _booked_amount(task: Task) -> Decimal | None:
    """The booked withdrawal or transfer, as the rule stored it (else the signal's AUM at risk)."""
    signal = task.signal
    if signal is None:
        return None
    try:
        return Decimal(str(signal.details.get("amount") or signal.aum_at_risk))
    except (InvalidOperation, ValueError):
        return None


def _interception_amount(task: Task, outcome: str, amount_kept: Decimal | None) -> Decimal | None:
    """The amount kept, checked against the outcome and the booking; messages per field."""
    if outcome == TaskOutcome.DID_NOT_COME:
        if amount_kept:
            raise ValidationError({"amount_kept": _("The customer did not come in: no amount was kept.")})
        return None
    booked = _booked_amount(task)
    if amount_kept is None:
        if outcome == TaskOutcome.FUNDS_KEPT:
            raise ValidationError({"amount_kept": _("Enter the amount the customer kept with us.")})
        return Decimal("0.00")
    if amount_kept < 0 or (outcome == TaskOutcome.FUNDS_KEPT and amount_kept == 0):
        raise ValidationError({"amount_kept": _("Enter the amount the customer kept with us.")})
    if booked is not None and amount_kept > booked:
        raise ValidationError({"amount_kept": _("At most the booked %(amount)s CNY can be kept.")
                               % {"amount": f"{booked:,.2f}"}})
    return amount_kept


def interception_record(
    *, task: Task, user: User, outcome: str, amount_kept: Decimal | None = None, note: str = "",
    origin: AuditOrigin,
) -> Task:
    """The lobby manager records what became of a booked large withdrawal or transfer: the
    customer came in and kept the funds (``amount_kept`` required, at most the booked amount),
    came in and moved them (part kept, if any), or did not come in. The task is done with
    its outcome; a visit is logged in the contact log (not when the customer did not come).

    Only the lobby tasks of large-withdrawal signals take it (any other task:
    PermissionDenied); only the lobby, the head or an administrator records it."""
    if task.owner_role != OwnerRole.LOBBY or task.signal is None or task.signal.kind != INTERCEPTION_KIND:
        raise _refuse(origin, task, "not_an_interception")
    if not branch_task_doable_by(user=user, task=task):
        raise _refuse(origin, task, "interception")
    if outcome not in INTERCEPTION_OUTCOMES:
        raise ValidationError({"outcome": _("Say whether the customer came in and what became of the funds.")})
    note = (note or "").strip()
    with transaction.atomic():
        case, task = _locked(task, user)
        _require_open(case, task)
        amount = _interception_amount(task, outcome, amount_kept)
        contact = None
        if outcome != TaskOutcome.DID_NOT_COME:
            contact = _log_contact(case.customer, user, channel=ContactChannel.BRANCH,
                                   result=_CONTACT_RESULT[outcome], note=note)
        _task_done(task, user, outcome=outcome, note=note, amount_kept=amount, contact=contact)
        before = _case_worked(case, user)
        data = {"outcome": outcome, "amount_kept": None if amount is None else str(amount),
                "contact_id": contact.pk if contact else None}
        _event(case, action=CaseEvent.Action.TASK_OUTCOME, user=user, task=task, note=note, data=data,
               from_status=before)
        _audit(origin, case, "interception", task=task.pk, outcome=outcome,
               amount_kept=data["amount_kept"])
    return task


# --- the branch head: callbacks -------------------------------------------------------------------


def callback_record(*, task: Task, user: User, outcome: str, note: str = "", origin: AuditOrigin) -> Task:
    """The branch head records a satisfaction or apology call: the customer was reached and
    gave the reason (``note`` required: the reason), reached (``note`` required: what they
    said), or not reached (``note`` optional). The call is
    logged in the contact log; reached, the task is done with its outcome; not reached, the
    task stays open and is due again tomorrow.

    Only the head's tasks on callback signals take it (any other task: PermissionDenied)."""
    if task.owner_role != OwnerRole.HEAD or task.signal is None or task.signal.kind not in CALLBACK_KINDS:
        raise _refuse(origin, task, "not_a_callback")
    if not branch_task_doable_by(user=user, task=task):
        raise _refuse(origin, task, "callback")
    note = (note or "").strip()
    if outcome not in CALLBACK_OUTCOMES:
        raise ValidationError({"outcome": _("Choose how the call went.")})
    if outcome == TaskOutcome.REASON_LEARNT and not note:
        raise ValidationError({"note": _("Write down the reason the customer gave.")})
    # A call that reached the customer is worth nothing to the next colleague without a word of
    # what was said (an empty form must never pass as a conversation).
    if outcome == TaskOutcome.REACHED and not note:
        raise ValidationError({"note": _("Write down what the customer said.")})
    with transaction.atomic():
        case, task = _locked(task, user)
        _require_open(case, task)
        contact = _log_contact(case.customer, user, channel=task.channel or ContactChannel.CALL,
                               result=_CONTACT_RESULT[outcome], note=note)
        before = _case_worked(case, user)
        data: dict[str, Any] = {"outcome": outcome, "contact_id": contact.pk, "channel": contact.channel}
        if outcome == TaskOutcome.NOT_REACHED:
            today = timezone.localdate()
            if task.due_on <= today:
                data["due_before"] = task.due_on.isoformat()
                task.due_on = today + dt.timedelta(days=1)
                task.save(update_fields=["due_on"])
            _event(case, action=CaseEvent.Action.CONTACT_LOGGED, user=user, task=task, note=note, data=data,
                   from_status=before)
        else:
            _task_done(task, user, outcome=outcome, note=note, contact=contact)
            _event(case, action=CaseEvent.Action.TASK_OUTCOME, user=user, task=task, note=note, data=data,
                   from_status=before)
        _audit(origin, case, "callback", task=task.pk, outcome=outcome)
    return task


# --- the lobby: hand-over -------------------------------------------------------------------------


@dataclass(frozen=True)
class Handover:
    """What a hand-over did: to whom (None: nobody to hand over to, nothing written); the
    customer's open case it landed on (None: a contact-log follow-up only); the recipient's
    task it moved to today (None: none open); the lobby's tasks it completed; the contact."""

    recipient: User | None
    case: Case | None = None
    task: Task | None = None
    lobby_tasks_done: tuple[Task, ...] = ()
    contact: ContactLog | None = None


def customer_handover(*, customer: Customer, user: User, note: str = "", origin: AuditOrigin) -> Handover:
    """The lobby manager hands a walk-in over to the customer's RM (for a customer without
    one, the branch head). Logged as an in-branch contact with today as the next step. On the
    customer's open case (one the user may see: never a held-out one), the recipient's next
    open task is due today, so it is on their list now, and the lobby's own open in-branch
    steps of the case ("hand them to the RM", "attentive service on the next visit") are done
    by it. With nobody to hand over to, nothing is written. A role that does not hand over
    (``customers.permissions.user_can_hand_over``) is PermissionDenied, audited as refused."""
    if not user_can_hand_over(user):
        customer_action_refused(customer=customer, action="handover", origin=origin)
        raise PermissionDenied
    recipient = customer_handover_recipient(customer=customer)
    if recipient is None:
        return Handover(recipient=None)
    note = (note or "").strip()
    if customer.rm_id is not None:
        text = _("Hand-over from the lobby to %(rm)s: %(note)s") % {"rm": recipient, "note": note or "—"}
    else:
        text = _("Hand-over from the lobby to the branch head %(head)s (the customer has no RM): %(note)s") % {
            "head": recipient, "note": note or "—"}
    today = timezone.localdate()
    with transaction.atomic():
        contact = _log_contact(customer, user, channel=ContactChannel.BRANCH, result=ContactResult.REACHED,
                               note=text, next_step_on=today)
        case = (case_scope_for_user(user=user).select_for_update()
                .filter(customer_id=customer.pk, status__in=OPEN_STATUSES).first())
        moved: Task | None = None
        done: list[Task] = []
        if case is not None:
            moved, done = _handover_tasks(case, user=user, recipient=recipient, contact=contact, today=today)
            before = _case_worked(case, user)
            _event(case, action=CaseEvent.Action.CONTACT_LOGGED, user=user, note=text, from_status=before,
                   data={"contact_id": contact.pk, "handover_to": recipient.pk,
                         "task_moved": moved.pk if moved else None, "lobby_tasks_done": [t.pk for t in done]})
        audit_record(action=AuditAction.CHANGE, origin=origin, obj=customer,
                     detail={"action": "handover", "rm": customer.rm_id, "to": recipient.pk,
                             "case": case.pk if case else None, "task": moved.pk if moved else None})
    return Handover(recipient=recipient, case=case, task=moved, lobby_tasks_done=tuple(done), contact=contact)


def _handover_tasks(case: Case, *, user: User, recipient: User, contact: ContactLog,
                    today: dt.date) -> tuple[Task | None, list[Task]]:
    """Move the recipient's next open task of the case to today (an overdue one stays as it
    is: already on their list); complete the user's own open in-branch lobby steps (not an
    interception, which wants its outcome)."""
    tasks = list(case.tasks.select_for_update().filter(status=TaskStatus.OPEN).order_by("due_on", "order", "pk"))
    moved = next((task for task in tasks if task.owner_id == recipient.pk), None)
    if moved is not None and moved.due_on > today:
        moved.due_on = today
        moved.save(update_fields=["due_on"])
    done = [task for task in tasks
            if task.owner_role == OwnerRole.LOBBY and task.owner_id == user.pk
            and task.channel == ContactChannel.BRANCH and task is not moved
            and (task.signal_id is None or not _is_interception(task))]
    for task in done:
        _task_done(task, user, outcome=TaskOutcome.REACHED, note=contact.note, contact=contact)
    return moved, done


def _is_interception(task: Task) -> bool:
    return task.signal is not None and task.signal.kind == INTERCEPTION_KIND
