"""Reads: the daily digest of one member of staff, for the page (``/digest/``) and the morning email.

What is theirs to do today, what is overdue, the new high-value cases since their last
digest and, for the branch head (and an administrator), the tasks escalated to them. The
task parts are ``retention.selectors.tasks_due_for_user``, the same filter as the case
list's "due" filter, so the digest's count is what the list shows by construction.

"High value": a case opened since the last digest (on its day, or the day before when none
was sent yet) whose expected value is at least ``RETENTION_DIGEST_HIGH_VALUE_CNY``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import F, QuerySet

from customers.models import User
from customers.permissions import user_can_reassign_cases
from retention import conf
from retention.models import WORKABLE_STATUSES, DigestSent, Task
from retention.selectors import DUE_TODAY, ESCALATED, OVERDUE, case_scope_for_user, tasks_due_for_user


@dataclass(frozen=True)
class DigestPart:
    """One part of the digest: its first rows (at most ``RETENTION_DIGEST_MAX_ROWS``) and how many there are."""

    rows: list = field(default_factory=list)
    count: int = 0

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


@dataclass(frozen=True)
class Digest:
    user: User
    day: dt.date
    since: dt.date  # new cases are those opened after this day, up to ``day``
    due_today: DigestPart
    overdue: DigestPart
    new_cases: DigestPart
    escalated: DigestPart
    shows_escalated: bool  # the head's and an administrator's digest have the escalated part
    high_value: float

    @property
    def is_empty(self) -> bool:
        return not (self.due_today.count or self.overdue.count or self.new_cases.count or self.escalated.count)

    @property
    def counts(self) -> dict[str, int]:
        return {"due_today": self.due_today.count, "overdue": self.overdue.count,
                "new_cases": self.new_cases.count, "escalated": self.escalated.count}


def _part(items: QuerySet, limit: int) -> DigestPart:
    count = items.count()
    return DigestPart(rows=list(items[:limit]) if count else [], count=count)


def _task_rows(tasks: QuerySet[Task]) -> QuerySet[Task]:
    return tasks.select_related("case__customer", "owner").order_by("due_on", F("case__priority").desc(), "pk")


def digest_since(*, user: User, day: dt.date) -> dt.date:
    """The day of the user's last digest before ``day``, else the day before ``day``."""
    last = DigestSent.objects.filter(staff=user, day__lt=day).order_by("-day").values_list("day", flat=True).first()
    return last if last is not None else day - dt.timedelta(days=1)


def digest_for_user(*, user: User, day: dt.date) -> Digest:
    """The digest of ``user`` for ``day``: at most nine queries whatever the size of the branch."""
    limit = conf.digest_max_rows()
    high_value = conf.digest_high_value()
    since = digest_since(user=user, day=day)
    shows_escalated = user_can_reassign_cases(user)
    new_cases = (
        case_scope_for_user(user=user)
        .filter(status__in=WORKABLE_STATUSES, opened_on__gt=since, opened_on__lte=day, priority__gte=high_value)
        .select_related("customer", "owner")
        .order_by(F("priority").desc(), "pk")
    )
    return Digest(
        user=user, day=day, since=since,
        due_today=_part(_task_rows(tasks_due_for_user(user=user, today=day, due=DUE_TODAY)), limit),
        overdue=_part(_task_rows(tasks_due_for_user(user=user, today=day, due=OVERDUE)), limit),
        new_cases=_part(new_cases, limit),
        escalated=(_part(_task_rows(tasks_due_for_user(user=user, today=day, due=ESCALATED)), limit)
                   if shows_escalated else DigestPart()),
        shows_escalated=shows_escalated, high_value=high_value,
    )
