"""factory-boy factories for every model of ``customers``.

Defaults make a consistent little world: a customer's RM works at the
customer's branch, a contact is logged by the customer's RM, a product's
``is_ours`` follows its provider. Staff get an unusable password (hashing a
real one costs a second per user); use ``UserFactory(can_log_in=True)`` for a
user who logs in with the password "password", or ``client.force_login``.

    rm = UserFactory()                       # an RM with a branch
    head = UserFactory(head=True, branch=rm.branch)
    customer = CustomerFactory(rm=rm, branch=rm.branch)
    MonthlyBalanceFactory(customer=customer, month=date(2024, 3, 1), aum=Decimal("600000"))
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from factory.django import DjangoModelFactory

from customers.models import (
    Appointment,
    AppointmentKind,
    Branch,
    ContactChannel,
    ContactLog,
    ContactResult,
    Customer,
    CustomerStatus,
    Holding,
    MonthlyBalance,
    Product,
    ProductKind,
    ProductYield,
    Role,
    Survey,
    User,
)


class BranchFactory(DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BR{n:03d}")
    name = factory.LazyAttribute(lambda branch: f"Branch {branch.code}")
    city = "Hangzhou"


class UserFactory(DjangoModelFactory):
    """A member of staff; an RM unless a role trait says otherwise."""

    class Meta:
        model = User
        django_get_or_create = ("username",)

    class Params:
        lobby = factory.Trait(role=Role.LOBBY)
        head = factory.Trait(role=Role.HEAD)
        analyst = factory.Trait(role=Role.ANALYST)
        admin = factory.Trait(role=Role.ADMIN, is_staff=True, is_superuser=True)
        can_log_in = factory.Trait(password=factory.django.Password("password"))

    staff_code = factory.Sequence(lambda n: f"S{n:05d}")
    username = factory.LazyAttribute(lambda user: user.staff_code)
    display_name = factory.LazyAttribute(lambda user: f"Staff {user.staff_code}")
    email = factory.LazyAttribute(lambda user: f"{user.staff_code.lower()}@bank.example.com")
    branch = factory.SubFactory(BranchFactory)
    role = Role.RM
    password = factory.LazyFunction(lambda: make_password(None))


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("customer_id",)

    customer_id = factory.Sequence(lambda n: f"C{n:09d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    gender = "F"
    birth_date = dt.date(1980, 5, 17)
    id_number = factory.Sequence(lambda n: f"33010619800517{n:04d}")
    phone = factory.Sequence(lambda n: f"1390000{n:04d}")
    branch = factory.SubFactory(BranchFactory)
    rm = factory.SubFactory(UserFactory, branch=factory.SelfAttribute("..branch"))
    opened_on = dt.date(2015, 3, 1)
    region = "Hangzhou"
    status = CustomerStatus.ACTIVE


class MonthlyBalanceFactory(DjangoModelFactory):
    class Meta:
        model = MonthlyBalance
        django_get_or_create = ("customer", "month")

    customer = factory.SubFactory(CustomerFactory)
    month = dt.date(2024, 3, 1)
    aum = Decimal("120000.00")
    deposit_balance = Decimal("80000.00")
    wealth_balance = Decimal("40000.00")
    loan_balance = Decimal("0.00")
    card_spend = Decimal("3500.00")
    txn_count = 25
    digital_logins = 12
    products_held = 3
    status = CustomerStatus.ACTIVE


class ProductFactory(DjangoModelFactory):
    """One of our products; ``ProductFactory(competitor=True)`` for a rival's."""

    class Meta:
        model = Product
        django_get_or_create = ("product_code",)

    class Params:
        competitor = factory.Trait(provider="Rival Bank", kind=ProductKind.WEALTH, yield_pct=Decimal("3.200"))

    product_code = factory.Sequence(lambda n: f"P{n:04d}")
    provider = factory.LazyFunction(lambda: settings.BANK_NAME)
    is_ours = factory.LazyAttribute(lambda product: product.provider == settings.BANK_NAME)
    name = factory.LazyAttribute(lambda product: f"Product {product.product_code}")
    kind = ProductKind.DEPOSIT
    yield_pct = Decimal("1.750")
    term_days = 180


class ProductYieldFactory(DjangoModelFactory):
    class Meta:
        model = ProductYield
        django_get_or_create = ("product", "month")

    product = factory.SubFactory(ProductFactory, competitor=True)
    month = dt.date(2024, 3, 1)
    yield_pct = Decimal("3.150")


class HoldingFactory(DjangoModelFactory):
    class Meta:
        model = Holding

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    amount = Decimal("50000.00")
    start_on = dt.date(2024, 1, 15)
    maturity_on = factory.LazyAttribute(
        lambda holding: holding.start_on + dt.timedelta(days=holding.product.term_days)
        if holding.product.term_days else None
    )


class SurveyFactory(DjangoModelFactory):
    class Meta:
        model = Survey

    customer = factory.SubFactory(CustomerFactory)
    surveyed_on = dt.date(2024, 3, 10)
    score = 9
    channel = "branch"
    comment = ""


class AppointmentFactory(DjangoModelFactory):
    class Meta:
        model = Appointment

    customer = factory.SubFactory(CustomerFactory)
    kind = AppointmentKind.CASH_WITHDRAWAL
    amount = Decimal("200000.00")
    scheduled_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=2))


class ContactLogFactory(DjangoModelFactory):
    class Meta:
        model = ContactLog

    customer = factory.SubFactory(CustomerFactory)
    staff = factory.SelfAttribute("customer.rm")
    contacted_at = factory.LazyFunction(timezone.now)
    channel = ContactChannel.CALL
    result = ContactResult.REACHED
    note = ""
    next_step_on = None
