"""The interchange format: each file's columns, their types and natural keys.

This is a contract with the banks' export jobs (docs/interchange-format.md);
column names must stay stable. Text lengths, decimal precision and choices are
read from the models, so a CSV value that passes validation always fits its
database column.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.db import models

from core.fields import concrete_field
from customers.models import (
    Appointment,
    AppointmentKind,
    Branch,
    ContactChannel,
    ContactConsent,
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


class Kind(enum.Enum):
    TEXT = "text"
    CHOICE = "choice"
    DATE = "date"  # YYYY-MM-DD
    MONTH = "month"  # YYYY-MM, stored as the month's first day
    AMOUNT = "amount"  # non-negative decimal
    NUMBER = "number"  # decimal, may be negative
    COUNT = "count"  # non-negative integer
    EMAIL = "email"
    BOOLEAN = "boolean"  # true | false (any case), also 1 | 0


class Ref(enum.Enum):
    """What a code column points at. Validation checks it against the database
    plus the files of this import."""

    BRANCH = "branch"
    RM = "rm"
    CUSTOMER = "customer"
    PRODUCT = "product"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    max_digits: int = 0
    decimal_places: int = 0
    max_value: int | None = None  # COUNT only
    ref: Ref | None = None
    # May be left out of the file altogether (a column added to the format later, so
    # that older exports stay valid). Absent, it loads as empty; see ``kept_when_empty``.
    optional_column: bool = False


@dataclass(frozen=True)
class FileSpec:
    name: str  # file name in the import directory
    kind: str  # short name, also the staging table's suffix
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key: unique within a file and in the database
    defines: Ref | None = None  # the file that brings new codes of this kind
    # Free text may hold quoted line breaks; the fast reader must then split rows
    # more carefully, so it is only asked to where it can happen.
    multiline: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)




def text(name: str, model: type[models.Model], field_name: str, *, required: bool = True,
         ref: Ref | None = None) -> Column:
    return Column(name, Kind.TEXT, required=required, max_length=concrete_field(model, field_name).max_length, ref=ref)


def code(name: str, ref: Ref, *, required: bool = True) -> Column:
    """A reference to another file's natural key (branch_code, rm_code, ...)."""
    target = {
        Ref.BRANCH: (Branch, "code"),
        Ref.RM: (User, "staff_code"),
        Ref.CUSTOMER: (Customer, "customer_id"),
        Ref.PRODUCT: (Product, "product_code"),
    }[ref]
    return text(name, *target, required=required, ref=ref)


def choice(name: str, choices: type[models.TextChoices] | tuple[str, ...], *, required: bool = True) -> Column:
    values = tuple(choices) if isinstance(choices, tuple) else tuple(choices.values)
    return Column(name, Kind.CHOICE, required=required, choices=values)


def decimal(name: str, model: type[models.Model], field_name: str, *, kind: Kind = Kind.AMOUNT,
            required: bool = True, optional_column: bool = False) -> Column:
    model_field = concrete_field(model, field_name)
    if not isinstance(model_field, models.DecimalField):
        raise TypeError(f"{model.__name__}.{field_name} is not a DecimalField")
    return Column(name, kind, required=required, max_digits=model_field.max_digits,
                  decimal_places=model_field.decimal_places, optional_column=optional_column)


def count(name: str, *, required: bool = True, max_value: int = 2**31 - 1) -> Column:
    # 2**31 - 1: the largest value of an IntegerField on every backend.
    return Column(name, Kind.COUNT, required=required, max_value=max_value)


def date(name: str, *, required: bool = True) -> Column:
    return Column(name, Kind.DATE, required=required)


def month(name: str) -> Column:
    return Column(name, Kind.MONTH)


def boolean(name: str, *, optional_column: bool = False) -> Column:
    return Column(name, Kind.BOOLEAN, required=False, optional_column=optional_column)


BRANCHES = FileSpec(
    name="branches.csv",
    kind="branches",
    columns=(
        code("branch_code", Ref.BRANCH),
        text("name", Branch, "name"),
        text("city", Branch, "city", required=False),
    ),
    key=("branch_code",),
    defines=Ref.BRANCH,
    multiline=True,
)

PRODUCTS = FileSpec(
    name="products.csv",
    kind="products",
    columns=(
        code("product_code", Ref.PRODUCT),
        text("provider", Product, "provider"),
        text("name", Product, "name"),
        choice("kind", ProductKind),
        decimal("yield_pct", Product, "yield_pct", kind=Kind.NUMBER, required=False),
        count("term_days", required=False),
        # Says outright which products are ours; empty or absent, a product is ours when its
        # provider is BANK_NAME (fragile: a bank's export may spell its own name differently).
        boolean("is_ours", optional_column=True),
    ),
    key=("product_code",),
    defines=Ref.PRODUCT,
    multiline=True,
)

PRODUCT_YIELDS = FileSpec(
    name="product_yields.csv",
    kind="product_yields",
    columns=(
        code("product_code", Ref.PRODUCT),
        month("month"),
        decimal("yield_pct", ProductYield, "yield_pct", kind=Kind.NUMBER),
    ),
    key=("product_code", "month"),
)

STAFF = FileSpec(
    name="staff.csv",
    kind="staff",
    columns=(
        # Not Ref.RM: staff.csv brings staff of every role; it defines RMs only
        # through the rows whose role is rm (see validation.StaffDirectory).
        text("staff_code", User, "staff_code"),
        text("name", User, "display_name"),
        code("branch_code", Ref.BRANCH),
        choice("role", (Role.RM.value, Role.LOBBY.value, Role.HEAD.value, Role.ANALYST.value)),
        Column("email", Kind.EMAIL, required=False, max_length=concrete_field(User, "email").max_length),
    ),
    key=("staff_code",),
    multiline=True,
)

CUSTOMERS = FileSpec(
    name="customers.csv",
    kind="customers",
    columns=(
        code("customer_id", Ref.CUSTOMER),
        text("name", Customer, "name"),
        choice("gender", ("M", "F"), required=False),
        date("birth_date"),
        text("id_number", Customer, "id_number"),
        text("phone", Customer, "phone"),
        code("branch_code", Ref.BRANCH),
        # The format (docs/interchange-format.md) lets the last five columns be empty. An empty rm_code loads as
        # Customer.rm = NULL: the customer is not assigned to an RM (re-importing a
        # row whose rm_code became empty unassigns the customer). Branch-level staff
        # see such a customer, no RM does, and alerts meant for the RM go to the
        # branch head (retention.raising._owner_for). A non-empty rm_code must
        # still name a staff member whose role is rm. An empty opened_on loads as NULL.
        code("rm_code", Ref.RM, required=False),
        date("opened_on", required=False),
        text("region", Customer, "region", required=False),
        decimal("annual_income", Customer, "annual_income", required=False),
        count("credit_score", required=False),
    ),
    key=("customer_id",),
    defines=Ref.CUSTOMER,
    multiline=True,
)

MONTHLY = FileSpec(
    name="monthly.csv",
    kind="monthly",
    columns=(
        code("customer_id", Ref.CUSTOMER),
        month("month"),
        decimal("aum", MonthlyBalance, "aum"),
        decimal("deposit_balance", MonthlyBalance, "deposit_balance"),
        decimal("wealth_balance", MonthlyBalance, "wealth_balance"),
        decimal("loan_balance", MonthlyBalance, "loan_balance"),
        decimal("card_spend", MonthlyBalance, "card_spend"),
        count("txn_count"),
        count("digital_logins"),
        count("products_held"),
        choice("status", CustomerStatus),
        decimal("aum_month_avg", MonthlyBalance, "aum_month_avg", required=False, optional_column=True),
    ),
    key=("customer_id", "month"),
)

HOLDINGS = FileSpec(
    name="holdings.csv",
    kind="holdings",
    columns=(
        code("customer_id", Ref.CUSTOMER),
        code("product_code", Ref.PRODUCT),
        decimal("amount", Holding, "amount"),
        date("start_on"),
        date("maturity_on", required=False),
    ),
    key=("customer_id", "product_code", "start_on"),
)

SURVEYS = FileSpec(
    name="surveys.csv",
    kind="surveys",
    columns=(
        code("customer_id", Ref.CUSTOMER),
        date("surveyed_on"),
        count("score", max_value=10),
        text("channel", Survey, "channel"),
        Column("comment", Kind.TEXT, required=False),
    ),
    key=("customer_id", "surveyed_on", "channel"),
    multiline=True,
)

APPOINTMENTS = FileSpec(
    name="appointments.csv",
    kind="appointments",
    columns=(
        code("customer_id", Ref.CUSTOMER),
        choice("kind", AppointmentKind),
        decimal("amount", Appointment, "amount"),
        date("scheduled_on"),
    ),
    key=("customer_id", "kind", "scheduled_on"),
)

# The customers' wishes about channels, from the bank's consent records (optional). A row
# replaces the stored preference of its customer and channel only if it is not older than it
# (``effective_on``): a request told to staff after the export was made is kept.
CONSENTS = FileSpec(
    name="consents.csv",
    kind="consents",
    columns=(
        code("customer_id", Ref.CUSTOMER),
        choice("channel", ContactChannel),
        Column("do_not_contact", Kind.BOOLEAN),
        text("reason", ContactConsent, "reason", required=False),
        date("effective_on"),
    ),
    key=("customer_id", "channel"),
    multiline=True,
)

# Import order: every file comes after the files it refers to.
FILES: tuple[FileSpec, ...] = (
    BRANCHES,
    PRODUCTS,
    PRODUCT_YIELDS,
    STAFF,
    CUSTOMERS,
    MONTHLY,
    HOLDINGS,
    SURVEYS,
    APPOINTMENTS,
    CONSENTS,
)
