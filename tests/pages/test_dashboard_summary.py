"""The dashboard's summaries (``retention.summary``): a staff action that changes a figure
rewrites its rows, and leaves them exactly as a full recompute from the cases would; the
dashboard read from them says what the dashboard counted from the cases says."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from audit.services import AuditOrigin
from core.months import add_months, month_end, month_start
from customers.models import Role
from retention import branch_services, case_services, reassigning
from retention.dashboard import branch_dashboard, branch_dashboard_from_cases
from retention.models import CaseMonthSummary, OutcomeMonthSummary, RiskBandSummary, Task, TaskStatus
from retention.summary import dashboard_summary_refresh
from tests.pages.conftest import TODAY, make_user, open_case, score
from tests.retention.factories import CustomerFactory, ModelVersionFactory, SurveyFactory

pytestmark = pytest.mark.django_db

THIS_MONTH = month_start(TODAY)


def _snapshot() -> dict[str, list[tuple]]:
    skip = {"id"}
    tables = {}
    for model in (CaseMonthSummary, OutcomeMonthSummary, RiskBandSummary):
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in skip]
        tables[model.__name__] = sorted(model.objects.values_list(*names))
    return tables


def _world(bank):
    """Cases of two RMs and the head over four months: open and closed ones, worked or not,
    measured windows, held-out ones; a satisfaction case with the head's callback."""
    colleague = make_user("rm_second", bank.branch, Role.RM)
    model = ModelVersionFactory()
    cases = {}
    for i in range(12):
        rm = (bank.owner, colleague, None)[i % 3]
        customer = CustomerFactory(customer_id=f"S{i:04d}", branch=bank.branch, rm=rm)
        score(customer, model=model)
        opened = add_months(THIS_MONTH, -(i % 4)) + dt.timedelta(days=i)
        past = opened < add_months(THIS_MONTH, -1)
        fields = {"opened_on": opened, "is_control": i == 9, "window_ends_on": month_end(add_months(opened, 1))}
        if past:
            fields.update(status="closed_lost", outcome="retained" if i % 2 else "lost",
                          aum_at_window_start=Decimal("100000"), aum_kept=Decimal("60000"),
                          worked_at=dt.datetime(opened.year, opened.month, opened.day, 10, tzinfo=dt.UTC))
        if rm is None:
            fields["owner"] = bank.head
        cases[i] = open_case(customer, tasks=not fields["is_control"], **fields)
    SurveyFactory(customer=bank.customer, surveyed_on=TODAY.replace(day=1), score=9)
    SurveyFactory(customer=bank.customer, surveyed_on=TODAY, score=2)
    cases["callback"] = open_case(bank.customer, signals=("satisfaction_drop",), event_on=TODAY)
    dashboard_summary_refresh(today=TODAY)
    return cases


def _origin(user) -> AuditOrigin:
    return AuditOrigin(actor=user, ip_address="127.0.0.1", path="/callbacks/", via="page")


def _open_task(case, role: str = "rm") -> Task:
    return case.tasks.filter(status=TaskStatus.OPEN, owner_role=role).order_by("due_on", "order", "pk").first()


def _close(bank, cases):
    case_services.case_close(case=cases[0], user=bank.owner, outcome="retained", reason="Kept the deposit")


def _dismiss(bank, cases):
    case_services.case_dismiss(case=cases[4], user=bank.head, reason="Moved abroad")


def _task_done(bank, cases):
    # An open case opened last month, not yet worked, of the second RM.
    case_services.task_done(task=_open_task(cases[1]), user=cases[1].owner)


def _task_undo(bank, cases):
    task = _open_task(cases[1])
    case_services.task_done(task=task, user=cases[1].owner)
    dashboard_summary_refresh(today=TODAY)
    case_services.task_undo(task=Task.objects.get(pk=task.pk), user=cases[1].owner)


def _contact(bank, cases):
    case_services.contact_log(case=cases[0], user=bank.owner, channel="call", result="reached")


def _callback(bank, cases):
    task = _open_task(cases["callback"], role="head")
    branch_services.callback_record(task=task, user=bank.head, outcome="reached", note="Unhappy with the wait",
                                    origin=_origin(bank.head))


def _reassign(bank, cases):
    # Two open cases of the second RM to the owner RM in one action.
    reassigning.cases_reassign(user=bank.head, case_ids=[cases[1].pk, cases[4].pk], to=bank.owner)


ACTIONS = {"reassign": _reassign, "close": _close, "dismiss": _dismiss, "task done": _task_done,
           "task undone": _task_undo,
           "contact logged": _contact, "callback recorded": _callback}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_staff_action_leaves_the_summaries_as_a_full_recompute_would(bank, action):
    cases = _world(bank)
    before = _snapshot()
    ACTIONS[action](bank, cases)
    after_action = _snapshot()
    dashboard_summary_refresh(today=TODAY)
    assert after_action == _snapshot()
    if action != "task undone":
        # Each of these changes a figure (open cases, or worked): the rows did move.
        assert after_action != before


def test_closing_a_case_takes_it_off_this_months_open_cases_and_nothing_else(bank):
    cases = _world(bank)
    row = CaseMonthSummary.objects.get(branch=bank.branch, owner=bank.owner, month=THIS_MONTH)
    _close(bank, cases)
    again = CaseMonthSummary.objects.get(branch=bank.branch, owner=bank.owner, month=THIS_MONTH)
    assert again.open_cases == row.open_cases - 1
    assert (again.opened, again.shown, again.worked) == (row.opened, row.shown, row.worked)


@pytest.mark.parametrize("month", [add_months(THIS_MONTH, -k) for k in range(4)])
@pytest.mark.parametrize("who", ["head", "admin"])
def test_the_dashboard_from_the_summaries_says_what_the_cases_say(bank, month, who):
    cases = _world(bank)
    _close(bank, cases)
    _task_done(bank, cases)
    user = bank.head if who == "head" else make_user("admin_x", None, Role.ADMIN)
    summed = branch_dashboard(user=user, month=month, today=TODAY)
    counted = branch_dashboard_from_cases(user=user, month=month, today=TODAY)
    assert dataclasses.asdict(summed.totals) == dataclasses.asdict(counted.totals)
    assert [dataclasses.asdict(r) for r in summed.per_owner] == [dataclasses.asdict(r) for r in counted.per_owner]
    assert [dataclasses.asdict(p.totals) for p in summed.trend] == [dataclasses.asdict(p.totals) for p in counted.trend]
    assert summed.risk == counted.risk
    assert [(r.key, r.shown.n, r.held_out.n, r.worked.n) for r in summed.report_by_playbook] == [
        (r.key, r.shown.n, r.held_out.n, r.worked.n) for r in counted.report_by_playbook]


def test_an_rm_has_no_summary_rows_and_is_counted_from_the_cases(bank):
    _world(bank)
    board = branch_dashboard(user=bank.owner, month=THIS_MONTH, today=TODAY)
    counted = branch_dashboard_from_cases(user=bank.owner, month=THIS_MONTH, today=TODAY)
    assert dataclasses.asdict(board.totals) == dataclasses.asdict(counted.totals)
