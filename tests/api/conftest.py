"""A small bank for the API and security tests.

Two branches; in the first, an RM (the *owner*), a *colleague* RM, a lobby manager
and a branch head; in the second, an *outsider* RM; an analyst and an administrator.
Three customers — the owner's, the colleague's, and the outsider's in the other
branch — each with a month of balances, a holding, an appointment, a score and an
alert raised the real way (scores + ``alerts_raise_for_date``).
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
from django.utils import timezone

from api.models import ApiToken
from churn.models import ModelVersion, NightlyRun, TrainingRun
from customers.models import Branch, Customer, Role, User
from retention.models import Alert
from retention.services import alerts_raise_for_date, alerts_rank_for_date
from tests.retention.factories import (
    AppointmentFactory,
    BranchFactory,
    ChurnScoreFactory,
    CustomerFactory,
    HoldingFactory,
    ModelVersionFactory,
    MonthlyBalanceFactory,
    UserFactory,
)

TODAY = dt.date(2024, 5, 15)
SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "api-test-pass-2024"

ROLES = ["rm_owner", "rm_colleague", "rm_outsider", "lobby", "head", "analyst", "admin", "anonymous"]
OBJECTS = ["own", "colleague", "other"]


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
    alerts: dict[str, Alert]
    model_version: ModelVersion
    nightly_run: NightlyRun
    training_run: TrainingRun
    tokens: dict[str, str] = field(default_factory=dict)

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
    alerts_raise_for_date(run_date=timezone.localdate())
    alerts_rank_for_date(run_date=timezone.localdate())
    alerts = {key: Alert.objects.filter(customer=c, kind="model_risk").get() for key, c in customers.items()}
    run = NightlyRun.objects.create(run_date=TODAY, model_version=model, status=NightlyRun.Status.DONE)
    training = TrainingRun.objects.create(status=TrainingRun.Status.DONE, stage=TrainingRun.Stage.FINISHED,
                                          percent=100, model_version=model, requested_by=users["analyst"])
    return World(branch=branch, other_branch=other, users=users, customers=customers, alerts=alerts,
                 model_version=model, nightly_run=run, training_run=training)


@pytest.fixture
def world(db, frozen_day) -> World:
    return build_world()

