"""A second test bank whose churn comes from a different mechanism than the demo bank's.

``customers/demo_bank.py`` drives churn by a monthly hazard of segment, tenure, distance,
satisfaction and service incidents, and gives most churners warning signs in the months
before (AUM drain, falling logins and transactions, a competitor holding, a survey score
drop, a booked withdrawal). Features tuned to that story would pass its tests for free.
This bank leaves customers for other reasons, with other distributions, and with most of
the demo bank's warning signs left as pure noise:

* **Who**: three latent kinds of customer, not the demo's segments: *savers* (deposits,
  gamma-distributed balances), *salary* customers (the account their pay goes into; thin
  balances and card spend of a large share of them) and *investors* (Pareto-tailed
  balances, mostly wealth products). Ages uniform 20-80, tenure exponential.
* **Rate-sensitivity to the market**: each customer has a sensitivity (beta-distributed,
  higher for investors); competitors' yield spread over ours is one market-wide random
  walk. The monthly hazard of moving money out rises with sensitivity x spread, so the
  churn rate changes from period to period, as it does in a real market.
* **Life events**: retirement (around 60), relocation and a home purchase close or drain
  the accounts in the month they happen, with no warning at all.
* **Money moved out during the month**: a customer who leaves moves most funds in the
  month before the month-end balance shows it, so that month's *daily average* falls
  below its month-end balance's trend: the month-end balance alone says little, the
  daily average (``aum_month_avg``) against it says much.
* **Month-end deposits that leave again**: each month some customers have money parked
  on the last days of the month (a month-end target, 冲时点): the month-end balance is
  far above the daily average, and the money leaves the next month, often taking the
  AUM below half its 3-month average (churn by the bank's definition).
* **Salary moved to another bank**: the pay stops coming in; card spend and transactions
  fall by most, and the thin balance drains within a few months.
* **Noise**: satisfaction surveys, digital logins, products held, credit score, region and
  a few competitor holdings are drawn independently of who leaves.

Writes the interchange format's CSV files with the optional columns a real export has:
``aum_month_avg`` in monthly.csv, ``is_ours`` in products.csv (the provider is spelled
differently from ``BANK_NAME``, as a real export did), some customers without a gender.
No appointments.csv. Closed customers' rows stop (the bank exports only open accounts).
Pure numpy/pandas, deterministic for a seed; no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

OUR_PROVIDER = "Harbour Commercial Bank Co., Ltd."  # not BANK_NAME: ``is_ours`` says which products are ours
BRANCHES = [("HB01", "Harbour Road", "Ningbo"), ("HB02", "East Gate", "Ningbo"), ("HB03", "Lake View", "Shaoxing"),
            ("HB04", "Station Square", "Shaoxing")]
PRODUCTS = [
    ("HCB-SAV", OUR_PROVIDER, "Savings account", "deposit", "0.20", "", "true"),
    ("HCB-TD1Y", OUR_PROVIDER, "Time deposit 1 year", "deposit", "1.65", "365", "true"),
    ("HCB-WM180", OUR_PROVIDER, "Steady wealth 180", "wealth", "2.45", "180", "true"),
    ("HCB-CARD", OUR_PROVIDER, "Credit card", "card", "", "", "true"),
    ("RIV-WM90", "River Bank", "River wealth 90", "wealth", "2.95", "90", "false"),
    ("CITY-TD2Y", "City Bank", "City deposit 2 years", "deposit", "2.20", "730", "false"),
]


@dataclass(frozen=True)
class SecondBankOptions:
    """Shapes of data a bank could export, for the tests."""

    branches: int = 3
    churn: str = "normal"  # "normal" | "none" (nobody leaves) | "all" (everybody leaves)
    daily_average: bool = True  # write aum_month_avg
    is_ours_column: bool = True  # write products.csv's is_ours (else the provider is BANK_NAME)
    holdings_and_surveys: bool = True  # write holdings.csv and surveys.csv
    bank_name: str = "Demo Bank"  # the provider name of our products when there is no is_ours column


def generate_second_bank(out_dir: Path, *, customers: int, months: int, seed: int = 0, end_month: str = "2025-12",
                         options: SecondBankOptions = SecondBankOptions()) -> dict[str, int]:
    """Write the bank's CSV files into ``out_dir``; return the data rows written per file."""
    if customers < 1 or months < 1:
        raise ValueError("need at least one customer and one month")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2])
    n, m = customers, months
    month_starts = pd.period_range(pd.Period(end_month, "M") - (m - 1), periods=m, freq="M").to_timestamp()
    end = month_starts[-1] + pd.offsets.MonthEnd(0)
    people = _people(rng, n, end, options)
    balances = _balances(rng, people, m, options)
    files = {
        "branches.csv": pd.DataFrame(BRANCHES[: options.branches], columns=["branch_code", "name", "city"]),
        "staff.csv": _staff(options.branches),
        "customers.csv": _customers(people, rng),
        "products.csv": _products(options),
        "monthly.csv": _monthly(balances, people, month_starts, options),
    }
    if options.holdings_and_surveys:
        files["holdings.csv"] = _holdings(rng, people, month_starts)
        files["surveys.csv"] = _surveys(rng, people, month_starts)
    for name, frame in files.items():
        frame.to_csv(out_dir / name, index=False)
    return {name: len(frame) for name, frame in files.items()}


@dataclass
class _People:
    ids: np.ndarray
    kind: np.ndarray  # 0 saver, 1 salary, 2 investor
    age: np.ndarray  # at the end month
    birth: pd.DatetimeIndex
    opened: pd.DatetimeIndex
    branch: np.ndarray
    base: np.ndarray  # AUM level
    sensitivity: np.ndarray


def _people(rng: np.random.Generator, n: int, end: pd.Timestamp, options: SecondBankOptions) -> _People:
    kind = rng.choice(3, size=n, p=[0.45, 0.4, 0.15])
    age = rng.uniform(20, 80, n)
    tenure_days = np.clip(rng.exponential(6.0, n), 0.5, 35) * 365.25
    base = np.where(kind == 0, rng.gamma(1.6, 60_000, n),
                    np.where(kind == 1, rng.gamma(1.3, 18_000, n), 150_000 * (1 + rng.pareto(1.5, n))))
    sensitivity = np.clip(rng.beta(2, 5, n) + np.where(kind == 2, 0.3, 0.0), 0, 1)
    return _People(
        ids=np.array([f"H{i:07d}" for i in range(1, n + 1)], dtype=object), kind=kind, age=age,
        birth=pd.DatetimeIndex(end - pd.to_timedelta(age * 365.25, unit="D")).normalize(),
        opened=pd.DatetimeIndex(end - pd.to_timedelta(tenure_days, unit="D")).normalize(),
        branch=rng.integers(0, options.branches, n), base=np.minimum(base, 30_000_000), sensitivity=sensitivity,
    )


@dataclass
class _Balances:
    aum: np.ndarray  # month-end, customers x months
    daily_average: np.ndarray
    spend: np.ndarray
    txns: np.ndarray
    closed_from: np.ndarray  # first month without a row (m when never closed)


def _balances(rng: np.random.Generator, p: _People, m: int, options: SecondBankOptions) -> _Balances:
    n = len(p.ids)
    k = np.arange(m)[None, :]
    noise_sd = np.where(p.kind == 1, 0.12, np.where(p.kind == 0, 0.05, 0.09))[:, None]
    if options.churn == "none":
        noise_sd = np.zeros((n, 1))  # steady balances: not even a tier downgrade by chance
    level = p.base[:, None] * np.exp(np.cumsum(rng.normal(0.002, 1, (n, m)) * noise_sd, axis=1))
    # The market: competitors' yield spread over ours (percentage points), one random walk.
    spread = np.clip(0.4 + np.cumsum(rng.normal(0, 0.25, m)), 0, 2.5)
    frailty = rng.normal(0, 0.6, n)[:, None]
    retiring = np.abs(p.age[:, None] - (m - 1 - k) / 12 - 60) < 0.25  # the months around the 60th birthday
    logit = -5.6 + 2.6 * p.sensitivity[:, None] * spread[None, :] + 1.4 * retiring + frailty
    leave_hazard = 1 / (1 + np.exp(-logit))
    life_event = rng.random((n, m)) < 0.004  # relocation, home purchase: no warning
    salary_lost = (p.kind == 1)[:, None] & (rng.random((n, m)) < 0.012)
    if options.churn == "none":
        leave_hazard[:] = 0
        life_event[:] = False
        salary_lost[:] = False
    leaves = rng.random((n, m)) < leave_hazard
    tau = np.where(leaves.any(axis=1), leaves.argmax(axis=1), 10_000)
    life_at = np.where(life_event.any(axis=1), life_event.argmax(axis=1), 10_000)
    salary_at = np.where(salary_lost.any(axis=1), salary_lost.argmax(axis=1), 10_000)

    aum = level.copy()
    # Leaving: the money goes out during month tau - 1 and the account is topped up again for
    # the month-end (a fee waiver, a staff target), so only that month's daily average shows
    # it; the month-end balance follows at tau. A third close outright at tau + 1.
    share_kept = rng.uniform(0.05, 0.35, n)[:, None]
    closes = rng.random(n) < 0.35
    aum = np.where(k >= tau[:, None], aum * share_kept, aum)
    daily_average = aum * rng.uniform(0.96, 1.04, (n, m))
    moving = k == (tau[:, None] - 1)
    aum = np.where(moving, aum * rng.uniform(0.85, 1.0, (n, 1)), aum)
    daily_average = np.where(moving, aum * rng.uniform(0.35, 0.7, (n, 1)), daily_average)
    # Salary moved elsewhere: the thin balance drains month by month.
    drained = k >= salary_at[:, None]
    aum = np.where(drained, aum * 0.55 ** np.maximum(k - salary_at[:, None] + 1, 0), aum)
    daily_average = np.where(drained, aum * 1.25, daily_average)
    # Money parked for the month-end: in on the last days, out the next month.
    parked = (rng.random((n, m)) < 0.05) & (options.churn != "none")
    deposit = np.where(parked, p.base[:, None] * rng.uniform(1.0, 6.0, (n, m)), 0.0)
    aum = aum + deposit
    daily_average = daily_average + deposit * rng.uniform(0.03, 0.12, (n, m))
    after_parking = np.zeros((n, m), dtype=bool)
    after_parking[:, 1:] = parked[:, :-1]
    aum = np.where(after_parking, aum * rng.uniform(0.25, 0.9, (n, m)), aum)
    daily_average = np.where(after_parking, np.maximum(daily_average, aum), daily_average)

    if options.churn == "all":  # everybody moves nine tenths of their money out in the third month
        aum[:, 2:] *= 0.1
        daily_average[:, 2:] *= 0.1

    spend_share = np.where(p.kind == 1, rng.uniform(0.3, 0.9, n), rng.uniform(0.005, 0.06, n))[:, None]
    spend = level * spend_share * rng.lognormal(0, 0.3, (n, m))
    spend = np.where(drained, spend * 0.25, spend)
    txns = rng.poisson(np.where(p.kind == 1, 45, 12)[:, None] * np.where(drained, 0.3, 1.0))
    closed_from = np.full(n, m)
    closing = np.where(closes & (tau < m), tau + 1, 10_000)
    closed_from = np.minimum(closed_from, np.minimum(closing, life_at))
    if options.churn == "none":
        closed_from[:] = m
    return _Balances(aum=np.round(aum, 2), daily_average=np.round(daily_average, 2), spend=np.round(spend, 2),
                     txns=txns, closed_from=closed_from)


def _staff(branches: int) -> pd.DataFrame:
    rows = []
    for code, _, _ in BRANCHES[:branches]:
        rows.append((f"{code}-HEAD", f"Head {code}", code, "head", ""))
        rows.append((f"{code}-RM1", f"RM one {code}", code, "rm", ""))
        rows.append((f"{code}-RM2", f"RM two {code}", code, "rm", ""))
    return pd.DataFrame(rows, columns=["staff_code", "name", "branch_code", "role", "email"])


def _customers(p: _People, rng: np.random.Generator) -> pd.DataFrame:
    n = len(p.ids)
    branch_codes = np.array([b[0] for b in BRANCHES], dtype=object)[p.branch]
    gender = rng.choice(np.array(["M", "F", ""], dtype=object), n, p=[0.49, 0.49, 0.02])
    return pd.DataFrame({
        "customer_id": p.ids,
        "name": [f"Customer {i}" for i in range(1, n + 1)],
        "gender": gender,
        "birth_date": p.birth.strftime("%Y-%m-%d"),
        "id_number": [f"3302{i:014d}" for i in range(1, n + 1)],
        "phone": [f"139{i:08d}" for i in range(1, n + 1)],
        "branch_code": branch_codes,
        "rm_code": branch_codes + np.where(rng.random(n) < 0.5, "-RM1", "-RM2"),
        "opened_on": p.opened.strftime("%Y-%m-%d"),
        "region": rng.choice(np.array(["Haishu", "Jiangbei", "Yuecheng", "Keqiao"], dtype=object), n),
        "annual_income": np.round(rng.gamma(2.0, 80_000, n), 2),
        "credit_score": rng.integers(400, 900, n),
    })


def _products(options: SecondBankOptions) -> pd.DataFrame:
    columns = ["product_code", "provider", "name", "kind", "yield_pct", "term_days", "is_ours"]
    frame = pd.DataFrame(PRODUCTS, columns=columns)
    if not options.is_ours_column:
        frame.loc[frame["is_ours"] == "true", "provider"] = options.bank_name
        frame = frame.drop(columns="is_ours")
    return frame


def _monthly(b: _Balances, p: _People, month_starts: pd.DatetimeIndex, options: SecondBankOptions) -> pd.DataFrame:
    n, m = b.aum.shape
    rng = np.random.default_rng([len(p.ids), m, 3])  # the static columns' own stream, still deterministic
    keep = np.arange(m)[None, :] < b.closed_from[:, None]
    # A customer who opened during the period has rows from the opening month only.
    opened_month = (p.opened.year.to_numpy() * 12 + p.opened.month.to_numpy())[:, None]
    month_number = (month_starts.year.to_numpy() * 12 + month_starts.month.to_numpy())[None, :]
    keep &= month_number >= opened_month
    rows, cols = np.nonzero(keep)
    aum = b.aum[rows, cols]
    deposit_share = np.where(p.kind == 2, rng.uniform(0.2, 0.5, n), rng.uniform(0.75, 1.0, n))[rows]
    deposits = np.round(aum * deposit_share, 2)
    frame = pd.DataFrame({
        "customer_id": p.ids[rows],
        "month": month_starts[cols].strftime("%Y-%m"),
        "aum": aum,
        "deposit_balance": deposits,
        "wealth_balance": np.round(aum - deposits, 2),
        "loan_balance": np.where(rng.random(n) < 0.2, np.round(rng.gamma(2, 150_000, n), 2), 0.0)[rows],
        "card_spend": b.spend[rows, cols],
        "txn_count": b.txns[rows, cols],
        "digital_logins": rng.poisson(np.clip(80 - p.age, 2, 60) / 4)[rows],
        "products_held": rng.integers(1, 6, size=(n,))[rows],
        "status": "active",
    })
    if options.daily_average:
        frame["aum_month_avg"] = b.daily_average[rows, cols]
    return frame


def _holdings(rng: np.random.Generator, p: _People, month_starts: pd.DatetimeIndex) -> pd.DataFrame:
    """A few holdings of ours and of competitors', drawn independently of who leaves (noise)."""
    holders = np.flatnonzero(rng.random(len(p.ids)) < 0.25)
    terms = {row[0]: int(row[5]) if row[5] else None for row in PRODUCTS}
    product = rng.choice(np.array(["HCB-TD1Y", "HCB-WM180", "RIV-WM90", "CITY-TD2Y"], dtype=object), len(holders))
    start = month_starts[0] + pd.to_timedelta(rng.integers(0, max(1, len(month_starts) * 30), len(holders)),
                                              unit="D")
    maturity = [s + pd.Timedelta(days=terms[c]) if terms[c] else pd.NaT for s, c in zip(start, product, strict=True)]
    return pd.DataFrame({
        "customer_id": p.ids[holders], "product_code": product,
        "amount": np.round(np.minimum(p.base[holders] * rng.uniform(0.1, 0.5, len(holders)), 5e6) + 1000, 2),
        "start_on": start.strftime("%Y-%m-%d"),
        "maturity_on": pd.DatetimeIndex(maturity).strftime("%Y-%m-%d").fillna(""),
    })


def _surveys(rng: np.random.Generator, p: _People, month_starts: pd.DatetimeIndex) -> pd.DataFrame:
    """Satisfaction surveys with scores unrelated to who leaves (noise)."""
    surveyed = np.flatnonzero(rng.random(len(p.ids)) < 0.3)
    days = rng.integers(0, max(1, len(month_starts) * 30 - 5), len(surveyed))
    return pd.DataFrame({
        "customer_id": p.ids[surveyed],
        "surveyed_on": (month_starts[0] + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
        "score": rng.integers(3, 11, len(surveyed)),
        "channel": "phone",
        "comment": "",
    })
