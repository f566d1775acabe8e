"""The churn label, as docs/churn-definition.md defines it. Pure pandas/numpy: no Django.

Scored at month-end ``t`` (month ``m``), a customer *churns* if within the next
``window_months`` months any of these happens:

- all accounts are closed (a month with status ``closed``, or no row at all for
  a month the data covers: the bank stops exporting closed customers);
- AUM falls below ``aum_drop_ratio`` x the average AUM of the ``window_months``
  months up to ``t`` (months ``m-2..m`` for the default window of 3);
- AUM falls from the customer's tier at ``t`` to a lower tier and stays lower
  for the rest of the window (so the last month of the window is below the tier
  at ``t``; every month from the first downgrade to the end is below it).

Customers whose average AUM up to ``t`` is under ``min_avg_aum`` are not scored
(no label), nor are customers without an active row for month ``m``. Only
month-ends whose whole window is in the data get labels.
"""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np
import pandas as pd

from core.months import month_end, month_number
from customers.tiers import tier_codes


def labelled_month_ends(monthly: pd.DataFrame, *, window_months: int) -> list[date]:
    """Month-ends whose following window is fully covered by ``monthly``."""
    months = pd.DatetimeIndex(pd.to_datetime(monthly["month"]).unique()).sort_values()
    if len(months) == 0:
        return []
    last = months[-1].to_period("M")
    return [month_end(m) for m in months if m.to_period("M") + window_months <= last]


def build_labels(
    monthly: pd.DataFrame,
    *,
    month_ends: list[date],
    window_months: int,
    aum_drop_ratio: float,
    min_avg_aum: float,
    tier_floors: dict[str, float],
) -> pd.DataFrame:
    """One row per (customer, month-end) that can be labelled.

    Columns: ``customer_id``, ``as_of`` (the month-end, a ``date``), ``churned``
    (bool), ``aum_avg`` (the baseline average). Month-ends without a full window
    in ``monthly`` are dropped.
    """
    month_nums = np.asarray(month_number(pd.to_datetime(monthly["month"])))
    first, last = int(month_nums.min()), int(month_nums.max())
    span = last - first + 1
    customer_index = pd.Index(pd.unique(monthly["customer_id"]))
    pos = customer_index.get_indexer(monthly["customer_id"])
    col = month_nums - first
    n = len(customer_index)
    aum = np.full((n, span), np.nan)
    aum[pos, col] = monthly["aum"].to_numpy(dtype=float, na_value=np.nan)
    closed = np.zeros((n, span), dtype=bool)
    closed[pos, col] = monthly["status"].to_numpy() == "closed"
    present = np.zeros((n, span), dtype=bool)
    present[pos, col] = True
    # A month with no row, after the customer's first row, counts as closed.
    started = np.maximum.accumulate(present, axis=1)
    gone = closed | (started & ~present)
    tiers = tier_codes(aum, tier_floors)

    frames = []
    for as_of in month_ends:
        c = month_number(pd.Timestamp(as_of)) - first
        if c < 0 or c + window_months > span - 1:
            continue
        lo = max(0, c - window_months + 1)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            avg = np.nanmean(aum[:, lo : c + 1], axis=1)
        eligible = present[:, c] & ~closed[:, c] & (avg >= min_avg_aum)
        window = slice(c + 1, c + window_months + 1)
        w_aum = np.nan_to_num(aum[:, window], nan=0.0)
        w_gone = gone[:, window]
        closed_any = w_gone.any(axis=1)
        dropped = (np.where(w_gone, 0.0, w_aum) < aum_drop_ratio * avg[:, None]).any(axis=1)
        end_tier = np.where(w_gone[:, -1], -1.0, np.nan_to_num(tiers[:, c + window_months], nan=-1.0))
        downgraded = end_tier < tiers[:, c]
        churned = closed_any | dropped | downgraded
        idx = np.flatnonzero(eligible)
        frames.append(pd.DataFrame({
            "customer_id": customer_index[idx],
            "as_of": as_of,
            "churned": churned[idx],
            "aum_avg": avg[idx],
        }))
    if not frames:
        return pd.DataFrame({"customer_id": [], "as_of": [], "churned": pd.Series(dtype=bool), "aum_avg": []})
    return pd.concat(frames, ignore_index=True)
