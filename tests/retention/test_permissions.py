"""Every case selector and staff action, tried by the owner RM, a colleague RM of the same
branch, an outsider RM of another branch, and the branch's lobby manager and head."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from retention import case_services
from retention.models import CaseStatus, TaskStatus
from retention.selectors import case_get_for_user, case_list_for_user, customer_cases_for_user, task_scope_for_user
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CaseFactory, SignalFactory, TaskFactory

SEES = {"owner": True, "colleague": False, "outsider": False, "lobby": True, "head": True}


@pytest.fixture
def case(bank):
    case = CaseFactory(customer=bank.customer)
    SignalFactory(case=case)
    TaskFactory(case=case, channel="call")
    return case


def user(bank, who):
    return getattr(bank, who)


@pytest.mark.parametrize("who", SEES)
def test_case_list_get_and_the_360s_cases(bank, case, who):
    someone = user(bank, who)
    assert (case in case_list_for_user(user=someone)) is SEES[who]
    assert (customer_cases_for_user(user=someone, customer_id=bank.customer.pk) == [case]) is SEES[who]
    assert (task_scope_for_user(user=someone).count() == 1) is SEES[who]
    if SEES[who]:
        assert case_get_for_user(user=someone, case_id=case.pk) == case
    else:
        with pytest.raises(Http404):
            case_get_for_user(user=someone, case_id=case.pk)


ACTIONS = {
    "case_start": lambda case, u: case_services.case_start(case=case, user=u),
    "case_snooze": lambda case, u: case_services.case_snooze(case=case, user=u, until=RUN_DATE + dt.timedelta(3)),
    "case_dismiss": lambda case, u: case_services.case_dismiss(case=case, user=u, reason="duplicate"),
    "case_close": lambda case, u: case_services.case_close(case=case, user=u, outcome="retained", reason="kept"),
    "task_done": lambda case, u: case_services.task_done(task=case.tasks.first(), user=u),
    "contact_log": lambda case, u: case_services.contact_log(case=case, user=u, channel="call", result="reached"),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", SEES)
def test_services_check_scope(bank, case, frozen_day, action, who):
    someone = user(bank, who)
    if SEES[who]:
        ACTIONS[action](case, someone)
        case.refresh_from_db()
        assert case.events.filter(actor=someone).exists()
    else:
        with pytest.raises(PermissionDenied):
            ACTIONS[action](case, someone)
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN and case.worked_at is None
        assert not case.events.exists()
        assert case.tasks.get().status == TaskStatus.OPEN


@pytest.mark.parametrize("who", SEES)
def test_undo_checks_scope(bank, case, frozen_day, who):
    task = case.tasks.get()
    case_services.task_done(task=task, user=bank.owner)
    someone = user(bank, who)
    if SEES[who]:
        assert case_services.task_undo(task=task, user=someone).status == TaskStatus.OPEN
    else:
        with pytest.raises(PermissionDenied):
            case_services.task_undo(task=task, user=someone)
        task.refresh_from_db()
        assert task.status == TaskStatus.DONE


@pytest.mark.parametrize("action", ACTIONS)
def test_held_out_cases_are_invisible_and_untouchable_even_to_their_owner(bank, case, frozen_day, action):
    case.is_control = True
    case.save()
    with pytest.raises(Http404):
        case_get_for_user(user=bank.owner, case_id=case.pk)
    assert list(case_list_for_user(user=bank.head)) == []
    with pytest.raises(PermissionDenied):
        ACTIONS[action](case, bank.owner)
    assert not case.events.exists()
