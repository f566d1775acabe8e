from __future__ import annotations

from datetime import date

import pandas as pd

from churn.labels import build_labels, labelled_month_ends

FLOORS = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}


def _monthly(series: dict[str, list], statuses: dict[str, list] | None = None) -> pd.DataFrame:
    rows = []
    for cid, aums in series.items():
        for i, aum in enumerate(aums):
            if aum is None:
                continue
            status = (statuses or {}).get(cid, ["active"] * len(aums))[i]
            rows.append({"customer_id": cid, "month": pd.Timestamp(2025, 1 + i, 1), "aum": aum, "status": status})
    return pd.DataFrame(rows)


def _labels(monthly, **kw):
    params = {"window_months": 3, "aum_drop_ratio": 0.5, "min_avg_aum": 1_000, "tier_floors": FLOORS}
    params.update(kw)
    result = build_labels(monthly, month_ends=[date(2025, 3, 31)], **params)
    return dict(zip(result["customer_id"], result["churned"], strict=True))


def test_aum_below_half_of_the_three_month_average_is_churn():
    labels = _labels(_monthly({"drop": [40_000, 40_000, 40_000, 30_000, 19_000, 30_000],
                               "dip": [40_000, 40_000, 40_000, 30_000, 21_000, 30_000]}))
    assert labels == {"drop": True, "dip": False}


def test_closing_every_account_is_churn_and_missing_rows_count_as_closed():
    labels = _labels(_monthly(
        {"closed": [40_000] * 6, "gone": [40_000, 40_000, 40_000, None, None, None], "stay": [40_000] * 6},
        {"closed": ["active"] * 4 + ["closed"] * 2},
    ))
    assert labels == {"closed": True, "gone": True, "stay": False}


def test_tier_downgrade_counts_only_if_it_lasts_to_the_end_of_the_window():
    labels = _labels(_monthly({
        "stays_down": [60_000, 60_000, 60_000, 45_000, 46_000, 47_000],
        "recovers": [60_000, 60_000, 60_000, 45_000, 46_000, 55_000],
    }))
    assert labels == {"stays_down": True, "recovers": False}


def test_small_customers_and_incomplete_windows_get_no_label():
    monthly = _monthly({"tiny": [500, 600, 700, 10, 10, 10], "ok": [5_000] * 6})
    assert _labels(monthly) == {"ok": False}
    assert labelled_month_ends(monthly, window_months=3) == [date(2025, 1, 31), date(2025, 2, 28),
                                                            date(2025, 3, 31)]
    late = build_labels(monthly, month_ends=[date(2025, 4, 30)], window_months=3, aum_drop_ratio=0.5,
                        min_avg_aum=1_000, tier_floors=FLOORS)
    assert late.empty


def test_thresholds_are_configurable():
    monthly = _monthly({"c": [40_000, 40_000, 40_000, 30_000, 25_000, 30_000]})
    assert _labels(monthly) == {"c": False}
    assert _labels(monthly, aum_drop_ratio=0.7) == {"c": True}
