from __future__ import annotations

import datetime as dt
from decimal import Decimal

from retention.selectors import product_comparison_table
from tests.retention.factories import ProductFactory, ProductYieldFactory


def test_product_comparison_puts_ours_beside_competitors_with_yield_history(db):
    ours = ProductFactory(product_code="OUR-1", kind="wealth", yield_pct=Decimal("3.2"), term_days=90)
    theirs = ProductFactory(product_code="CMB-1", provider="CMB", is_ours=False, kind="wealth",
                            yield_pct=Decimal("3.5"))
    ProductFactory(product_code="OUR-LOAN", kind="loan", yield_pct=Decimal("4.1"))
    for month, pct in ((dt.date(2024, 3, 1), "3.4"), (dt.date(2024, 4, 1), "3.5")):
        ProductYieldFactory(product=theirs, month=month, yield_pct=Decimal(pct))
    ProductYieldFactory(product=ours, month=dt.date(2024, 4, 1), yield_pct=Decimal("3.2"))

    table = product_comparison_table(kind="wealth", since=dt.date(2024, 4, 1))

    assert [p["product_code"] for p in table["ours"]] == ["OUR-1"]
    assert table["ours"][0]["term_days"] == 90
    [competitor] = table["competitors"]
    assert competitor["provider"] == "CMB"
    assert competitor["history"] == [(dt.date(2024, 4, 1), Decimal("3.500"))]
