"""Measuring an alert's outcome at the end of its churn window.

The churn definition lives in one place, ``churn.labels.build_labels`` (a pure
function on the monthly DataFrame). This module only feeds it the rows of the
alerts' customers, so the retention report measures exactly what the model was
trained to predict.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from churn.labels import build_labels
from core.months import add_months, month_end, month_start
from retention import conf

# A customer id no real customer has: see ``churned_by_customer``.
_SENTINEL = -1


def churn_labels(
    *, rows: list[tuple[int, dt.date, float, str]], month_ends: list[dt.date], last_month: dt.date,
    min_avg_aum: float,
) -> pd.DataFrame:
    """``build_labels`` on (customer pk, month, aum, status) rows that run up to ``last_month``.

    ``build_labels`` treats a missing month after the first one as "closed"
    (the bank stops exporting closed customers) but only labels month-ends whose
    whole window is in the frame. A batch whose customers all closed would have
    no row for the last month, so a sentinel row marks the frame as covering it;
    the sentinel has no row at any month-end and gets no label.
    """
    frame = pd.DataFrame(
        [*rows, (_SENTINEL, last_month, 0.0, "active")], columns=["customer_id", "month", "aum", "status"]
    )
    frame["month"] = pd.to_datetime(frame["month"])
    labels = build_labels(
        frame,
        month_ends=month_ends,
        window_months=conf.churn_window_months(),
        aum_drop_ratio=conf.churn_aum_drop_ratio(),
        min_avg_aum=min_avg_aum,
        tier_floors=conf.tier_floors(),
    )
    return labels[labels["customer_id"] != _SENTINEL]


def churned_by_customer(
    *, rows: list[tuple[int, dt.date, float, str]], anchor_month: dt.date
) -> dict[int, bool]:
    """customer pk -> churned, for customers with an active row at ``anchor_month``.

    ``rows`` are (customer pk, month, aum, status) for months anchor-2 .. anchor+window.
    """
    labels = churn_labels(
        rows=rows,
        month_ends=[month_end(anchor_month)],
        last_month=add_months(anchor_month, conf.churn_window_months()),
        # Every case is measured, including small customers the model does not score.
        min_avg_aum=0.0,
    )
    return {int(row.customer_id): bool(row.churned) for row in labels.itertuples()}


def aum_kept(*, start_aum: Decimal | None, end_aum: Decimal | None, end_closed: bool) -> Decimal:
    """AUM still with us at the end of the window, capped at the AUM at its start:
    new money brought in later is not "kept"."""
    if end_closed or end_aum is None:
        return Decimal("0.00")
    if start_aum is None:
        return Decimal(end_aum)
    return min(Decimal(end_aum), Decimal(start_aum))


def window_of(*, anchor_month: dt.date) -> tuple[dt.date, dt.date]:
    """(anchor month, last day of the window) for a case opened on a night whose latest known
    month of balances is ``anchor_month``: the month-end ``t`` the churn definition is scored
    at, so the window is the months the night could not see yet. (Anchoring a month earlier
    would put a month the night already scored inside the window: customers who had left in
    it would count as lost although nobody could have called them in time.)"""
    anchor = month_start(anchor_month)
    return anchor, month_end(add_months(anchor, conf.churn_window_months()))

