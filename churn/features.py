"""Point-in-time churn features, one row per customer. Pure pandas/numpy: no Django.

``build_features`` is the only way features are computed, for training (as of
many historical month-ends) and for nightly scoring (as of the run date), so
the two cannot drift apart.

Point-in-time rules (what is "known" at ``as_of``):

- monthly rows whose month has *ended* on or before ``as_of``;
- holdings that started on or before ``as_of`` (their maturity date is known
  from the start);
- surveys dated on or before ``as_of``; contacts made on or before ``as_of``;
- large-transaction appointments scheduled in ``(as_of, as_of + 14 days]`` count
  as "booked" (the bank exports bookings, not the day they were made).

Everything is vectorised: the monthly history becomes dense ``customers x 12``
arrays indexed by integer position, and the event tables are reduced with
groupby. There is no per-customer Python loop.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from core.months import last_complete_month, month_number
from customers.tiers import TIERS, tier_codes, tier_floor_of

HISTORY_MONTHS = 12
BOOKING_HORIZON_DAYS = 14
TIER_NAMES = TIERS
SEGMENTS = ("product", "consumption", "service")

CUSTOMER_COLUMNS = [
    "customer_id", "gender", "birth_date", "opened_on", "annual_income", "credit_score", "region", "segment",
]
MONTHLY_COLUMNS = [
    "customer_id", "month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend",
    "txn_count", "digital_logins", "products_held", "status", "aum_month_avg",
]
PRODUCT_COLUMNS = ["product_code", "provider", "is_ours", "kind", "yield_pct", "term_days"]
HOLDING_COLUMNS = ["customer_id", "product_code", "amount", "start_on", "maturity_on"]
SURVEY_COLUMNS = ["customer_id", "surveyed_on", "score"]
APPOINTMENT_COLUMNS = ["customer_id", "kind", "amount", "scheduled_on"]
CONTACT_COLUMNS = ["customer_id", "contacted_at", "channel", "result"]

# The model's inputs, in a fixed order. Context columns (below) travel in the
# same frame for reasons and scoring but are not fed to the model.
FEATURE_COLUMNS = [
    "aum", "aum_avg_3m", "aum_change_1m", "aum_change_3m", "aum_change_6m",
    "aum_drop_from_peak", "months_since_peak", "aum_volatility_6m",
    "deposit_share", "deposit_share_change_3m", "deposit_change_3m",
    "wealth_share", "wealth_share_change_3m", "wealth_change_3m",
    "loan_balance", "loan_change_3m",
    "card_spend_3m", "card_spend_trend", "txn_count_3m", "txn_count_trend",
    "digital_logins_3m", "digital_logins_trend", "products_held", "products_held_change_3m",
    "month_end_to_daily_avg", "month_end_to_daily_avg_3m", "month_end_to_daily_avg_change_1m",
    "daily_avg_change_1m", "daily_avg_change_3m",
    "card_spend_to_aum", "card_spend_to_aum_3m", "card_spend_to_aum_change_3m", "card_spend_to_deposits",
    "tier", "aum_above_tier_floor", "tier_floor_headroom",
    "ours_maturing_30d", "competitor_maturing_7d", "competitor_maturing_30d", "competitor_days_to_maturity",
    "competitor_holdings_share",
    "survey_last_score", "survey_score_change", "days_since_survey",
    "large_withdrawal_amount", "large_withdrawal_to_aum", "days_to_large_withdrawal",
    "days_since_contact", "contacts_90d",
    "tenure_years", "age", "annual_income", "credit_score",
    "segment_product", "segment_consumption", "segment_service",
]
# ``months_of_history`` is context, not an input: on a bank with a few months of exports it
# only tells the model which month it is (it stays in the frame for models trained before).
CONTEXT_COLUMNS = [
    "aum_3m_ago", "aum_peak_12m", "survey_previous_score", "competitor_next_kind", "competitor_next_amount",
    "tier_name", "segment", "latest_status", "has_current_month", "months_of_history", "opened_year",
]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass
class BankFrames:
    """The bank's data as DataFrames with the interchange column names.

    ``monthly.month`` is a Timestamp of the first day of the month; dates are
    Timestamps (or anything ``pd.to_datetime`` understands); ``customer_id`` is
    whatever key the caller uses, consistently across frames.
    """

    customers: pd.DataFrame
    monthly: pd.DataFrame
    products: pd.DataFrame = field(default_factory=lambda: _empty(PRODUCT_COLUMNS))
    holdings: pd.DataFrame = field(default_factory=lambda: _empty(HOLDING_COLUMNS))
    surveys: pd.DataFrame = field(default_factory=lambda: _empty(SURVEY_COLUMNS))
    appointments: pd.DataFrame = field(default_factory=lambda: _empty(APPOINTMENT_COLUMNS))
    contacts: pd.DataFrame = field(default_factory=lambda: _empty(CONTACT_COLUMNS))


def _ratio_change(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Relative change now/before - 1, NaN when there is no positive base; capped at +1000%."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(before > 0, now / before - 1.0, np.nan)
    return np.clip(out, -1.0, 10.0)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, np.nan)


def _nanmean(arr: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(arr, axis=1)


def _to_datetime(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            return series.dt.tz_localize(None)
        return series
    return pd.to_datetime(series, utc=False, errors="coerce")


def _positions(index: pd.Index, keys: pd.Series) -> np.ndarray:
    return index.get_indexer(keys)


def _group_sum(n: int, pos: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.bincount(pos, weights=values, minlength=n).astype(float)


def data_month_for(as_of: date, latest_data_month: date | None) -> pd.Timestamp | None:
    """The month whose balances describe a customer at ``as_of``: the last complete month,
    or the latest month the bank has exported if that one has not arrived yet.

    The monthly export lands some days after month-end, so on 1 December the
    latest data is often October's; scoring then uses October's balances with
    events (maturities, bookings, surveys, contacts) as of 1 December, rather than
    scoring nobody. None when there is no monthly data up to ``as_of`` at all.
    """
    cutoff = last_complete_month(as_of)
    if latest_data_month is None:
        return None
    latest = pd.Timestamp(latest_data_month).to_period("M").to_timestamp()
    return min(cutoff, latest)


def build_features(
    frames: BankFrames, *, as_of: date, tier_floors: dict[str, float], data_month: date | None = None,
) -> pd.DataFrame:
    """Features of every customer in ``frames.customers`` as known at ``as_of``.

    Returns a frame indexed by ``customer_id`` with ``FEATURE_COLUMNS`` followed by
    ``CONTEXT_COLUMNS``. The monthly history ends with ``data_month`` (default:
    the last complete month before ``as_of``; an earlier one when the latest
    export has not arrived, see ``data_month_for``); event features are as of
    ``as_of``. A customer with no monthly row for that month has
    ``has_current_month`` False (the caller decides whether to score).

    A feature that needs more months than the bank has exported (a 6-month change
    on 4 months of data) is NaN, never an error: the model and the reasons treat
    it as unknown. Each step below fills its own columns of ``out``.
    """
    customers = frames.customers.drop_duplicates("customer_id")
    index = pd.Index(customers["customer_id"].to_numpy())
    as_of_ts = pd.Timestamp(as_of)
    cutoff = last_complete_month(as_of)
    if data_month is not None:
        # Never later than the last complete month: a month still running is not known yet.
        cutoff = min(cutoff, pd.Timestamp(data_month).to_period("M").to_timestamp())
    history = monthly_history(frames.monthly, index=index, cutoff=cutoff)
    out: dict[str, np.ndarray] = {}
    out.update(balance_features(history))
    out.update(daily_average_features(history))
    out.update(mix_features(history))
    out.update(activity_features(history))
    out.update(tier_features(history.aum[:, 0], tier_floors))
    out.update(holding_features(frames, index=index, as_of=as_of_ts, aum=history.aum[:, 0]))
    out.update(survey_features(frames.surveys, index=index, as_of=as_of_ts))
    out.update(booking_features(frames.appointments, index=index, as_of=as_of_ts, aum=history.aum[:, 0]))
    out.update(contact_features(frames.contacts, index=index, as_of=as_of_ts))
    out.update(profile_features(customers, as_of=as_of_ts))
    return _assemble(out, index=index, history=history)


@dataclass
class MonthlyHistory:
    """The monthly rows as dense ``customers x HISTORY_MONTHS`` arrays: column k is k
    months before the cutoff month, NaN where the bank exported no row."""

    aum: np.ndarray
    aum_month_avg: np.ndarray
    deposits: np.ndarray
    wealth: np.ndarray
    loans: np.ndarray
    spend: np.ndarray
    txns: np.ndarray
    logins: np.ndarray
    products_held: np.ndarray
    closed: np.ndarray  # closed in the cutoff month


def monthly_history(monthly: pd.DataFrame, *, index: pd.Index, cutoff: pd.Timestamp) -> MonthlyHistory:
    n = len(index)
    k = month_number(cutoff) - np.asarray(month_number(_to_datetime(monthly["month"])))
    pos = _positions(index, monthly["customer_id"])
    keep = (k >= 0) & (k < HISTORY_MONTHS) & (pos >= 0)
    pos, k = pos[keep], k[keep]

    def panel(column: str) -> np.ndarray:
        arr = np.full((n, HISTORY_MONTHS), np.nan)
        if column in monthly.columns:  # aum_month_avg is optional in the interchange format
            values = pd.to_numeric(monthly[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            arr[pos, k] = values[keep]
        return arr

    closed = np.zeros(n, dtype=bool)
    latest_rows = k == 0
    closed[pos[latest_rows][monthly["status"].to_numpy()[keep][latest_rows] == "closed"]] = True
    return MonthlyHistory(
        aum=panel("aum"), aum_month_avg=panel("aum_month_avg"), deposits=panel("deposit_balance"),
        wealth=panel("wealth_balance"), loans=panel("loan_balance"), spend=panel("card_spend"),
        txns=panel("txn_count"), logins=panel("digital_logins"), products_held=panel("products_held"),
        closed=closed,
    )


def balance_features(h: MonthlyHistory) -> dict[str, np.ndarray]:
    """AUM level, its changes, its distance from the 12-month peak and its volatility."""
    aum, aum0 = h.aum, h.aum[:, 0]
    n = len(aum)
    filled = np.where(np.isnan(aum), -np.inf, aum)
    peak_k = np.argmax(filled, axis=1)
    peak = filled[np.arange(n), peak_k]
    peak = np.where(np.isinf(peak), np.nan, peak)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        six = aum[:, :6]
        volatility = _safe_div(np.nanstd(six, axis=1), np.nanmean(six, axis=1))
    return {
        "aum": aum0,
        "aum_avg_3m": _nanmean(aum[:, :3]),
        "aum_change_1m": _ratio_change(aum0, aum[:, 1]),
        "aum_change_3m": _ratio_change(aum0, aum[:, 3]),
        "aum_change_6m": _ratio_change(aum0, aum[:, 6]),
        "aum_drop_from_peak": np.clip(1.0 - _safe_div(aum0, peak), 0.0, 1.0),
        "months_since_peak": np.where(np.isnan(peak), np.nan, peak_k.astype(float)),
        "aum_volatility_6m": volatility,
        "aum_peak_12m": peak,
        "aum_3m_ago": aum[:, 3],
        # Context only: how many months the bank has exported says which month it is, not who leaves.
        "months_of_history": (~np.isnan(aum)).sum(axis=1).astype(float),
    }


def daily_average_features(h: MonthlyHistory) -> dict[str, np.ndarray]:
    """Month-end balance against the month's daily average (月末 vs 月日均), where the bank exports it.

    Money that is in the account on the last day but not during the month (a
    ratio well above 1) is parked for the month-end figure; a ratio falling below
    1 means the balance left during the month, which the month-end AUM shows only
    a month later. NaN throughout for a bank that does not export the average.
    """
    ratio = np.clip(_safe_div(h.aum, h.aum_month_avg), 0.0, 10.0)
    return {
        "month_end_to_daily_avg": ratio[:, 0],
        "month_end_to_daily_avg_3m": _nanmean(ratio[:, :3]),
        "month_end_to_daily_avg_change_1m": ratio[:, 0] - ratio[:, 1],
        "daily_avg_change_1m": _ratio_change(h.aum_month_avg[:, 0], h.aum_month_avg[:, 1]),
        "daily_avg_change_3m": _ratio_change(h.aum_month_avg[:, 0], h.aum_month_avg[:, 3]),
    }


def mix_features(h: MonthlyHistory) -> dict[str, np.ndarray]:
    """Deposits, wealth products and loans: their share of AUM and how they moved over 3 months."""
    deposit_share = _safe_div(h.deposits, h.aum)
    wealth_share = _safe_div(h.wealth, h.aum)
    return {
        "deposit_share": deposit_share[:, 0],
        "deposit_share_change_3m": deposit_share[:, 0] - deposit_share[:, 3],
        "deposit_change_3m": _ratio_change(h.deposits[:, 0], h.deposits[:, 3]),
        "wealth_share": wealth_share[:, 0],
        "wealth_share_change_3m": wealth_share[:, 0] - wealth_share[:, 3],
        "wealth_change_3m": _ratio_change(h.wealth[:, 0], h.wealth[:, 3]),
        "loan_balance": h.loans[:, 0],
        "loan_change_3m": _ratio_change(h.loans[:, 0], h.loans[:, 3]),
    }


def activity_features(h: MonthlyHistory) -> dict[str, np.ndarray]:
    """Card spend, transactions, logins and products: recent level and trend; spend against the balance.

    Spend relative to the balance tells an account that is used for daily life
    (salary in, spending out) from one that only holds money; the trend of that
    ratio catches a customer moving their day-to-day banking elsewhere.
    """
    out: dict[str, np.ndarray] = {}
    for name, arr in (("card_spend", h.spend), ("txn_count", h.txns), ("digital_logins", h.logins)):
        recent = _nanmean(arr[:, :3])
        out[f"{name}_3m"] = recent
        out[f"{name}_trend"] = _ratio_change(recent, _nanmean(arr[:, 3:6]))
    balance = np.where(np.isnan(h.aum_month_avg), h.aum, h.aum_month_avg)  # the daily average where known
    spend_ratio = np.clip(_safe_div(h.spend, balance), 0.0, 10.0)
    out["card_spend_to_aum"] = spend_ratio[:, 0]
    out["card_spend_to_aum_3m"] = _nanmean(spend_ratio[:, :3])
    out["card_spend_to_aum_change_3m"] = spend_ratio[:, 0] - spend_ratio[:, 3]
    out["card_spend_to_deposits"] = np.clip(_safe_div(h.spend[:, 0], h.deposits[:, 0]), 0.0, 10.0)
    out["products_held"] = h.products_held[:, 0]
    out["products_held_change_3m"] = h.products_held[:, 0] - h.products_held[:, 3]
    return out


def tier_features(aum0: np.ndarray, tier_floors: dict[str, float]) -> dict[str, np.ndarray]:
    tier = tier_codes(aum0, tier_floors)
    floor = tier_floor_of(tier, tier_floors)
    return {"tier": tier, "aum_above_tier_floor": aum0 - floor, "tier_floor_headroom": _safe_div(aum0 - floor, aum0)}


def holding_features(frames: BankFrames, *, index: pd.Index, as_of: pd.Timestamp,
                     aum: np.ndarray) -> dict[str, np.ndarray]:
    """Ours and competitors' holdings maturing soon, and competitors' holdings as a share of AUM."""
    n = len(index)
    out: dict[str, np.ndarray] = {name: np.zeros(n) for name in (
        "ours_maturing_30d", "competitor_maturing_7d", "competitor_maturing_30d", "competitor_holdings_share")}
    out["competitor_days_to_maturity"] = np.full(n, np.nan)
    out["competitor_next_amount"] = np.full(n, np.nan)
    out["competitor_next_kind"] = np.full(n, None, dtype=object)
    holdings = frames.holdings
    if not len(holdings):
        return out
    products = frames.products.drop_duplicates("product_code").set_index("product_code")
    h_pos = _positions(index, holdings["customer_id"])
    start = _to_datetime(holdings["start_on"])
    maturity = _to_datetime(holdings["maturity_on"])
    known = (h_pos >= 0) & (start <= as_of).to_numpy()
    ours = holdings["product_code"].map(products["is_ours"]).fillna(False).astype(bool).to_numpy()
    kind = holdings["product_code"].map(products["kind"]).to_numpy()
    amount = holdings["amount"].to_numpy(dtype=float, na_value=0.0)
    days = (maturity - as_of).dt.days.to_numpy(dtype=float, na_value=np.nan)
    live = known & ~(days <= 0)  # not yet matured (open-ended holdings stay live)
    in30 = live & (days <= 30)
    in7 = live & (days <= 7)
    out["ours_maturing_30d"] = _group_sum(n, h_pos[in30 & ours], amount[in30 & ours])
    out["competitor_maturing_30d"] = _group_sum(n, h_pos[in30 & ~ours], amount[in30 & ~ours])
    out["competitor_maturing_7d"] = _group_sum(n, h_pos[in7 & ~ours], amount[in7 & ~ours])
    competitor_live = _group_sum(n, h_pos[live & ~ours], amount[live & ~ours])
    out["competitor_holdings_share"] = np.clip(_safe_div(competitor_live, aum), 0.0, 10.0)
    soon = in30 & ~ours
    if soon.any():
        nxt = pd.DataFrame({"pos": h_pos[soon], "days": days[soon], "amount": amount[soon], "kind": kind[soon]})
        nxt = nxt.sort_values(["pos", "days", "amount"], ascending=[True, True, False]).drop_duplicates("pos")
        p = nxt["pos"].to_numpy()
        out["competitor_days_to_maturity"][p] = nxt["days"].to_numpy()
        out["competitor_next_amount"][p] = nxt["amount"].to_numpy()
        out["competitor_next_kind"][p] = nxt["kind"].to_numpy()
    return out


def survey_features(surveys: pd.DataFrame, *, index: pd.Index, as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    """The last satisfaction score, the one before it, and how long ago the last was."""
    n = len(index)
    out = {name: np.full(n, np.nan) for name in ("survey_last_score", "survey_previous_score", "days_since_survey")}
    if len(surveys):
        s = pd.DataFrame({
            "pos": _positions(index, surveys["customer_id"]),
            "on": _to_datetime(surveys["surveyed_on"]),
            "score": surveys["score"].to_numpy(dtype=float, na_value=np.nan),
        })
        s = s[(s["pos"] >= 0) & (s["on"] <= as_of)].sort_values(["pos", "on"], ascending=[True, False])
        s["rank"] = s.groupby("pos").cumcount()
        last = s[s["rank"] == 0]
        prev = s[s["rank"] == 1]
        out["survey_last_score"][last["pos"].to_numpy()] = last["score"].to_numpy()
        out["days_since_survey"][last["pos"].to_numpy()] = (as_of - last["on"]).dt.days.to_numpy()
        out["survey_previous_score"][prev["pos"].to_numpy()] = prev["score"].to_numpy()
    out["survey_score_change"] = out["survey_last_score"] - out["survey_previous_score"]
    return out


def booking_features(appointments: pd.DataFrame, *, index: pd.Index, as_of: pd.Timestamp,
                     aum: np.ndarray) -> dict[str, np.ndarray]:
    """Large withdrawals and transfers booked for the next two weeks."""
    n = len(index)
    amount_booked = np.zeros(n)
    days_to = np.full(n, np.nan)
    if len(appointments):
        a_pos = _positions(index, appointments["customer_id"])
        a_days = (_to_datetime(appointments["scheduled_on"]) - as_of).dt.days.to_numpy(dtype=float, na_value=-1)
        booked = (a_pos >= 0) & (a_days > 0) & (a_days <= BOOKING_HORIZON_DAYS)
        a_amount = appointments["amount"].to_numpy(dtype=float, na_value=0.0)
        amount_booked = _group_sum(n, a_pos[booked], a_amount[booked])
        first = pd.Series(a_days[booked]).groupby(a_pos[booked]).min()
        days_to[first.index.to_numpy()] = first.to_numpy()
    return {"large_withdrawal_amount": amount_booked, "days_to_large_withdrawal": days_to,
            "large_withdrawal_to_aum": np.clip(_safe_div(amount_booked, aum), 0.0, 10.0)}


def contact_features(contacts: pd.DataFrame, *, index: pd.Index, as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    """Days since staff last contacted the customer, and contacts in the last 90 days."""
    n = len(index)
    days_since = np.full(n, np.nan)
    recent_count = np.zeros(n)
    if len(contacts):
        c_pos = _positions(index, contacts["customer_id"])
        c_on = _to_datetime(contacts["contacted_at"])
        c_days = (as_of + pd.Timedelta(days=1) - c_on).dt.total_seconds().to_numpy(dtype=float) / 86400.0
        ok = (c_pos >= 0) & (c_days > 0)
        latest = pd.Series(c_days[ok]).groupby(c_pos[ok]).min()
        days_since[latest.index.to_numpy()] = np.floor(latest.to_numpy())
        recent = ok & (c_days <= 91)
        recent_count = np.bincount(c_pos[recent], minlength=n).astype(float)
    return {"days_since_contact": days_since, "contacts_90d": recent_count}


def profile_features(customers: pd.DataFrame, *, as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    """Who the customer is: tenure (from the opening date, not the months of data), age, income, segment."""
    opened = _to_datetime(customers["opened_on"])
    born = _to_datetime(customers["birth_date"])
    segment = customers["segment"].fillna("").astype(str).to_numpy()
    out = {
        "tenure_years": ((as_of - opened).dt.days / 365.25).to_numpy(dtype=float, na_value=np.nan),
        "opened_year": opened.dt.year.to_numpy(dtype=float, na_value=np.nan),
        "age": ((as_of - born).dt.days / 365.25).to_numpy(dtype=float, na_value=np.nan),
        "annual_income": pd.to_numeric(customers["annual_income"], errors="coerce").to_numpy(dtype=float),
        "credit_score": pd.to_numeric(customers["credit_score"], errors="coerce").to_numpy(dtype=float),
        "segment": segment,
    }
    for name in SEGMENTS:
        out[f"segment_{name}"] = (segment == name).astype(float)
    return out


def _assemble(out: dict[str, np.ndarray], *, index: pd.Index, history: MonthlyHistory) -> pd.DataFrame:
    """The model's inputs in their fixed order, then the context columns."""
    frame = pd.DataFrame({name: out[name] for name in FEATURE_COLUMNS}, index=index)
    frame.index.name = "customer_id"
    aum0 = history.aum[:, 0]
    names = np.array(TIER_NAMES + ("",), dtype=object)
    frame["tier_name"] = names[np.nan_to_num(out["tier"], nan=4).astype(int)]
    frame["latest_status"] = np.where(history.closed, "closed", np.where(np.isnan(aum0), "", "active"))
    frame["has_current_month"] = ~np.isnan(aum0)
    for name in CONTEXT_COLUMNS:
        if name not in frame.columns:
            frame[name] = out[name]
    return frame[[*FEATURE_COLUMNS, *CONTEXT_COLUMNS]]


def as_of_dates(*, first: date, last: date) -> list[date]:
    """Month-ends from the one containing ``first`` to the one containing ``last``."""
    months = pd.period_range(pd.Timestamp(first).to_period("M"), pd.Timestamp(last).to_period("M"), freq="M")
    return [p.to_timestamp(how="end").date() for p in months]
