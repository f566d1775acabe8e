"""Writes: what staff do on a retention case and its tasks.

Start, snooze (up to the horizon), dismiss (with a reason), close as retained or lost
(with a reason), tick a task done or undo it, log a contact (which completes the open
task it matches). Each action checks the user may act on the case (its scope is
``retention.selectors.case_scope_for_user``: never a held-out case, an RM only their
own), locks the case, writes a ``CaseEvent`` with the actor, and is audited given the
request's origin, in the action's transaction. The first task done or contact logged
by staff marks the case "worked" (``worked_at``), which the report keeps apart from
"shown".

The nightly job (``retention.raising``) writes cases too; the row lock taken here makes
a staff action and the night's update of one case wait for each other, never overwrite.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import AuditOrigin, audit_denied, audit_record
from customers.models import ContactChannel, ContactLog, ContactResult, User
from retention import conf
from retention.branch_selectors import branch_task_doable_by
from retention.contactability import channel_block_reason
from retention.models import (
    OPEN_STATUSES,
    WORKABLE_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    Outcome,
    OwnerRole,
    Task,
    TaskOutcome,
    TaskStatus,
)
from retention.selectors import case_scope_for_user
from retention.summary import dashboard_summary_refresh_for_case


def _case_lock_for_user(*, case: Case, user: User) -> Case:
    """The case, locked for update, if ``user`` may act on it; PermissionDenied otherwise."""
    if not case_scope_for_user(user=user).filter(pk=case.pk).exists():
        raise PermissionDenied(_("You cannot act on this case."))
    return Case.objects.select_for_update().select_related("customer").get(pk=case.pk)


def _require_status(case: Case, allowed: tuple[str, ...]) -> None:
    if case.status not in allowed:
        raise ValidationError(
            _("This case is %(status)s; the action is not possible.") % {"status": case.get_status_display()}
        )


def _audit(origin: AuditOrigin | None, case: Case, action: str, **detail: Any) -> None:
    """The audit event of a staff action on a case, in the action's transaction. Without an
    origin (a service calling another) the caller audits."""
    if origin is not None:
        audit_record(action=AuditAction.CHANGE, origin=origin, obj=case, customer=case.customer,
                     detail={"case_action": action, **detail})


def case_action_refused(*, case: Case, action: str, origin: AuditOrigin) -> None:
    """An action on a case in view but not the user's to take: the page and the API answer
    404, as for a case out of scope, and the attempt is audited."""
    audit_denied(origin=origin, object_type="retention.case", object_id=case.pk, reason=action)


def _event(
    case: Case, *, action: str, actor: User, task: Task | None = None, from_status: str = "",
    to_status: str = "", note: str = "", data: dict | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, task=task, actor=actor, action=action, from_status=from_status or case.status,
        to_status=to_status or case.status, note=note, data=data or {},
    )


def _set_status(
    case: Case, *, to_status: str, action: str, user: User, note: str = "", data: dict | None = None,
    fields: tuple[str, ...] = (), task: Task | None = None,
) -> CaseEvent:
    from_status = case.status
    case.status = to_status
    if to_status not in WORKABLE_STATUSES:
        # Off the list: the next ranking leaves it out, and the list never shows a stale rank.
        case.rank = None
        case.in_budget = False
    case.save(update_fields=["status", "rank", "in_budget", "updated_at", *fields])
    return _event(case, action=action, actor=user, task=task, from_status=from_status, to_status=to_status,
                  note=note, data=data)


def _mark_worked(case: Case, *, at: dt.datetime) -> list[str]:
    """The first staff work on the case: "worked" from now on. Returns the fields changed."""
    if case.worked_at is None:
        case.worked_at = at
        return ["worked_at"]
    return []


def _cancel_open_tasks(case: Case) -> int:
    """A case closed by staff has nothing left to do: its open tasks are cancelled (kept, not deleted)."""
    return Task.objects.filter(case=case, status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)


# --- the case ---------------------------------------------------------------------------


@transaction.atomic
def case_start(*, case: Case, user: User, origin: AuditOrigin | None = None) -> Case:
    """An RM takes the case up: open (or snoozed) -> in progress."""
    case = _case_lock_for_user(case=case, user=user)
    _require_status(case, (CaseStatus.OPEN, CaseStatus.SNOOZED))
    case.snoozed_until = None
    _set_status(case, to_status=CaseStatus.IN_PROGRESS, action=CaseEvent.Action.STARTED, user=user,
                fields=("snoozed_until",))
    _audit(origin, case, "start")
    return case


def snooze_horizon(*, today: dt.date) -> dt.date:
    """The latest date a case may be snoozed to: a case is put off, never forgotten."""
    return today + dt.timedelta(days=conf.snooze_max_days())


@transaction.atomic
def case_snooze(*, case: Case, user: User, until: dt.date, note: str = "",
                origin: AuditOrigin | None = None) -> Case:
    """Put the case off until ``until`` (tomorrow at the earliest, the horizon at the latest,
    ``RETENTION_SNOOZE_MAX_DAYS``); the nightly job opens it again on that day."""
    case = _case_lock_for_user(case=case, user=user)
    _require_status(case, OPEN_STATUSES)
    today = timezone.localdate()
    if until <= today:
        raise ValidationError(_("Snooze until a later date."))
    horizon = snooze_horizon(today=today)
    if until > horizon:
        raise ValidationError(_("Snooze for at most %(days)d days, until %(last)s at the latest.")
                              % {"days": conf.snooze_max_days(), "last": horizon.isoformat()})
    case.snoozed_until = until
    _set_status(case, to_status=CaseStatus.SNOOZED, action=CaseEvent.Action.SNOOZED, user=user, note=note,
                data={"until": until.isoformat()}, fields=("snoozed_until",))
    _audit(origin, case, "snooze", until=until.isoformat())
    return case


def _close(case: Case, *, user: User, to_status: str, action: str, reason: str, data: dict) -> None:
    now = timezone.now()
    case.close_reason = reason
    case.closed_at = now
    case.closed_by = user
    case.snoozed_until = None
    cancelled = _cancel_open_tasks(case)
    _set_status(case, to_status=to_status, action=action, user=user, note=reason,
                data={**data, "tasks_cancelled": cancelled},
                fields=("close_reason", "closed_at", "closed_by", "snoozed_until"))
    dashboard_summary_refresh_for_case(case=case, today=timezone.localdate())


@transaction.atomic
def case_dismiss(*, case: Case, user: User, reason: str, origin: AuditOrigin | None = None) -> Case:
    """Nothing to do about this customer (moved abroad, funds already back): closed as
    dismissed, with the reason. The nightly job does not open a case again at once."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the case is dismissed."))
    case = _case_lock_for_user(case=case, user=user)
    _require_status(case, OPEN_STATUSES)
    _close(case, user=user, to_status=CaseStatus.DISMISSED, action=CaseEvent.Action.DISMISSED, reason=reason,
           data={})
    _audit(origin, case, "dismiss", reason=reason)
    return case


@transaction.atomic
def case_close(*, case: Case, user: User, outcome: str, reason: str,
               origin: AuditOrigin | None = None) -> Case:
    """Staff close the case as retained or lost, saying why. The measured outcome at the end
    of the churn window is separate (``retention.measuring``): the report counts that one."""
    if outcome not in Outcome.values:
        raise ValidationError(_("Choose retained or lost."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the case is closed."))
    case = _case_lock_for_user(case=case, user=user)
    _require_status(case, OPEN_STATUSES)
    to_status = CaseStatus.CLOSED_RETAINED if outcome == Outcome.RETAINED else CaseStatus.CLOSED_LOST
    _close(case, user=user, to_status=to_status, action=CaseEvent.Action.CLOSED, reason=reason,
           data={"outcome": outcome})
    _audit(origin, case, "close", outcome=outcome)
    return case


# --- its tasks ----------------------------------------------------------------------------


def _task_of(case: Case, task: Task) -> Task:
    try:
        return Task.objects.select_for_update().get(pk=task.pk, case=case)
    except Task.DoesNotExist as exc:
        raise PermissionDenied(_("This task is not part of the case.")) from exc


def _complete(
    task: Task, *, user: User, now: dt.datetime, outcome: str = "", note: str = "",
    amount_kept: Decimal | None = None, contact: ContactLog | None = None,
) -> None:
    """Mark ``task`` done and move the case on (open -> in progress, worked). Writes no event."""
    task.status = TaskStatus.DONE
    task.done_at = now
    task.done_by = user
    task.outcome = outcome
    task.outcome_note = note
    task.amount_kept = amount_kept
    task.contact = contact
    task.save(update_fields=["status", "done_at", "done_by", "outcome", "outcome_note", "amount_kept", "contact"])


def _case_worked(case: Case, *, user: User, now: dt.datetime, action: str, task: Task | None, note: str = "",
                 data: dict | None = None) -> None:
    fields = _mark_worked(case, at=now)
    snoozed = case.status == CaseStatus.SNOOZED
    if case.status in (CaseStatus.OPEN, CaseStatus.SNOOZED):
        # Working a snoozed case wakes it: somebody is on it.
        case.snoozed_until = None
        _set_status(case, to_status=CaseStatus.IN_PROGRESS, action=action, user=user, task=task, note=note,
                    data={**(data or {}), "woken": snoozed}, fields=(*fields, "snoozed_until"))
    else:
        case.save(update_fields=["updated_at", *fields])
        _event(case, action=action, actor=user, task=task, note=note, data=data)
    if fields:  # first worked: the dashboard's "worked" moves
        dashboard_summary_refresh_for_case(case=case, today=timezone.localdate(now))


@transaction.atomic
def task_done(
    *, task: Task, user: User, outcome: str = "", note: str = "", amount_kept: Decimal | None = None,
    origin: AuditOrigin | None = None,
) -> Task:
    """Tick one task of an open case done, optionally with its outcome (an interception's
    funds kept / moved, a call's reason learnt) and what was learnt. Done twice is done once."""
    if outcome and outcome not in TaskOutcome.values:
        raise ValidationError(_("Unknown task outcome."))
    if amount_kept is not None and amount_kept < 0:
        raise ValidationError(_("The amount kept cannot be negative."))
    case = _case_lock_for_user(case=task.case, user=user)
    _require_status(case, OPEN_STATUSES)
    task = _task_of(case, task)
    _require_doable(task, user)
    if task.status == TaskStatus.DONE:
        return task
    if task.status != TaskStatus.OPEN:
        raise ValidationError(_("This task was cancelled; it cannot be done."))
    _require_contactable(case, channel=task.channel)
    now = timezone.now()
    _complete(task, user=user, now=now, outcome=outcome, note=note, amount_kept=amount_kept)
    _case_worked(case, user=user, now=now, action=CaseEvent.Action.TASK_DONE, task=task, note=note,
                 data={"task": task.pk, "order": task.order, "outcome": outcome})
    _audit(origin, case, "task_done", task=task.pk, outcome=outcome)
    return task


def _require_contactable(case: Case, *, channel: str) -> None:
    """A contact with the customer on ``channel`` today must not break their wishes (a
    do-not-contact flag on it, or the contact-frequency cap: ``retention.contactability``)."""
    reason = channel_block_reason(customer_id=case.customer_id, channel=channel, today=timezone.localdate())
    if reason:
        raise ValidationError(
            _("%(reason)s. A contact on this channel would break the customer's wishes: it is not possible now.")
            % {"reason": reason})


def _require_doable(task: Task, user: User) -> None:
    """The RM's tasks are done by whoever may act on the case (its RM, the head, an
    administrator); the lobby's and the head's by the rule of the branch pages
    (``retention.branch_selectors.branch_task_doable_by``): an RM never ticks the head's
    callback or the lobby's interception, on the pages or through the API."""
    if task.owner_role != OwnerRole.RM and not branch_task_doable_by(user=user, task=task):
        raise PermissionDenied(_("This task is for the %(role)s.") % {"role": task.get_owner_role_display()})


@transaction.atomic
def task_undo(*, task: Task, user: User, origin: AuditOrigin | None = None) -> Task:
    """Undo a task ticked by mistake: open again. A contact that completed it stays in the
    contact log (it happened); the case stays worked while any work on it remains."""
    case = _case_lock_for_user(case=task.case, user=user)
    _require_status(case, OPEN_STATUSES)
    task = _task_of(case, task)
    _require_doable(task, user)
    if task.status != TaskStatus.DONE:
        return task
    undone = {"task": task.pk, "order": task.order, "done_by": task.done_by_id, "contact": task.contact_id}
    task.status = TaskStatus.OPEN
    task.done_at = None
    task.done_by = None
    task.outcome = ""
    task.outcome_note = ""
    task.amount_kept = None
    task.contact = None
    task.save(update_fields=["status", "done_at", "done_by", "outcome", "outcome_note", "amount_kept", "contact"])
    still_worked = (
        Task.objects.filter(case=case, status=TaskStatus.DONE).exists()
        or case.events.filter(action=CaseEvent.Action.CONTACT_LOGGED, actor__isnull=False).exists()
    )
    fields = []
    if not still_worked and case.worked_at is not None:
        case.worked_at = None
        fields.append("worked_at")
    case.save(update_fields=["updated_at", *fields])
    if fields:  # no longer worked
        dashboard_summary_refresh_for_case(case=case, today=timezone.localdate())
    _event(case, action=CaseEvent.Action.TASK_UNDONE, actor=user, task=task, data=undone)
    _audit(origin, case, "task_undo", task=task.pk)
    return task


def matching_open_task(*, case: Case, user: User, channel: str) -> Task | None:
    """The open task a contact by ``user`` on ``channel`` completes: theirs, on that channel,
    the earliest due first."""
    return (
        Task.objects.filter(case=case, status=TaskStatus.OPEN, owner_id=user.pk, channel=channel)
        .order_by("due_on", "order", "pk")
        .first()
    )


@transaction.atomic
def contact_log(
    *, case: Case, user: User, channel: str, result: str, note: str = "", next_step_on: dt.date | None = None,
    origin: AuditOrigin | None = None,
) -> ContactLog:
    """Log one contact with the case's customer: the contact log entry, the case in progress
    and worked, and the open task of the user's on that channel (if any) done by it (undo:
    ``task_undo``). Refused on a channel the customer asked not to be contacted on, or an
    outbound channel once the contact-frequency cap is reached."""
    if channel not in ContactChannel.values:
        raise ValidationError(_("Unknown channel."))
    if result not in ContactResult.values:
        raise ValidationError(_("Unknown result."))
    case = _case_lock_for_user(case=case, user=user)
    _require_status(case, OPEN_STATUSES)
    _require_contactable(case, channel=channel)
    now = timezone.now()
    contact = ContactLog.objects.create(
        customer_id=case.customer_id, staff=user, contacted_at=now, channel=channel, result=result, note=note,
        next_step_on=next_step_on,
    )
    task = matching_open_task(case=case, user=user, channel=channel)
    if task is not None:
        task = Task.objects.select_for_update().get(pk=task.pk)
        _complete(task, user=user, now=now, note=note, contact=contact)
    _case_worked(case, user=user, now=now, action=CaseEvent.Action.CONTACT_LOGGED, task=task, note=note,
                 data={"contact": contact.pk, "channel": channel, "result": result,
                       "task": task.pk if task is not None else None})
    _audit(origin, case, "contact", channel=channel, result=result, task=task.pk if task is not None else None)
    return contact
