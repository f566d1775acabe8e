"""Factories for the retention tests.

tests/customers/factories.py (the import engineer's) did not exist when these
were written, so the customers models needed here have factories of their own;
ModelVersion / ChurnScore factories live here by agreement.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from churn.models import ChurnScore, ModelVersion
from customers.models import (
    Appointment,
    Branch,
    ContactLog,
    Customer,
    Holding,
    MonthlyBalance,
    Product,
    ProductYield,
    Role,
    Survey,
    User,
)


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"B{n:03d}")
    name = factory.Sequence(lambda n: f"Branch {n}")
    city = "Shanghai"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"staff{n}")
    staff_code = factory.Sequence(lambda n: f"S{n:04d}")
    display_name = factory.Sequence(lambda n: f"Staff {n}")
    branch = factory.SubFactory(BranchFactory)
    role = Role.RM


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    customer_id = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    gender = "F"
    birth_date = dt.date(1980, 1, 1)
    id_number = factory.Sequence(lambda n: f"31010119800101{n:04d}")
    phone = factory.Sequence(lambda n: f"1380000{n:04d}")
    branch = factory.SubFactory(BranchFactory)
    rm = factory.SubFactory(UserFactory, branch=factory.SelfAttribute("..branch"))
    opened_on = dt.date(2015, 1, 1)
    segment = "product"
    tier = "gold"
    latest_aum = Decimal("100000.00")


class MonthlyBalanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonthlyBalance

    customer = factory.SubFactory(CustomerFactory)
    month = dt.date(2024, 4, 1)
    aum = Decimal("100000.00")
    deposit_balance = factory.SelfAttribute("aum")
    wealth_balance = Decimal("0")
    loan_balance = Decimal("0")
    card_spend = Decimal("0")
    txn_count = 10
    digital_logins = 5
    products_held = 2
    status = "active"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    product_code = factory.Sequence(lambda n: f"P{n:04d}")
    provider = "Demo Bank"
    is_ours = True
    name = factory.Sequence(lambda n: f"Product {n}")
    kind = "wealth"
    yield_pct = Decimal("3.000")
    term_days = 180


class ProductYieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductYield

    product = factory.SubFactory(ProductFactory)
    month = dt.date(2024, 4, 1)
    yield_pct = Decimal("3.000")


class HoldingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holding

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    amount = Decimal("200000.00")
    start_on = dt.date(2024, 1, 1)
    maturity_on = dt.date(2024, 6, 1)


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    customer = factory.SubFactory(CustomerFactory)
    surveyed_on = dt.date(2024, 5, 1)
    score = 9
    channel = "phone"


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    customer = factory.SubFactory(CustomerFactory)
    kind = "cash_withdrawal"
    amount = Decimal("500000.00")
    scheduled_on = dt.date(2024, 5, 15)


class ContactLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactLog

    customer = factory.SubFactory(CustomerFactory)
    staff = factory.SelfAttribute("customer.rm")
    contacted_at = factory.LazyFunction(lambda: dt.datetime(2024, 5, 10, 10, tzinfo=dt.UTC))
    channel = "call"
    result = "complaint"
    note = "Waited an hour"


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    algorithm = "logistic_regression"
    evaluation_month = dt.date(2024, 3, 31)
    artifact_path = "var/models/test.joblib"
    artifact_sha256 = "0" * 64
    format_version = 1


class ChurnScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChurnScore

    customer = factory.SubFactory(CustomerFactory)
    scored_on = dt.date(2024, 5, 15)
    model_version = factory.SubFactory(ModelVersionFactory)
    probability = 0.7
    risk_band = "high"
    aum = Decimal("300000.00")
    expected_aum_at_risk = factory.LazyAttribute(
        lambda o: (Decimal(str(o.probability)) * o.aum).quantize(Decimal("0.01"))
    )
    reasons = factory.LazyFunction(lambda: [{"feature": "aum_change_3m", "contribution": 0.41, "value": -0.32}])


# --- retention cases ------------------------------------------------------------------------
# Playbooks come from the data migration; a case takes the product-segment one by default.


def period_start(day: dt.date, *, months: int) -> dt.date:
    from retention.control import period_start as start

    return start(day, months=months)


def _playbook(key: str):
    from retention.models import Playbook

    return Playbook.objects.get(key=key)


class CaseFactory(factory.django.DjangoModelFactory):
    """An open, shown retention case on a new customer, owned by the customer's RM.
    Add signals with SignalFactory(case=...) and tasks with TaskFactory(case=...)."""

    class Meta:
        model = "retention.Case"

    customer = factory.SubFactory(CustomerFactory)
    branch = factory.SelfAttribute("customer.branch")
    owner = factory.SelfAttribute("customer.rm")
    kind = "retention"
    status = "open"
    opened_on = dt.date(2024, 5, 15)
    last_signal_on = factory.SelfAttribute("opened_on")
    leading_kind = "model_risk"
    playbook = factory.LazyFunction(lambda: _playbook("segment_product"))
    probability = 0.7
    aum = Decimal("300000.00")
    aum_at_risk = Decimal("300000.00")
    expected_aum_at_risk = Decimal("210000.00")
    save_rate = 0.15
    contact_cost = 50.0
    priority = factory.LazyAttribute(lambda o: o.probability * float(o.aum_at_risk) * o.save_rate - o.contact_cost)
    control_period = factory.LazyAttribute(lambda o: period_start(o.opened_on, months=3))
    window_start_month = factory.LazyAttribute(lambda o: dt.date(o.opened_on.year, o.opened_on.month, 1))
    window_ends_on = factory.LazyAttribute(lambda o: o.opened_on + dt.timedelta(days=100))


class SignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "retention.Signal"

    case = factory.SubFactory(CaseFactory)
    customer = factory.SelfAttribute("case.customer")
    kind = factory.SelfAttribute("case.leading_kind")
    playbook = factory.SelfAttribute("case.playbook")
    first_seen_on = factory.SelfAttribute("case.opened_on")
    last_seen_on = factory.SelfAttribute("case.last_signal_on")
    probability = factory.SelfAttribute("case.probability")
    aum_at_risk = factory.SelfAttribute("case.aum_at_risk")
    expected_aum_at_risk = factory.SelfAttribute("case.expected_aum_at_risk")
    priority = factory.SelfAttribute("case.priority")
    reasons = factory.LazyFunction(lambda: [{"feature": "aum_change_3m", "contribution": 0.41, "value": -0.32}])


class TaskFactory(factory.django.DjangoModelFactory):
    """An RM's call, due on the case's opening day."""

    class Meta:
        model = "retention.Task"

    case = factory.SubFactory(CaseFactory)
    playbook = factory.SelfAttribute("case.playbook")
    order = factory.Sequence(lambda n: n + 1)
    owner_role = "rm"
    owner = factory.SelfAttribute("case.owner")
    channel = "call"
    due_on = factory.SelfAttribute("case.opened_on")
    text_zh = "致电客户"
    text_en = "Call the customer"
    created_on = factory.SelfAttribute("case.opened_on")


def playbooks_ensure() -> None:
    """The playbooks come from data migrations (0002, the win-back one from 0004); a transactional
    test without ``serialized_rollback`` empties every table afterwards. Put back any missing
    one from the migrations' own specs, under today's field names."""
    import importlib

    from retention.models import Playbook, PlaybookStep

    specs = [*importlib.import_module("retention.migrations.0002_playbooks").PLAYBOOKS,
             importlib.import_module("retention.migrations.0004_alerts_to_cases").WIN_BACK]
    for spec in specs:
        if Playbook.objects.filter(key=spec["key"]).exists():
            continue
        playbook = Playbook.objects.create(
            key=spec["key"], segment=spec.get("segment", ""),
            signal_kind=spec.get("signal_kind") or spec.get("alert_kind", ""),
            name_zh=spec["name_zh"], name_en=spec["name_en"], description_zh=spec.get("description_zh", ""),
            description_en=spec.get("description_en", ""))
        for order, (role, offset, channel, text_zh, text_en) in enumerate(spec["steps"], start=1):
            PlaybookStep.objects.create(playbook=playbook, order=order, owner_role=role, due_offset_days=offset,
                                        channel=channel, text_zh=text_zh, text_en=text_en)
