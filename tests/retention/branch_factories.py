"""Cases as the nightly job leaves them for the branch's own work: a booked large withdrawal
with the lobby's interception task, a core customer's satisfaction drop with the head's
callback, a win-back case. Built with the case factories (tests/retention/factories.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from retention.models import Case, Playbook, Signal, Task
from tests.retention.factories import CaseFactory, SignalFactory, TaskFactory


def _playbook(key: str) -> Playbook:
    return Playbook.objects.get(key=key)


def _step(playbook: Playbook, role: str):
    return playbook.steps.filter(owner_role=role).order_by("order").first()


def interception_case(customer, *, lobby, on: dt.date, amount: str = "500000.00", kind: str = "cash_withdrawal",
                      **case_fields) -> tuple[Case, Signal, Task]:
    """A large withdrawal (or transfer) booked for ``on``: the case, its signal and the lobby's task."""
    playbook = _playbook("large_withdrawal")
    case = CaseFactory(customer=customer, leading_kind="large_withdrawal", playbook=playbook,
                       aum_at_risk=Decimal(amount), opened_on=on - dt.timedelta(days=1), urgent=True, **case_fields)
    signal = SignalFactory(
        case=case, event_on=on, aum_at_risk=Decimal(amount),
        reasons=[{"feature": "large_appointment", "value": amount, "appointment_kind": kind,
                  "scheduled_on": on.isoformat()}],
        details={"appointment_kind": kind, "amount": amount, "scheduled_on": on.isoformat()},
    )
    step = _step(playbook, "lobby")
    task = TaskFactory(case=case, signal=signal, playbook_step=step, order=step.order, owner_role="lobby",
                       owner=lobby, channel="branch", due_on=on, text_zh=step.text_zh, text_en=step.text_en)
    return case, signal, task


def callback_case(customer, *, head, due_on: dt.date, kind: str = "satisfaction_drop",
                  **case_fields) -> tuple[Case, Signal, Task]:
    """A core customer whose satisfaction fell (or who complained): the case, its signal and the
    head's callback task."""
    playbook = _playbook("satisfaction_core" if kind == "satisfaction_drop" else "service_failure_core")
    case = CaseFactory(customer=customer, leading_kind=kind, playbook=playbook,
                       opened_on=due_on - dt.timedelta(days=2), **case_fields)
    reasons = ([{"feature": "satisfaction_score", "value": 3, "previous": 9, "surveyed_on": case.opened_on.isoformat()}]
               if kind == "satisfaction_drop" else
               [{"feature": "complaint_logged", "value": case.opened_on.isoformat(), "note": "waited"}])
    signal = SignalFactory(case=case, event_on=case.opened_on, reasons=reasons)
    step = _step(playbook, "head")
    task = TaskFactory(case=case, signal=signal, playbook_step=step, order=step.order, owner_role="head",
                       owner=head, channel=step.channel, due_on=due_on, text_zh=step.text_zh, text_en=step.text_en)
    return case, signal, task


def win_back_case(customer, *, lost_month: dt.date, aum_lost: str, **case_fields) -> tuple[Case, Signal]:
    """A customer who has already left by the churn definition."""
    case = CaseFactory(customer=customer, kind="win_back", leading_kind="already_lost",
                       playbook=_playbook("win_back"), lost_month=lost_month, aum_lost=Decimal(aum_lost),
                       **case_fields)
    return case, SignalFactory(case=case, event_on=lost_month, reasons=[])
