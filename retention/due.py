"""When a task is due: from the signal's event where there is one, else from the day
the task was created. A pure function of the step and the dates."""

from __future__ import annotations

import datetime as dt


def task_due_on(
    *, kind: str, owner_role: str, offset_days: int, created_on: dt.date, event_on: dt.date | None,
    maturity_call_days_before: int, callback_days: int,
) -> dt.date:
    """The due date of a playbook step for a signal of ``kind``.

    - a competitor's product matures: the RM's first steps are due
      ``maturity_call_days_before`` days before the maturity (never before today), the later
      steps that many days after;
    - a large withdrawal or transfer is booked: every step is due on the booking day;
    - satisfaction fell or a complaint: the head's call within ``callback_days``;
    - otherwise: ``offset_days`` after the task was created.
    """
    if kind == "competitor_maturity" and event_on is not None:
        start = max(created_on, event_on - dt.timedelta(days=maturity_call_days_before))
        return start + dt.timedelta(days=offset_days)
    if kind == "large_withdrawal" and event_on is not None:
        return max(created_on, event_on)
    if kind in ("satisfaction_drop", "service_failure") and owner_role == "head" and offset_days == 0:
        return created_on + dt.timedelta(days=callback_days)
    return created_on + dt.timedelta(days=offset_days)
