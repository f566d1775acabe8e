"""Fixtures for the page tests: one small bank with an owner RM, a colleague in
the same branch, an outsider in another branch, the lobby manager and the branch
head, and retention cases built as the nightly job leaves them (``open_case``: a
case, its signals, and its playbook's steps as tasks for the RM, the lobby manager
and the head), from the factories of tests/retention/factories.py."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from customers.models import Branch, Customer, Role, User
from retention.models import Case, Playbook, Signal
from tests.retention.factories import (
    BranchFactory,
    CaseFactory,
    ChurnScoreFactory,
    CustomerFactory,
    ModelVersionFactory,
    MonthlyBalanceFactory,
    SignalFactory,
    TaskFactory,
    UserFactory,
)

TODAY = dt.date(2024, 5, 15)
SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "pages-test-pass-2024"


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # The manifest storage needs `collectstatic`; page tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session", autouse=True)
def plain_http_and_fast_passwords():
    """The test client and the live server speak plain HTTP, while production redirects to
    HTTPS and sends cookies only over it (config/security.py). Session-wide, because the
    live server builds its middleware once, when it starts."""
    with override_settings(
        SECURE_SSL_REDIRECT=False,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
        LANGUAGE_COOKIE_SECURE=False,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ):
        yield


@pytest.fixture(autouse=True)
def no_control_group(settings):
    # Every alert visible, so counts in the tests are exact.
    settings.RETENTION_CONTROL_SHARE = 0.0


@pytest.fixture
def frozen_day():
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9), tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


@dataclass
class Bank:
    branch: Branch
    other_branch: Branch
    owner: User
    colleague: User
    outsider: User
    lobby: User
    head: User
    other_lobby: User
    other_head: User
    analyst: User
    customer: Customer
    outsider_customer: Customer


def make_user(username: str, branch: Branch | None, role: str) -> User:
    user = UserFactory(username=username, branch=branch, role=role)
    user.set_password(PASSWORD)
    user.save()
    return user


def add_history(customer: Customer, months: int = 24) -> None:
    month = TODAY.replace(day=1)
    for i in range(months, 0, -1):
        index = month.year * 12 + month.month - 1 - i
        aum = Decimal(300_000 + 5_000 * (months - i))
        MonthlyBalanceFactory(
            customer=customer, month=dt.date(index // 12, index % 12 + 1, 1), aum=aum,
            deposit_balance=aum * Decimal("0.6"), wealth_balance=aum * Decimal("0.4"), loan_balance=Decimal(50_000),
        )


def score(customer: Customer, *, band: str = "high", probability: float = 0.7, model=None, reasons=None):
    return ChurnScoreFactory(
        customer=customer, scored_on=TODAY, risk_band=band, probability=probability,
        model_version=model or ModelVersionFactory(), **({"reasons": reasons} if reasons is not None else {}),
    )


def _branch_holder(customer: Customer, role: str) -> User | None:
    # A customer without an RM: the branch head takes the RM's work (as the nightly job does).
    if role == Role.RM and customer.rm is not None:
        return customer.rm
    if role == Role.RM:
        role = Role.HEAD
    return User.objects.filter(branch_id=customer.branch_id, role=role, is_active=True).order_by("pk").first()


# What the scoring and the event rules store as a signal's reasons (rendered at display time).
REASONS_BY_KIND: dict[str, list[dict]] = {
    "model_risk": [
        {"feature": "aum_change_3m", "contribution": 0.8, "value": -0.32,
         "params": {"pct": 32, "down": True, "months": 3}},
        {"feature": "survey", "contribution": 0.3, "value": 4.0, "params": {"score": 4, "previous": 9, "days": 12}},
    ],
    "aum_drop": [{"feature": "aum_change_1m", "contribution": None, "value": -0.35, "previous_aum": "400000",
                  "aum": "260000"}],
    "large_withdrawal": [{"feature": "large_appointment", "contribution": None, "value": "600000",
                          "scheduled_on": "2024-05-16", "appointment_kind": "cash_withdrawal"}],
    "tier_downgrade": [{"feature": "aum_near_tier_floor", "contribution": None, "value": 0.06, "tier": "gold",
                        "floor": "50000"}],
    "competitor_maturity": [{"feature": "competitor_product_matures", "contribution": None, "value": 6,
                             "provider": "Rival Bank", "product": "Rival Wealth 90", "maturity_on": "2024-05-21"}],
    "satisfaction_drop": [{"feature": "satisfaction_score", "contribution": None, "value": 3, "previous": 9}],
}


def open_case(
    customer: Customer, *, signals: tuple[str, ...] = ("model_risk",), playbook: str | None = None,
    tasks: bool = True, event_on: dt.date | None = None, reasons: list | None = None, **fields,
) -> Case:
    """An open, shown case on ``customer`` as the nightly job leaves it: one active signal
    per kind in ``signals`` (the first leads), and the leading playbook's steps as tasks
    owned by the customer's RM, the branch's lobby manager and head. ``fields`` go to the case
    (``priority``, ``urgent``, ``kind``, ``status``, ``rank``, ...)."""
    today = timezone.localdate()
    if playbook is not None:
        leading = Playbook.objects.get(key=playbook)
    elif signals[0] == "model_risk":
        leading = Playbook.objects.get(key=f"segment_{customer.effective_segment}")
    else:  # the event's playbook (the core customers' one where there are two)
        leading = Playbook.objects.filter(signal_kind=signals[0]).order_by("key").first()
    fields.setdefault("opened_on", today)
    fields.setdefault("owner", _branch_holder(customer, Role.RM))
    case = CaseFactory(customer=customer, leading_kind=signals[0], playbook=leading, **fields)
    # A closed case's signals have cleared (one active signal per customer and kind).
    active = case.status in ("open", "in_progress", "snoozed")
    for position, kind in enumerate(signals):
        signal_playbook = leading if position == 0 else Playbook.objects.filter(signal_kind=kind).first() or leading
        details = {"risk_band": "high"} if kind == "model_risk" else {}
        SignalFactory(case=case, kind=kind, playbook=signal_playbook,
                      event_on=event_on if kind != "model_risk" else None, details=details,
                      priority=case.priority - position, is_active=active,
                      cleared_on=None if active else case.opened_on,
                      reasons=reasons if reasons is not None else REASONS_BY_KIND.get(kind, []))
    if tasks:
        for step in leading.steps.order_by("order"):
            TaskFactory(case=case, signal=Signal.objects.filter(case=case, kind=signals[0]).first(), playbook=leading,
                        playbook_step=step, order=step.order, owner_role=step.owner_role,
                        owner=_branch_holder(customer, step.owner_role), channel=step.channel,
                        due_on=today + dt.timedelta(days=step.due_offset_days), text_zh=step.text_zh,
                        text_en=step.text_en, created_on=today)
    return case


def ensure_playbooks() -> None:
    """The playbooks come from data migrations (0002, and the win-back one of 0004); a
    transactional test (the browser tests) empties every table afterwards, so put them back
    from the same data, in today's model."""
    from retention.models import PlaybookStep

    for spec in (*importlib.import_module("retention.migrations.0002_playbooks").PLAYBOOKS,
                 importlib.import_module("retention.migrations.0004_alerts_to_cases").WIN_BACK):
        if Playbook.objects.filter(key=spec["key"]).exists():
            continue
        playbook = Playbook.objects.create(
            key=spec["key"], segment=spec.get("segment", ""),
            signal_kind=spec.get("signal_kind", spec.get("alert_kind", "")), name_zh=spec["name_zh"],
            name_en=spec["name_en"], description_zh=spec.get("description_zh", ""),
            description_en=spec.get("description_en", ""),
        )
        for order, (role, offset, channel, text_zh, text_en) in enumerate(spec["steps"], start=1):
            PlaybookStep.objects.create(playbook=playbook, order=order, owner_role=role, due_offset_days=offset,
                                        channel=channel, text_zh=text_zh, text_en=text_en)


@pytest.fixture
def bank(db, frozen_day) -> Bank:
    ensure_playbooks()
    branch = BranchFactory(code="SH01", name="Shanghai Pudong")
    other = BranchFactory(code="BJ01", name="Beijing Chaoyang")
    owner = make_user("rm_owner", branch, Role.RM)
    outsider = make_user("rm_outsider", other, Role.RM)
    customer = CustomerFactory(
        customer_id="C000001", name="王小明", branch=branch, rm=owner, phone="13812345678",
        id_number="310101198001011234", tier="platinum", latest_aum=Decimal("450000"),
    )
    outsider_customer = CustomerFactory(
        customer_id="C000002", name="王大力", branch=other, rm=outsider, phone="13912345678",
        id_number="110101198001015678", tier="gold",
    )
    return Bank(
        branch=branch,
        other_branch=other,
        owner=owner,
        colleague=make_user("rm_colleague", branch, Role.RM),
        outsider=outsider,
        lobby=make_user("lobby", branch, Role.LOBBY),
        head=make_user("head", branch, Role.HEAD),
        other_lobby=make_user("lobby_bj", other, Role.LOBBY),
        other_head=make_user("head_bj", other, Role.HEAD),
        analyst=make_user("analyst", None, Role.ANALYST),
        customer=customer,
        outsider_customer=outsider_customer,
    )


@pytest.fixture
def case(bank) -> Case:
    """A model-risk case on the owner's customer with the segment playbook's tasks (and one
    on the outsider's customer, in the other branch)."""
    score(bank.customer)
    score(bank.outsider_customer)
    open_case(bank.outsider_customer)
    return open_case(bank.customer)
