"""Writes: overdue work goes up to the branch head.

A task still open ``RETENTION_ESCALATE_AFTER_DAYS`` days after it fell due, on a case of
somebody's list (open or in progress: a snoozed case was put off on purpose), is marked
escalated (``Task.escalated_on``) with a ``CaseEvent`` in the case's history. The head then
sees it in their digest and on the list's "escalated" filter
(``retention.selectors.tasks_due_for_user``); its owner still does it.

Set-based and idempotent: one conditional UPDATE per batch of candidates (``escalated_on IS
NULL``), so a rerun, or a second worker on the same morning, escalates nothing twice. The
head's own tasks are not escalated: there is nobody above the head to hand them to.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from customers.models import Role
from customers.selectors import branch_heads
from retention import conf
from retention.models import WORKABLE_STATUSES, CaseEvent, OwnerRole, Task, TaskStatus

BATCH = 2000


def tasks_to_escalate(*, today: dt.date):
    """Open tasks overdue by the setting's days on workable cases, not yet escalated, not the head's."""
    cutoff = today - dt.timedelta(days=conf.escalate_after_days())
    return (
        Task.objects.filter(status=TaskStatus.OPEN, escalated_on__isnull=True, due_on__lte=cutoff,
                            case__status__in=WORKABLE_STATUSES, case__is_control=False)
        .exclude(Q(owner_role=OwnerRole.HEAD) | Q(owner__role=Role.HEAD))
    )


def tasks_escalate(*, today: dt.date) -> int:
    """Escalate every task due for it on ``today``; returns how many were escalated now."""
    escalated = 0
    while True:
        with transaction.atomic():
            # Locked, then updated only where still not escalated: a concurrent run waits here
            # and, once this one commits, finds these rows no longer match.
            rows = list(
                tasks_to_escalate(today=today).select_for_update(of=("self",)).order_by("pk")
                .values_list("pk", "case_id", "case__status", "case__branch_id", "due_on", "owner_id")[:BATCH]
            )
            if not rows:
                return escalated
            ids = [row[0] for row in rows]
            updated = Task.objects.filter(pk__in=ids, escalated_on__isnull=True).update(escalated_on=today)
            heads = branch_heads(branch_ids={row[3] for row in rows})
            CaseEvent.objects.bulk_create([
                CaseEvent(
                    case_id=case_id, task_id=task_id, action=CaseEvent.Action.ESCALATED, from_status=status,
                    to_status=status,
                    data={"task": task_id, "due_on": due_on.isoformat(), "days_overdue": (today - due_on).days,
                          "owner": owner_id, "head": heads[branch_id].pk if branch_id in heads else None},
                )
                for task_id, case_id, status, branch_id, due_on, owner_id in rows
            ])
            escalated += updated
