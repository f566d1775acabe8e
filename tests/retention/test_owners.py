"""Who owns a case and its tasks when the natural owner is missing (``retention.raising._owner_for``):
a customer not assigned to an RM (customers.csv may leave rm_code empty), a branch
without a head or lobby manager. The nightly job must neither crash nor lose the case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Role
from retention.models import Case, CaseEvent, OwnerRole, Signal, Task
from retention.models import SignalKind as AlertKind
from retention.raising import cases_raise_for_date
from retention.selectors import case_scope_for_user
from tests.retention.factories import (
    AppointmentFactory,
    BranchFactory,
    CustomerFactory,
    MonthlyBalanceFactory,
    UserFactory,
)

pytestmark = pytest.mark.usefixtures("frozen_day")


@pytest.fixture(autouse=True)
def no_control_group(settings):
    settings.RETENTION_CONTROL_SHARE = 0.0


def sharp_drop(customer) -> None:
    """March to April: -31%, which raises an AUM-drop alert meant for the RM."""
    MonthlyBalanceFactory(customer=customer, month=dt.date(2024, 3, 1), aum=Decimal("100000"))
    MonthlyBalanceFactory(customer=customer, month=dt.date(2024, 4, 1), aum=Decimal("69000"))


def raise_today() -> dict:
    return cases_raise_for_date(run_date=timezone.localdate())


def test_an_rm_case_for_a_customer_without_an_rm_is_owned_by_the_branch_head(bank):
    unassigned = CustomerFactory(customer_id="NO-RM-1", branch=bank.branch, rm=None)
    sharp_drop(unassigned)
    sharp_drop(bank.customer)

    counts = raise_today()

    assert counts["opened"] == 2 and counts["unowned"] == 0
    alert = Case.objects.get(customer=unassigned, leading_kind=AlertKind.AUM_DROP)
    assert alert.owner == bank.head
    # The RM's tasks go to the head as well.
    assert {task.owner for task in alert.tasks.filter(owner_role=OwnerRole.RM)} == {bank.head}
    # An assigned customer's case still goes to their RM.
    assert Case.objects.get(customer=bank.customer).owner == bank.owner
    # The head has it on their list; no RM of the branch does.
    assert alert in case_scope_for_user(user=bank.head)
    assert alert not in case_scope_for_user(user=bank.owner)
    assert alert not in case_scope_for_user(user=bank.colleague)


def test_a_lobby_step_of_an_unassigned_customers_case_stays_with_the_lobby_manager(bank):
    unassigned = CustomerFactory(customer_id="NO-RM-2", branch=bank.branch, rm=None)
    AppointmentFactory(customer=unassigned, scheduled_on=timezone.localdate() + dt.timedelta(days=1))

    raise_today()

    alert = Signal.objects.get(customer=unassigned, kind=AlertKind.LARGE_WITHDRAWAL).case
    assert alert.owner == bank.head
    assert alert.tasks.filter(owner_role=OwnerRole.LOBBY, owner=bank.lobby).exists()


def test_without_a_branch_head_the_lobby_manager_owns_it(bank):
    bank.head.is_active = False
    bank.head.save()
    unassigned = CustomerFactory(customer_id="NO-RM-3", branch=bank.branch, rm=None)
    sharp_drop(unassigned)

    raise_today()

    assert Case.objects.get(customer=unassigned).owner == bank.lobby


def test_a_branch_with_nobody_to_own_it_hands_it_to_an_administrator(bank):
    empty_branch = BranchFactory(code="EMPTY1")
    administrator = UserFactory(username="admin", role=Role.ADMIN, branch=None)
    unassigned = CustomerFactory(customer_id="NO-RM-4", branch=empty_branch, rm=None)
    sharp_drop(unassigned)

    raise_today()

    alert = Case.objects.get(customer=unassigned)
    assert (alert.owner, alert.branch) == (administrator, empty_branch)
    assert alert in case_scope_for_user(user=administrator)


def test_a_case_nobody_can_own_is_counted_and_raised_once_someone_can(bank, frozen_day):
    empty_branch = BranchFactory(code="EMPTY2")
    unassigned = CustomerFactory(customer_id="NO-RM-5", branch=empty_branch, rm=None)
    sharp_drop(unassigned)
    sharp_drop(bank.customer)

    counts = raise_today()

    # The job went on: the other customer's alert is there, this one is counted, not lost silently.
    assert counts["unowned"] == 1 and counts["opened"] == 1
    assert not Case.objects.filter(customer=unassigned).exists()

    head = UserFactory(username="empty_head", branch=empty_branch, role=Role.HEAD)
    frozen_day.shift(dt.timedelta(days=1))
    counts = raise_today()

    assert counts["unowned"] == 0
    assert Case.objects.get(customer=unassigned).owner == head


def test_a_customer_who_loses_their_rm_has_the_open_case_moved_to_the_head(bank, frozen_day):
    sharp_drop(bank.customer)
    raise_today()
    alert = Case.objects.get(customer=bank.customer)
    assert alert.owner == bank.owner

    bank.customer.rm = None  # re-imported with an empty rm_code
    bank.customer.save()
    frozen_day.shift(dt.timedelta(days=1))
    raise_today()

    alert.refresh_from_db()
    assert alert.owner == bank.head
    moved = alert.events.get(action=CaseEvent.Action.REASSIGNED)
    assert moved.data == {"owner_before": bank.owner.pk, "owner": bank.head.pk}
    # Its open RM tasks moved with it.
    assert set(Task.objects.filter(case=alert, owner_role=OwnerRole.RM, status="open")
               .values_list("owner", flat=True)) == {bank.head.pk}
