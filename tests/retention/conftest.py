from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine

from customers.models import Branch, Customer, Role, User
from tests.retention.factories import BranchFactory, CustomerFactory, UserFactory

RUN_DATE = dt.date(2024, 5, 15)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Bank:
    branch: Branch
    other_branch: Branch
    owner: User  # the customer's RM
    colleague: User  # another RM of the same branch
    outsider: User  # an RM of another branch
    lobby: User
    head: User
    customer: Customer


@pytest.fixture
def bank(db) -> Bank:
    branch = BranchFactory(code="SH01")
    other = BranchFactory(code="BJ01")
    owner = UserFactory(username="rm_owner", branch=branch, role=Role.RM)
    return Bank(
        branch=branch,
        other_branch=other,
        owner=owner,
        colleague=UserFactory(username="rm_colleague", branch=branch, role=Role.RM),
        outsider=UserFactory(username="rm_outsider", branch=other, role=Role.RM),
        lobby=UserFactory(username="lobby", branch=branch, role=Role.LOBBY),
        head=UserFactory(username="head", branch=branch, role=Role.HEAD),
        customer=CustomerFactory(customer_id="OWNED-1", branch=branch, rm=owner),
    )


@pytest.fixture
def frozen_day():
    """Freeze the clock at 09:00 Shanghai time on RUN_DATE."""
    with time_machine.travel(dt.datetime.combine(RUN_DATE, dt.time(9), tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _english():
    """These tests assert the English messages the code produces (close reasons,
    report verdicts); the default language is zh-hans, so pin English."""
    from django.utils import translation

    with translation.override("en"):
        yield
