"""Customer segments from holdings and behaviour. Pure pandas/numpy: no Django.

The playbook (docs/playbooks.md) has three segments. The rules, applied in this order,
first match wins, on what is known at ``as_of`` (latest complete month, holdings
live at ``as_of``):

1. **product-oriented**: wealth-type money (wealth balance plus live fund,
   insurance and wealth holdings, ours or competitors') is at least
   ``wealth_share_min`` (30%) of AUM, or the customer holds a live competitor
   wealth/fund product: they compare yields.
2. **consumption-oriented**: has a loan with us, or card spend averaged
   ``card_spend_min`` (5,000 CNY) a month or more over the last 3 months:
   they borrow and spend.
3. **service-oriented**: everyone else (mostly deposits): what keeps them is
   how they are treated.

An RM's ``segment_override`` always wins over these rules; it is applied where
the effective segment is read, never overwritten here.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from churn.features import BankFrames
from core.months import last_complete_month, month_number

WEALTH_KINDS = ("wealth", "fund", "insurance")


def assign_segments(
    frames: BankFrames, *, as_of: date, wealth_share_min: float = 0.30, card_spend_min: float = 5_000.0
) -> pd.Series:
    """Segment of every customer in ``frames.customers`` (index: customer_id)."""
    index = pd.Index(frames.customers["customer_id"].drop_duplicates().to_numpy())
    n = len(index)
    cutoff = month_number(last_complete_month(as_of))
    monthly = frames.monthly
    k = cutoff - month_number(pd.to_datetime(monthly["month"]))
    pos = index.get_indexer(monthly["customer_id"])
    recent = (k >= 0) & (k < 3) & (pos >= 0)
    latest = recent & (k == 0)

    def latest_value(column: str) -> np.ndarray:
        out = np.zeros(n)
        out[pos[latest]] = monthly[column].to_numpy(dtype=float, na_value=0.0)[latest]
        return out

    aum = latest_value("aum")
    wealth = latest_value("wealth_balance")
    loans = latest_value("loan_balance")
    spend_sum = np.bincount(pos[recent], weights=monthly["card_spend"].to_numpy(dtype=float, na_value=0.0)[recent],
                            minlength=n)
    spend_months = np.bincount(pos[recent], minlength=n)
    spend = np.divide(spend_sum, spend_months, out=np.zeros(n), where=spend_months > 0)

    holdings = frames.holdings
    wealth_held: np.ndarray = np.zeros(n)
    competitor_wealth = np.zeros(n, dtype=bool)
    if len(holdings):
        products = frames.products.drop_duplicates("product_code").set_index("product_code")
        h_pos = index.get_indexer(holdings["customer_id"])
        as_of_ts = pd.Timestamp(as_of)
        start = pd.to_datetime(holdings["start_on"])
        maturity = pd.to_datetime(holdings["maturity_on"])
        live = ((h_pos >= 0) & (start <= as_of_ts) & (maturity.isna() | (maturity > as_of_ts))).to_numpy()
        kind = holdings["product_code"].map(products["kind"]).isin(WEALTH_KINDS).to_numpy()
        ours = holdings["product_code"].map(products["is_ours"]).fillna(False).astype(bool).to_numpy()
        amount = holdings["amount"].to_numpy(dtype=float, na_value=0.0)
        # Our wealth products are already in wealth_balance; count only competitors' and non-wealth-balance kinds.
        extra = live & kind & (~ours | (holdings["product_code"].map(products["kind"]) != "wealth").to_numpy())
        wealth_held = np.bincount(h_pos[extra], weights=amount[extra], minlength=n)
        competitor_wealth[h_pos[live & kind & ~ours]] = True

    with np.errstate(divide="ignore", invalid="ignore"):
        wealth_share = np.where(aum > 0, (wealth + wealth_held) / aum, 0.0)
    product = (wealth_share >= wealth_share_min) | competitor_wealth
    consumption = (loans > 0) | (spend >= card_spend_min)
    segment = np.where(product, "product", np.where(consumption, "consumption", "service"))
    return pd.Series(segment, index=index, name="segment")
