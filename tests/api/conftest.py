"""A small bank for the API and security tests.

Two branches; in the first, an RM (the *owner*), a *colleague* RM, a lobby manager
and a branch head; in the second, an *outsider* RM; an analyst and an administrator.
Three customers — the owner's, the colleague's, and the outsider's in the other
branch — each with a month of balances, a holding, an appointment, a score and an
open retention case: its model-risk signal, the RM's call to make and an earlier step
already done, ranked first in its owner's list. ``held_out`` adds the owner a fourth
customer whose case is held out (control group): recorded, never shown, no tasks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client

from api.models import ApiToken
from churn.models import ModelVersion, NightlyRun, TrainingRun
from customers.models import Branch, Customer, Role, User
from retention.models import Case, Task
from tests.retention.factories import (
    AppointmentFactory,
    BranchFactory,
    CaseFactory,
    ChurnScoreFactory,
    CustomerFactory,
    HoldingFactory,
    ModelVersionFactory,
    MonthlyBalanceFactory,
    SignalFactory,
    TaskFactory,
    UserFactory,
)

TODAY = dt.date(2024, 5, 15)
SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "api-test-pass-2024"

ROLES = ["rm_owner", "rm_colleague", "rm_outsider", "lobby", "head", "analyst", "admin", "anonymous"]
OBJECTS = ["own", "colleague", "other"]
# Reasons as the nightly job stores them (churn.reasons): the model's, and an event rule's.
MODEL_REASON = {"feature": "aum_change_3m", "contribution": 0.41, "value": -0.32,
                "params": {"months": 3, "down": True, "pct": 32}}
WITHDRAWAL_REASON = {"feature": "large_appointment", "contribution": 1.0, "value": 500000.0,
                     "scheduled_on": "2024-05-15", "appointment_kind": "cash_withdrawal"}


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RETENTION_CONTROL_SHARE = 0.0
    # The API's per-user throttle counts in the cache: tests/conftest.py::_fresh_cache empties it.


@pytest.fixture
def frozen_day():
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9), tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


@dataclass
class World:
    branch: Branch
    other_branch: Branch
    users: dict[str, User | None]
    customers: dict[str, Customer]
    cases: dict[str, Case]
    tasks: dict[str, Task]
    done_tasks: dict[str, Task]
    model_version: ModelVersion
    nightly_run: NightlyRun
    training_run: TrainingRun
    tokens: dict[str, str] = field(default_factory=dict)
    # Objects a test makes once and reuses across roles' rolled-back requests: name -> pk.
    made: dict[str, int] = field(default_factory=dict)

    def client(self, role: str) -> Client:
        client = Client()
        user = self.users.get(role)
        if user is not None:
            client.force_login(user)
        return client

    def token_headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        if role not in self.tokens:
            _, plaintext = ApiToken.issue(user=self.users[role], name=f"test {role}")
            self.tokens[role] = plaintext
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def _user(username: str, branch: Branch | None, role: str, **extra) -> User:
    user = UserFactory(username=username, branch=branch, role=role, **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


def build_world() -> World:
    branch = BranchFactory(code="SH01", name="Shanghai Pudong")
    other = BranchFactory(code="BJ01", name="Beijing Chaoyang")
    users: dict[str, User | None] = {
        "rm_owner": _user("rm_owner", branch, Role.RM),
        "rm_colleague": _user("rm_colleague", branch, Role.RM),
        "rm_outsider": _user("rm_outsider", other, Role.RM),
        "lobby": _user("lobby", branch, Role.LOBBY),
        "head": _user("head", branch, Role.HEAD),
        "analyst": _user("analyst", None, Role.ANALYST),
        "admin": _user("admin", None, Role.ADMIN, is_staff=True, is_superuser=True),
        "anonymous": None,
    }
    # The branch head may reveal personal data; nobody else but the administrator (superuser).
    users["head"].user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    model = ModelVersionFactory(is_active=True)
    customers = {
        "own": CustomerFactory(customer_id="C000001", name="王小明", branch=branch, rm=users["rm_owner"],
                               phone="13812345678", id_number="310101198001011234", tier="platinum",
                               latest_aum=Decimal("450000")),
        "colleague": CustomerFactory(customer_id="C000002", name="李四", branch=branch, rm=users["rm_colleague"],
                                     phone="13700001111", id_number="31010119850505222X", tier="gold"),
        "other": CustomerFactory(customer_id="C000003", name="王大力", branch=other, rm=users["rm_outsider"],
                                 phone="13912345678", id_number="110101198001015678", tier="gold"),
    }
    for customer in customers.values():
        MonthlyBalanceFactory(customer=customer, month=dt.date(2024, 4, 1))
        HoldingFactory(customer=customer)
        AppointmentFactory(customer=customer, scheduled_on=TODAY)
        ChurnScoreFactory(customer=customer, scored_on=TODAY, model_version=model, risk_band="high", probability=0.7)
    cases = {key: _case(customer) for key, customer in customers.items()}
    tasks = {key: TaskFactory(case=case, order=1, text_en="Call the customer about the AUM drop")
             for key, case in cases.items()}
    # An earlier step, already done by the owner: what an undo acts on.
    done_tasks = {key: TaskFactory(case=case, order=2, channel="message", text_en="Send the product comparison",
                                   status="done", done_by=case.owner,
                                   done_at=dt.datetime.combine(TODAY, dt.time(8), tzinfo=SHANGHAI))
                  for key, case in cases.items()}
    run = NightlyRun.objects.create(run_date=TODAY, model_version=model, status=NightlyRun.Status.DONE)
    training = TrainingRun.objects.create(status=TrainingRun.Status.DONE, stage=TrainingRun.Stage.FINISHED,
                                          percent=100, model_version=model, requested_by=users["analyst"])
    return World(branch=branch, other_branch=other, users=users, customers=customers, cases=cases, tasks=tasks,
                 done_tasks=done_tasks, model_version=model, nightly_run=run, training_run=training)


def _case(customer: Customer, **fields) -> Case:
    """An open case on ``customer`` with its model-risk signal, first in its owner's list."""
    case = CaseFactory(customer=customer, **{"rank": 1, "in_budget": True, "ranked_on": TODAY, **fields})
    SignalFactory(case=case, details={"risk_band": "high"}, reasons=[MODEL_REASON])
    return case


@pytest.fixture
def world(db, frozen_day) -> World:
    return build_world()



@pytest.fixture
def held_out(world) -> Case:
    """A case of the owner's fourth customer, drawn into the control group: a signal, no
    tasks, no rank. Nobody may see it one by one; analysts count it in aggregates."""
    customer = CustomerFactory(customer_id="C000004", name="赵控制", branch=world.branch, rm=world.users["rm_owner"],
                               phone="13600004444")
    return _case(customer, is_control=True, control_draw=0.01, rank=None, in_budget=False)
