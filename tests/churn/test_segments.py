from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from churn.features import BankFrames
from churn.segments import assign_segments
from churn.services import customer_segments_assign
from customers.models import Customer
from tests.churn.helpers import load_bank, small_bank


def _frames():
    customers = pd.DataFrame({"customer_id": ["W", "R", "L", "S", "D"]})
    month = pd.Timestamp("2025-06-01")
    monthly = pd.DataFrame({
        "customer_id": ["W", "R", "L", "S", "D"], "month": month,
        "aum": [100_000, 100_000, 100_000, 100_000, 100_000],
        "wealth_balance": [40_000, 0, 0, 0, 0], "loan_balance": [0, 0, 300_000, 0, 0],
        "card_spend": [0, 0, 0, 8_000, 1_000],
    })
    products = pd.DataFrame({"product_code": ["RIVAL"], "is_ours": [False], "kind": ["wealth"]})
    holdings = pd.DataFrame({"customer_id": ["R"], "product_code": ["RIVAL"], "amount": [10_000],
                             "start_on": [pd.Timestamp("2025-05-01")], "maturity_on": [pd.Timestamp("2025-09-01")]})
    return BankFrames(customers=customers, monthly=monthly, products=products, holdings=holdings)


def test_rules_product_then_consumption_then_service():
    segments = assign_segments(_frames(), as_of=date(2025, 6, 30))
    assert segments.to_dict() == {"W": "product", "R": "product", "L": "consumption", "S": "consumption",
                                  "D": "service"}


@pytest.mark.django_db
def test_service_writes_segments_and_never_touches_an_rms_override():
    pks = load_bank(small_bank(customers=60))
    overridden = Customer.objects.get(pk=next(iter(pks.values())))
    overridden.segment_override = "service"
    overridden.segment_override_reason = "told me so"
    overridden.save()
    customer_segments_assign(as_of=date(2025, 12, 31))
    assert not Customer.objects.filter(segment="").exists()
    overridden.refresh_from_db()
    assert overridden.segment_override == "service" and overridden.effective_segment == "service"
    assert overridden.segment in {"product", "consumption", "service"}
    again = customer_segments_assign(as_of=date(2025, 12, 31))
    assert sum(again.values()) == 0  # nothing left to change
