"""A small bank for the branch's pages (walk-in lookup, interceptions, callbacks), with its cases
raised the real way: appointments, surveys and balances in, then the night's
``retention.raising.cases_raise_for_date``. Plain functions, so the page tests and the browser
tests (which empty every table after each test) build the same bank."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from customers.models import Branch, Customer, Role, User
from retention.models import Case, Task
from retention.raising import cases_raise_for_date
from tests.retention.factories import (
    AppointmentFactory,
    BranchFactory,
    CustomerFactory,
    MonthlyBalanceFactory,
    SurveyFactory,
    UserFactory,
    playbooks_ensure,
)

TODAY = dt.date(2024, 5, 15)
PASSWORD = "branch-pages-pass-2024"


@dataclass
class BranchWorld:
    branch: Branch
    other_branch: Branch
    owner: User  # the customer's RM
    colleague: User  # another RM of the branch
    outsider: User  # an RM of the other branch
    lobby: User
    head: User
    other_lobby: User
    other_head: User
    customer: Customer  # 王小明, platinum (a core customer)
    outsider_customer: Customer


def _user(username: str, branch: Branch | None, role: str) -> User:
    user = UserFactory(username=username, branch=branch, role=role, display_name=username.replace("_", " ").title())
    user.set_password(PASSWORD)
    user.save()
    return user


def _history(customer: Customer, aum: Decimal) -> None:
    for month in range(1, 5):
        MonthlyBalanceFactory(customer=customer, month=dt.date(2024, month, 1), aum=aum)


def branch_world() -> BranchWorld:
    playbooks_ensure()
    branch = BranchFactory(code="SH01", name="Shanghai Pudong")
    other = BranchFactory(code="BJ01", name="Beijing Chaoyang")
    owner = _user("rm_owner", branch, Role.RM)
    outsider = _user("rm_outsider", other, Role.RM)
    customer = CustomerFactory(customer_id="C000001", name="王小明", branch=branch, rm=owner, phone="13812345678",
                               id_number="310101198001011234", tier="platinum", latest_aum=Decimal("800000"))
    outsider_customer = CustomerFactory(customer_id="C000002", name="王大力", branch=other, rm=outsider,
                                        phone="13912345678", id_number="110101198001015678", tier="platinum",
                                        latest_aum=Decimal("800000"))
    for someone in (customer, outsider_customer):
        _history(someone, Decimal("800000"))
    return BranchWorld(
        branch=branch, other_branch=other, owner=owner, colleague=_user("rm_colleague", branch, Role.RM),
        outsider=outsider, lobby=_user("lobby", branch, Role.LOBBY), head=_user("head", branch, Role.HEAD),
        other_lobby=_user("lobby_bj", other, Role.LOBBY), other_head=_user("head_bj", other, Role.HEAD),
        customer=customer, outsider_customer=outsider_customer,
    )


def book_withdrawal(customer: Customer, *, on: dt.date = TODAY, amount: str = "500000.00",
                    kind: str = "cash_withdrawal") -> None:
    AppointmentFactory(customer=customer, scheduled_on=on, amount=Decimal(amount), kind=kind)


def satisfaction_fell(customer: Customer, *, comment: str = "排队太久") -> None:
    SurveyFactory(customer=customer, surveyed_on=TODAY.replace(day=1), score=9)
    SurveyFactory(customer=customer, surveyed_on=TODAY.replace(day=10), score=3, comment=comment)


def night() -> dict:
    return cases_raise_for_date(run_date=TODAY)


def interception_task(customer: Customer) -> Task:
    return Task.objects.get(case__customer=customer, owner_role="lobby", signal__kind="large_withdrawal")


def callback_task(customer: Customer) -> Task:
    """The head's first call on a satisfaction drop (the check-back call comes later)."""
    return Task.objects.filter(case__customer=customer, owner_role="head",
                               signal__kind="satisfaction_drop").order_by("due_on").first()


def open_case(customer: Customer) -> Case:
    return Case.objects.get(customer=customer, status__in=("open", "in_progress", "snoozed"))
