"""A synthetic bank with a known, learnable churn signal, for tests and benchmarks.

Pure numpy/pandas (no Django), vectorised, deterministic for a seed. Not the demo
bank (``demo/bank.py`` writes the CSV files people look at); this one
exists so tests and the benchmark can make data of any size in seconds.

The story each churner follows: some months before the *event* month, a
customer starts drifting (AUM sags, logins and card spend fall, satisfaction
drops, a competitor's product is bought that matures near the event, a large
withdrawal is booked); in the event month AUM collapses or every account is
closed. Some loyal customers wobble too, so the signal is not trivial.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from churn.features import BankFrames

OUR_BANK = "Demo Bank"
PRODUCTS = pd.DataFrame(
    [
        ("OUR-DEP-1Y", OUR_BANK, True, "deposit", 1.75, 365),
        ("OUR-WM-90", OUR_BANK, True, "wealth", 2.60, 90),
        ("OUR-FUND-A", OUR_BANK, True, "fund", None, None),
        ("OUR-LOAN-H", OUR_BANK, True, "loan", 3.95, 3650),
        ("CMP-WM-91", "Rival Bank", False, "wealth", 3.10, 91),
        ("CMP-WM-180", "Rival Bank", False, "wealth", 3.25, 180),
        ("CMP-DEP-2Y", "Harbour Bank", False, "deposit", 2.30, 730),
    ],
    columns=["product_code", "provider", "is_ours", "kind", "yield_pct", "term_days"],
)


def generate_bank(
    *, customers: int, months: int = 24, end_month: date = date(2025, 12, 1), seed: int = 0,
    first_number: int = 1, churn_rate: float = 0.35,
) -> BankFrames:
    """``customers`` customers x ``months`` months ending with ``end_month`` (first day)."""
    rng = np.random.default_rng(seed + first_number)
    n, m = customers, months
    ids = np.array([f"C{i:08d}" for i in range(first_number, first_number + n)], dtype=object)
    end = pd.Timestamp(end_month).to_period("M")
    month_starts = pd.period_range(end - (m - 1), end, freq="M").to_timestamp()
    as_of_end = month_starts[-1] + pd.offsets.MonthEnd(0)

    income = np.round(rng.lognormal(11.8, 0.6, n), -2)
    cust = pd.DataFrame({
        "customer_id": ids,
        "gender": rng.choice(np.array(["M", "F"], dtype=object), n),
        "birth_date": as_of_end - pd.to_timedelta(rng.integers(22 * 365, 80 * 365, n), unit="D"),
        "opened_on": as_of_end - pd.to_timedelta(rng.integers(300, 20 * 365, n), unit="D"),
        "annual_income": income,
        "credit_score": rng.integers(450, 850, n),
        "region": rng.choice(np.array(["north", "south", "east", "west"], dtype=object), n),
        "segment": rng.choice(np.array(["product", "consumption", "service"], dtype=object), n),
    })

    base = rng.lognormal(11.2, 1.1, n)
    steps = rng.normal(0.003, 0.05, (n, m))
    aum = base[:, None] * np.exp(np.cumsum(steps, axis=1))
    # Churners: an event month, preceded by 1-3 months of drift.
    churner = rng.random(n) < churn_rate
    event = np.where(churner, rng.integers(3, m + 6, n), 10_000)  # some events fall after the data ends
    lead = rng.integers(1, 4, n)
    col = np.arange(m)[None, :]
    months_to_event = event[:, None] - col
    drifting = (months_to_event > 0) & (months_to_event <= lead[:, None])
    after = months_to_event <= 0
    drift_depth = rng.uniform(0.05, 0.18, n)[:, None]
    factor = np.where(drifting, 1.0 - drift_depth * (lead[:, None] - months_to_event + 1), 1.0)
    closes = churner & (rng.random(n) < 0.3)
    factor = np.where(after, np.where(closes[:, None], 0.0, rng.uniform(0.05, 0.35, n)[:, None]), factor)
    # Loyal wobblers: a temporary dip that recovers.
    wobble = ~churner & (rng.random(n) < 0.15)
    wobble_at = rng.integers(0, m, n)[:, None]
    factor = np.where(wobble[:, None] & (np.abs(col - wobble_at) <= 1), rng.uniform(0.6, 0.9, n)[:, None], factor)
    aum = np.round(aum * factor, 2)
    status = np.where(after & closes[:, None], "closed", "active")
    wealth_share = rng.beta(2, 3, n)[:, None]
    wealth = np.round(aum * wealth_share * np.where(drifting, 0.7, 1.0), 2)
    deposits = np.round(aum - wealth, 2)
    loans = np.round(np.where(rng.random(n) < 0.3, rng.lognormal(12, 0.8, n), 0.0)[:, None]
                     * np.ones((1, m)), 2)
    activity = np.where(drifting, 0.5, np.where(after, 0.2, 1.0))
    spend = np.round(income[:, None] / 24 * rng.uniform(0.5, 1.5, (n, m)) * activity, 2)
    txns = rng.poisson(20 * activity)
    logins = rng.poisson(12 * activity)
    held = np.clip(rng.integers(1, 6, n)[:, None] - (after & churner[:, None]) * 2, 0, None)

    # A customer's rows stop a couple of months after closing (the bank stops exporting them).
    present = ~(after & closes[:, None] & (months_to_event < -2))
    rows, cols = np.nonzero(present)
    monthly = pd.DataFrame({
        "customer_id": ids[rows],
        "month": month_starts[cols],
        "aum": aum[rows, cols],
        "deposit_balance": deposits[rows, cols],
        "wealth_balance": wealth[rows, cols],
        "loan_balance": loans[rows, cols],
        "card_spend": spend[rows, cols],
        "txn_count": txns[rows, cols],
        "digital_logins": logins[rows, cols],
        "products_held": held[rows, cols],
        "status": status[rows, cols],
    })

    event_day = month_starts[0] + pd.to_timedelta(np.clip(event, 0, 400) * 30.4 + rng.integers(0, 25, n), unit="D")
    # Competitor products: most drifting churners, some loyal customers.
    has_comp = (churner & (rng.random(n) < 0.6)) | (rng.random(n) < 0.1)
    comp_amount = np.round(base * rng.uniform(0.2, 0.6, n), -3)
    comp_maturity = np.where(churner, event_day - pd.to_timedelta(rng.integers(0, 25, n), unit="D"),
                             month_starts[0] + pd.to_timedelta(rng.integers(0, 30 * m, n), unit="D"))
    comp_start = comp_maturity - pd.to_timedelta(91, unit="D")
    ours = rng.random(n) < 0.5
    our_maturity = month_starts[0] + pd.to_timedelta(rng.integers(0, 30 * m, n), unit="D")
    holdings = pd.concat([
        pd.DataFrame({"customer_id": ids[has_comp], "product_code": "CMP-WM-91", "amount": comp_amount[has_comp],
                      "start_on": comp_start[has_comp], "maturity_on": comp_maturity[has_comp]}),
        pd.DataFrame({"customer_id": ids[ours], "product_code": "OUR-WM-90",
                      "amount": np.round(base[ours] * 0.3, -3),
                      "start_on": our_maturity[ours] - pd.to_timedelta(90, unit="D"),
                      "maturity_on": our_maturity[ours]}),
    ], ignore_index=True)

    # Surveys every ~4 months; a churner's last one before the event is poor.
    survey_cols = np.arange(0, m, 4)
    s_rows, s_k = (grid.ravel() for grid in np.meshgrid(np.arange(n), survey_cols, indexing="ij"))
    s_k = np.clip(s_k + rng.integers(0, 3, len(s_k)), 0, m - 1)
    score = np.clip(np.round(rng.normal(8.3, 1.0, len(s_rows))), 0, 10)
    unhappy = (event[s_rows] - s_k >= 0) & (event[s_rows] - s_k <= 3)
    score = np.where(unhappy & (rng.random(len(s_rows)) < 0.7), rng.integers(1, 6, len(s_rows)), score)
    surveys = pd.DataFrame({
        "customer_id": ids[s_rows],
        "surveyed_on": month_starts[s_k] + pd.to_timedelta(rng.integers(0, 27, len(s_rows)), unit="D"),
        "score": score.astype(int),
    }).drop_duplicates(["customer_id", "surveyed_on"])

    books = churner & (rng.random(n) < 0.4)
    appointments = pd.DataFrame({
        "customer_id": ids[books],
        "kind": rng.choice(np.array(["cash_withdrawal", "transfer"], dtype=object), int(books.sum())),
        "amount": np.round(base[books] * 0.5, -3),
        "scheduled_on": event_day[books],
    })
    return BankFrames(customers=cust, monthly=monthly, products=PRODUCTS.copy(), holdings=holdings,
                      surveys=surveys, appointments=appointments)
