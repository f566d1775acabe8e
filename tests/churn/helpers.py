"""Put a synthetic bank (``demo.synthetic``) into the database, and train a small model on it.

No factories exist yet in tests/customers; these bulk loaders are all the churn
tests need.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from churn.features import BankFrames
from customers.models import (
    Appointment,
    Branch,
    Customer,
    Holding,
    MonthlyBalance,
    Product,
    Role,
    Survey,
    User,
)
from demo.synthetic import generate_bank


def _money(value) -> Decimal:
    return Decimal(f"{float(value):.2f}")


def load_bank(frames: BankFrames) -> dict[str, int]:
    """Insert the frames; returns customer_id (string) -> pk."""
    branch, _ = Branch.objects.get_or_create(code="B001", defaults={"name": "Main street", "city": "Hangzhou"})
    rm, _ = User.objects.get_or_create(username="rm1", defaults={"staff_code": "RM1", "role": Role.RM,
                                                                 "branch": branch})
    Customer.objects.bulk_create([
        Customer(customer_id=row.customer_id, name=f"Customer {row.customer_id}", gender=row.gender,
                 birth_date=row.birth_date.date(), id_number="330100199001011234", phone="13800001234",
                 phone_tail="1234", id_tail="1234", branch=branch, rm=rm, opened_on=row.opened_on.date(),
                 region=row.region, annual_income=_money(row.annual_income), credit_score=int(row.credit_score),
                 segment="")
        for row in frames.customers.itertuples()
    ], batch_size=1000)
    pks = dict(Customer.objects.values_list("customer_id", "pk"))
    Product.objects.bulk_create([
        Product(product_code=row.product_code, provider=row.provider, is_ours=bool(row.is_ours),
                name=row.product_code, kind=row.kind,
                yield_pct=None if pd.isna(row.yield_pct) else Decimal(str(row.yield_pct)),
                term_days=None if pd.isna(row.term_days) else int(row.term_days))
        for row in frames.products.itertuples()
    ], ignore_conflicts=True)
    products = dict(Product.objects.values_list("product_code", "pk"))
    MonthlyBalance.objects.bulk_create([
        MonthlyBalance(customer_id=pks[row.customer_id], month=row.month.date(), aum=_money(row.aum),
                       deposit_balance=_money(row.deposit_balance), wealth_balance=_money(row.wealth_balance),
                       loan_balance=_money(row.loan_balance), card_spend=_money(row.card_spend),
                       txn_count=int(row.txn_count), digital_logins=int(row.digital_logins),
                       products_held=int(row.products_held), status=row.status)
        for row in frames.monthly.itertuples()
    ], batch_size=2000)
    Holding.objects.bulk_create([
        Holding(customer_id=pks[row.customer_id], product_id=products[row.product_code], amount=_money(row.amount),
                start_on=row.start_on.date(), maturity_on=None if pd.isna(row.maturity_on) else row.maturity_on.date())
        for row in frames.holdings.itertuples()
    ], batch_size=2000, ignore_conflicts=True)
    Survey.objects.bulk_create([
        Survey(customer_id=pks[row.customer_id], surveyed_on=row.surveyed_on.date(), score=int(row.score),
               channel="branch")
        for row in frames.surveys.itertuples()
    ], batch_size=2000, ignore_conflicts=True)
    Appointment.objects.bulk_create([
        Appointment(customer_id=pks[row.customer_id], kind=row.kind, amount=_money(row.amount),
                    scheduled_on=row.scheduled_on.date())
        for row in frames.appointments.itertuples()
    ], batch_size=2000, ignore_conflicts=True)
    # The latest month's status, as the import would leave it.
    latest = frames.monthly.sort_values("month").drop_duplicates("customer_id", keep="last")
    closed = latest.loc[latest["status"] == "closed", "customer_id"].map(pks).tolist()
    Customer.objects.filter(pk__in=closed).update(status="closed")
    return pks


def small_bank(customers: int = 400, seed: int = 1) -> BankFrames:
    return generate_bank(customers=customers, months=24, end_month=date(2025, 12, 1), seed=seed)
