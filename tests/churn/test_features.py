"""Feature tests: no database."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from churn.features import FEATURE_COLUMNS, BankFrames, build_features, data_month_for, last_complete_month
from demo.synthetic import generate_bank

FLOORS = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}


def _customer(cid="A", **extra):
    row = {"customer_id": cid, "gender": "F", "birth_date": pd.Timestamp("1980-06-30"),
           "opened_on": pd.Timestamp("2015-12-31"), "annual_income": 200_000, "credit_score": 700,
           "region": "east", "segment": "product"}
    row.update(extra)
    return row


def _monthly(cid, aums, start="2025-01-01"):
    months = pd.date_range(start, periods=len(aums), freq="MS")
    return pd.DataFrame({
        "customer_id": cid, "month": months, "aum": aums, "deposit_balance": np.array(aums) * 0.6,
        "wealth_balance": np.array(aums) * 0.4, "loan_balance": 0.0, "card_spend": 3000.0, "txn_count": 20,
        "digital_logins": 10, "products_held": 3, "status": "active",
    })


def _products():
    return pd.DataFrame({"product_code": ["OURS", "RIVAL"], "provider": ["Demo Bank", "Rival"],
                         "is_ours": [True, False], "kind": ["wealth", "wealth"], "yield_pct": [2.5, 3.1],
                         "term_days": [90, 91]})


def test_last_complete_month_is_the_month_that_has_ended():
    assert last_complete_month(date(2025, 6, 30)) == pd.Timestamp("2025-06-01")
    assert last_complete_month(date(2025, 6, 29)) == pd.Timestamp("2025-05-01")


def test_aum_changes_peak_and_tier_use_the_customers_own_numbers():
    aums = [100_000, 120_000, 150_000, 140_000, 130_000, 120_000, 110_000, 102_000]  # Jan..Aug
    frames = BankFrames(customers=pd.DataFrame([_customer()]), monthly=_monthly("A", aums))
    row = build_features(frames, as_of=date(2025, 8, 31), tier_floors=FLOORS).loc["A"]
    assert row["aum"] == 102_000
    assert row["aum_change_1m"] == pytest.approx(102 / 110 - 1)
    assert row["aum_change_3m"] == pytest.approx(102 / 130 - 1)
    assert row["aum_change_6m"] == pytest.approx(102 / 120 - 1)  # February
    assert row["aum_drop_from_peak"] == pytest.approx(1 - 102 / 150)
    assert row["months_since_peak"] == 5
    assert row["tier"] == 1 and row["tier_name"] == "gold"
    assert row["aum_above_tier_floor"] == 52_000
    assert row["segment_product"] == 1 and row["segment_service"] == 0
    assert row["age"] == pytest.approx(45.17, abs=0.01)


def test_holdings_surveys_bookings_and_contacts_windows():
    frames = BankFrames(
        customers=pd.DataFrame([_customer()]),
        monthly=_monthly("A", [200_000] * 6),
        products=_products(),
        holdings=pd.DataFrame({
            "customer_id": ["A", "A", "A", "A"], "product_code": ["RIVAL", "RIVAL", "OURS", "RIVAL"],
            "amount": [200_000, 50_000, 30_000, 70_000],
            "start_on": pd.to_datetime(["2025-04-01", "2025-05-01", "2025-05-01", "2025-07-01"]),  # last: future
            "maturity_on": pd.to_datetime(["2025-07-06", "2025-07-25", "2025-07-20", "2025-07-03"]),
        }),
        surveys=pd.DataFrame({"customer_id": ["A", "A", "A"], "score": [9, 4, 1],
                              "surveyed_on": pd.to_datetime(["2025-03-01", "2025-06-15", "2025-07-10"])}),
        appointments=pd.DataFrame({"customer_id": ["A", "A"], "kind": ["transfer", "cash_withdrawal"],
                                   "amount": [100_000, 5_000],
                                   "scheduled_on": pd.to_datetime(["2025-07-10", "2025-07-20"])}),
        contacts=pd.DataFrame({"customer_id": ["A"], "contacted_at": pd.to_datetime(["2025-05-31 15:00"]),
                               "channel": ["call"], "result": ["reached"]}),
    )
    row = build_features(frames, as_of=date(2025, 6, 30), tier_floors=FLOORS).loc["A"]
    assert row["competitor_maturing_7d"] == 200_000
    assert row["competitor_maturing_30d"] == 250_000
    assert row["competitor_days_to_maturity"] == 6
    assert row["competitor_next_amount"] == 200_000 and row["competitor_next_kind"] == "wealth"
    assert row["ours_maturing_30d"] == 30_000
    assert row["competitor_holdings_share"] == pytest.approx(250_000 / 200_000)
    assert row["survey_last_score"] == 4 and row["survey_previous_score"] == 9 and row["survey_score_change"] == -5
    assert row["large_withdrawal_amount"] == 100_000  # the 2025-07-20 one is beyond 14 days
    assert row["large_withdrawal_to_aum"] == pytest.approx(0.5)
    assert row["days_to_large_withdrawal"] == 10
    assert row["days_since_contact"] == 30


def _mutate_after(frames: BankFrames, cutoff: pd.Timestamp) -> BankFrames:
    """Scramble everything dated after the cutoff (plus the booking window) and add new future rows."""
    rng = np.random.default_rng(7)
    monthly = frames.monthly.copy()
    later = monthly["month"] > cutoff.to_period("M").to_timestamp()
    for column in ("aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend"):
        monthly.loc[later, column] = rng.uniform(0, 1e6, later.sum())
    monthly.loc[later, "status"] = "closed"
    holdings = frames.holdings.copy()
    future = holdings["start_on"] > cutoff
    holdings.loc[future, "amount"] = 9e6
    surveys = frames.surveys.copy()
    surveys.loc[surveys["surveyed_on"] > cutoff, "score"] = 0
    appointments = frames.appointments.copy()
    far = appointments["scheduled_on"] > cutoff + pd.Timedelta(days=14)
    appointments.loc[far, "amount"] = 5e6
    extra = pd.DataFrame({"customer_id": frames.customers["customer_id"].iloc[:50], "product_code": "CMP-WM-91",
                          "amount": 1e6, "start_on": cutoff + pd.Timedelta(days=1),
                          "maturity_on": cutoff + pd.Timedelta(days=5)})
    return BankFrames(customers=frames.customers, monthly=monthly, products=frames.products,
                      holdings=pd.concat([holdings, extra], ignore_index=True), surveys=surveys,
                      appointments=appointments, contacts=frames.contacts)


@pytest.mark.parametrize("as_of", [date(2025, 3, 31), date(2025, 6, 17)])
def test_changing_data_after_the_cutoff_changes_no_feature(as_of):
    frames = generate_bank(customers=500, months=24, seed=3)
    before = build_features(frames, as_of=as_of, tier_floors=FLOORS)
    after = build_features(_mutate_after(frames, pd.Timestamp(as_of)), as_of=as_of, tier_floors=FLOORS)
    pd.testing.assert_frame_equal(before, after)


def test_one_row_per_customer_in_the_fixed_column_order():
    frames = generate_bank(customers=300, months=12, seed=4)
    features = build_features(frames, as_of=date(2025, 12, 31), tier_floors=FLOORS)
    assert len(features) == 300 and features.index.is_unique
    assert list(features.columns[: len(FEATURE_COLUMNS)]) == FEATURE_COLUMNS


def test_customer_without_a_current_month_is_flagged_not_dropped():
    frames = BankFrames(customers=pd.DataFrame([_customer("A"), _customer("B")]),
                        monthly=_monthly("A", [10_000] * 3))
    features = build_features(frames, as_of=date(2025, 3, 31), tier_floors=FLOORS)
    assert bool(features.loc["A", "has_current_month"]) and not bool(features.loc["B", "has_current_month"])


def test_data_month_is_the_last_complete_month_or_the_latest_export_if_that_one_is_late():
    assert data_month_for(date(2025, 12, 1), date(2025, 11, 1)) == pd.Timestamp("2025-11-01")
    # November's export has not arrived on 1 December: score from October.
    assert data_month_for(date(2025, 12, 1), date(2025, 10, 1)) == pd.Timestamp("2025-10-01")
    # A month still running is never used, even if some rows of it exist.
    assert data_month_for(date(2025, 12, 1), date(2025, 12, 1)) == pd.Timestamp("2025-11-01")
    assert data_month_for(date(2025, 12, 1), None) is None


def test_a_late_export_scores_from_the_latest_month_with_events_up_to_the_date():
    aums = [100_000, 120_000, 150_000, 140_000, 130_000, 120_000, 110_000, 102_000]  # Jan..Aug
    holdings = pd.DataFrame({"customer_id": ["A"], "product_code": ["RIVAL"], "amount": [50_000.0],
                             "start_on": [pd.Timestamp("2025-06-01")], "maturity_on": [pd.Timestamp("2025-10-10")]})
    frames = BankFrames(customers=pd.DataFrame([_customer()]), monthly=_monthly("A", aums), products=_products(),
                        holdings=holdings)
    # On 3 October September's balances are not in yet: August's are used...
    late = build_features(frames, as_of=date(2025, 10, 3), tier_floors=FLOORS, data_month=date(2025, 8, 1))
    at_month_end = build_features(frames, as_of=date(2025, 8, 31), tier_floors=FLOORS)
    assert bool(late.loc["A", "has_current_month"])
    monthly_features = ["aum", "aum_change_1m", "aum_change_3m", "aum_drop_from_peak", "months_since_peak"]
    pd.testing.assert_series_equal(late.loc["A", monthly_features], at_month_end.loc["A", monthly_features])
    # ...while the events are as of the date: the rival product now matures in 7 days (40 at August's end).
    assert late.loc["A", "competitor_days_to_maturity"] == 7
    assert late.loc["A", "competitor_maturing_7d"] == 50_000
    assert np.isnan(at_month_end.loc["A", "competitor_days_to_maturity"])
    # Without a data month the same date finds no balances for September: nobody would be scored.
    assert not bool(build_features(frames, as_of=date(2025, 10, 3), tier_floors=FLOORS).loc["A", "has_current_month"])


def test_month_end_against_the_daily_average_and_spend_against_the_balance():
    monthly = _monthly("A", [100_000] * 4 + [200_000])
    monthly["aum_month_avg"] = [100_000, 100_000, 100_000, 100_000, 80_000]
    monthly["card_spend"] = [10_000, 10_000, 10_000, 10_000, 40_000]
    frames = BankFrames(customers=pd.DataFrame([_customer()]), monthly=monthly)
    row = build_features(frames, as_of=date(2025, 5, 31), tier_floors=FLOORS).loc["A"]
    assert row["month_end_to_daily_avg"] == pytest.approx(2.5)  # parked for the month-end
    assert row["month_end_to_daily_avg_change_1m"] == pytest.approx(1.5)
    assert row["daily_avg_change_1m"] == pytest.approx(-0.2)
    assert row["card_spend_to_aum"] == pytest.approx(0.5)  # against the daily average where there is one
    assert row["card_spend_to_aum_change_3m"] == pytest.approx(0.4)


def test_features_needing_more_history_than_exists_are_missing_not_errors():
    frames = BankFrames(customers=pd.DataFrame([_customer()]), monthly=_monthly("A", [100_000]))  # one month
    row = build_features(frames, as_of=date(2025, 1, 31), tier_floors=FLOORS).loc["A"]
    assert row["aum"] == 100_000
    for name in ("aum_change_1m", "aum_change_3m", "aum_change_6m", "card_spend_trend", "month_end_to_daily_avg",
                 "daily_avg_change_1m"):
        assert np.isnan(row[name]), name


def test_months_of_history_is_context_not_a_model_input():
    assert "months_of_history" not in FEATURE_COLUMNS
