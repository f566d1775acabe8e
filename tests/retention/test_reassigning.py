"""retention.reassigning: the branch head moves open cases, with their open RM tasks, to another RM
of the branch; the history and the audit trail keep the move; everyone else is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import Role
from retention.models import CaseEvent, TaskStatus
from retention.raising import cases_raise_for_date
from retention.reassigning import cases_reassign, reassign_targets_for_user
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CaseFactory, CustomerFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _case(bank, rm=None, branch=None, **kwargs):
    branch = branch or bank.branch
    case = CaseFactory(customer=CustomerFactory(branch=branch, rm=rm or bank.owner), **kwargs)
    TaskFactory(case=case)  # the RM's call
    return case


def _origin(user):
    return AuditOrigin(actor=user, ip_address="10.0.0.9", path="/cases/reassign/", via="page")


def test_the_head_moves_two_cases_with_their_open_rm_tasks_and_customers(bank):
    first, second = _case(bank), _case(bank)
    done = TaskFactory(case=first, status=TaskStatus.DONE, done_by=bank.owner)
    lobby_task = TaskFactory(case=second, owner_role="lobby", owner=bank.lobby, channel="branch")

    result = cases_reassign(user=bank.head, case_ids=[first.pk, second.pk], to=bank.colleague,
                            origin=_origin(bank.head))

    assert result.moved == [first.pk, second.pk] and result.tasks_moved == 2 and result.unchanged == []
    for case in (first, second):
        case.refresh_from_db()
        assert case.owner == bank.colleague and case.customer.rm == bank.colleague
        assert set(case.tasks.filter(status="open", owner_role="rm").values_list("owner", flat=True)) == {
            bank.colleague.pk}
        event = case.events.get(action=CaseEvent.Action.REASSIGNED)
        assert event.actor == bank.head
        assert event.data == {"owner_before": bank.owner.pk, "owner": bank.colleague.pk, "by": bank.head.pk,
                              "tasks_moved": 1}
    # Done work stays with who did it; the lobby's task stays the lobby's.
    done.refresh_from_db()
    lobby_task.refresh_from_db()
    assert done.owner == bank.owner and lobby_task.owner == bank.lobby
    audits = AuditEvent.objects.filter(action=AuditAction.CHANGE, detail__case_action="reassign")
    assert audits.count() == 2 and {a.actor for a in audits} == {bank.head}


def test_the_new_rm_sees_the_cases_and_the_old_one_no_longer_does(bank):
    from retention.selectors import case_list_for_user

    case = _case(bank)
    cases_reassign(user=bank.head, case_ids=[case.pk], to=bank.colleague)

    assert list(case_list_for_user(user=bank.colleague).values_list("pk", flat=True)) == [case.pk]
    assert not case_list_for_user(user=bank.owner).exists()


def test_the_move_lasts_the_night(bank, frozen_day):
    from tests.retention.factories import ChurnScoreFactory, ModelVersionFactory

    customer = bank.customer
    ChurnScoreFactory(customer=customer, scored_on=RUN_DATE, model_version=ModelVersionFactory(), probability=0.7,
                      risk_band="high", aum=300_000)
    cases_raise_for_date(run_date=RUN_DATE)
    case = customer.cases.get()
    cases_reassign(user=bank.head, case_ids=[case.pk], to=bank.colleague)

    frozen_day.shift(dt.timedelta(days=1))
    cases_raise_for_date(run_date=RUN_DATE + dt.timedelta(days=1))

    case.refresh_from_db()
    assert case.owner == bank.colleague
    assert case.events.filter(action=CaseEvent.Action.REASSIGNED).count() == 1


def test_reassigning_again_to_the_same_rm_changes_nothing(bank):
    case = _case(bank)
    cases_reassign(user=bank.head, case_ids=[case.pk], to=bank.colleague)

    again = cases_reassign(user=bank.head, case_ids=[case.pk], to=bank.colleague)

    assert again.moved == [] and again.unchanged == [case.pk]
    assert case.events.filter(action=CaseEvent.Action.REASSIGNED).count() == 1


def test_an_administrator_may_reassign_in_any_branch(bank):
    admin = UserFactory(username="admin", role=Role.ADMIN, branch=None)
    elsewhere = UserFactory(username="rm_elsewhere", role=Role.RM, branch=bank.other_branch)
    case = _case(bank, rm=bank.outsider, branch=bank.other_branch)

    assert cases_reassign(user=admin, case_ids=[case.pk], to=elsewhere).moved == [case.pk]


@pytest.mark.parametrize("who", ["owner", "colleague", "outsider", "lobby"])
def test_an_rm_or_the_lobby_cannot_reassign(bank, who):
    case = _case(bank)

    with pytest.raises(PermissionDenied):
        cases_reassign(user=getattr(bank, who), case_ids=[case.pk], to=bank.colleague)
    case.refresh_from_db()
    assert case.owner == bank.owner


def test_the_head_of_another_branch_cannot_reassign_this_branchs_case_and_is_audited(bank):
    other_head = UserFactory(username="head_bj", role=Role.HEAD, branch=bank.other_branch)
    case = _case(bank)

    with pytest.raises(PermissionDenied):
        cases_reassign(user=other_head, case_ids=[case.pk], to=bank.outsider, origin=_origin(other_head))
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=other_head,
                                     detail__reason="reassign").exists()
    case.refresh_from_db()
    assert case.owner == bank.owner


def test_one_case_out_of_scope_refuses_the_whole_action(bank):
    mine = _case(bank)
    elsewhere = _case(bank, rm=bank.outsider, branch=bank.other_branch)

    with pytest.raises(PermissionDenied):
        cases_reassign(user=bank.head, case_ids=[mine.pk, elsewhere.pk], to=bank.colleague)
    mine.refresh_from_db()
    assert mine.owner == bank.owner


def test_an_rm_of_another_branch_is_refused_as_the_target(bank):
    case = _case(bank)

    with pytest.raises(ValidationError, match="not of the branch"):
        cases_reassign(user=bank.head, case_ids=[case.pk], to=bank.outsider)
    case.refresh_from_db()
    assert case.owner == bank.owner


@pytest.mark.parametrize("target", ["lobby", "head"])
def test_someone_who_is_not_an_rm_is_refused_as_the_target(bank, target):
    case = _case(bank)

    with pytest.raises(ValidationError, match="relationship manager"):
        cases_reassign(user=bank.head, case_ids=[case.pk], to=getattr(bank, target))


def test_an_inactive_rm_is_refused_as_the_target(bank):
    bank.colleague.is_active = False
    bank.colleague.save()

    with pytest.raises(ValidationError):
        cases_reassign(user=bank.head, case_ids=[_case(bank).pk], to=bank.colleague)


def test_a_closed_case_is_not_reassigned_and_nothing_moves(bank):
    open_case, closed = _case(bank), _case(bank, status="closed_retained")

    with pytest.raises(ValidationError, match="closed"):
        cases_reassign(user=bank.head, case_ids=[open_case.pk, closed.pk], to=bank.colleague)
    open_case.refresh_from_db()
    assert open_case.owner == bank.owner


def test_no_case_chosen_is_refused(bank):
    with pytest.raises(ValidationError, match="Choose the cases"):
        cases_reassign(user=bank.head, case_ids=[], to=bank.colleague)


def test_the_heads_targets_are_the_active_rms_of_their_branch(bank):
    UserFactory(username="rm_left", role=Role.RM, branch=bank.branch, is_active=False)

    assert set(reassign_targets_for_user(user=bank.head)) == {bank.owner, bank.colleague}
    assert not reassign_targets_for_user(user=bank.owner).exists()
    assert not reassign_targets_for_user(user=bank.lobby).exists()
