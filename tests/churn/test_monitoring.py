"""Pure monitoring figures: PSI on known values, realised metrics against scikit-learn, groups."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from churn import monitoring


def test_psi_of_two_known_distributions_matches_the_formula():
    expected = [0.25, 0.25, 0.25, 0.25]
    actual = [0.10, 0.20, 0.30, 0.40]
    by_hand = sum((a - e) * math.log(a / e) for a, e in zip(actual, expected, strict=True))
    assert monitoring.psi(expected, actual) == pytest.approx(by_hand)
    assert monitoring.psi(expected, actual) == pytest.approx(0.228217, abs=1e-6)


def test_psi_of_a_sample_against_its_own_bins_is_zero_and_a_shift_is_not():
    rng = np.random.default_rng(0)
    values = rng.normal(size=20_000)
    reference = monitoring.reference_bins(values)
    assert len(reference["edges"]) == 9
    assert reference["proportions"] == pytest.approx([0.1] * 10, abs=1e-3)
    assert monitoring.psi_against(reference, values) == pytest.approx(0.0, abs=1e-6)
    assert monitoring.psi_against(reference, rng.normal(size=20_000)) < 0.01
    shifted = monitoring.psi_against(reference, rng.normal(loc=1.0, size=20_000))
    assert shifted > 0.25 and monitoring.psi_band(shifted) == "act"


def test_a_mostly_zero_feature_gets_two_bins_and_missing_values_a_bin_of_their_own():
    values = np.array([0.0] * 90 + [1.0] * 10)
    reference = monitoring.reference_bins(values)
    assert reference["edges"] == [0.0]
    assert reference["proportions"] == pytest.approx([0.9, 0.1]) and reference["missing"] == 0.0
    now = np.array([0.0] * 50 + [1.0] * 10 + [np.nan] * 40)
    expected = [0.9, 0.1, 0.0]
    actual = [0.5, 0.1, 0.4]
    assert monitoring.psi_against(reference, now) == pytest.approx(monitoring.psi(expected, actual), abs=1e-5)


@pytest.mark.parametrize(("value", "band"), [(0.0, "stable"), (0.099, "stable"), (0.1, "watch"), (0.25, "watch"),
                                             (0.2501, "act"), (None, None)])
def test_psi_bands_are_the_usual_ones(value, band):
    assert monitoring.psi_band(value) == band


def test_drift_measure_reports_the_score_and_each_watched_feature_with_the_worst_band():
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"aum": rng.lognormal(10, 1, 5_000), "age": rng.integers(20, 80, 5_000).astype(float)})
    score = rng.beta(2, 8, 5_000)
    reference = monitoring.drift_reference(train, probability=score, features=["aum", "age", "absent"])
    assert [f["feature"] for f in reference["features"]] == ["aum", "age"] and reference["rows"] == 5_000
    tonight = pd.DataFrame({"aum": rng.lognormal(10, 1, 3_000), "age": rng.integers(40, 90, 3_000).astype(float)})
    measured = monitoring.drift_measure(reference, frame=tonight, probability=rng.beta(2, 8, 4_000))
    by_feature = {f["feature"]: f for f in measured["features"]}
    assert by_feature["aum"]["band"] == "stable" and by_feature["age"]["band"] == "act"
    assert measured["score_band"] == "stable" and measured["band"] == "act"
    assert measured["scores"] == 4_000 and measured["feature_rows"] == 3_000


def test_top_features_follow_the_importance_and_fall_back_to_the_model_order():
    importance = [{"feature": "b"}, {"feature": "gone"}, {"feature": "a"}, {"feature": "c"}]
    assert monitoring.top_features(importance, model_features=["a", "b", "c"], limit=2) == ["b", "a"]
    assert monitoring.top_features([], model_features=["a", "b", "c"], limit=2) == ["a", "b"]


def test_realised_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(2)
    p = rng.random(2_000)
    y = (rng.random(2_000) < p * 0.5).astype(int)
    figures = monitoring.performance(y, p)
    assert figures["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-5)
    assert figures["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-5)
    assert figures["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-5)
    top = np.argsort(-p)[:200]
    assert figures["lift_top10"] == pytest.approx(y[top].mean() / y.mean(), abs=1e-3)
    assert len(figures["calibration"]) == 10 and sum(b["count"] for b in figures["calibration"]) == 2_000
    lowest = np.sort(p)[:200]
    assert figures["calibration"][0]["predicted"] == pytest.approx(lowest.mean(), abs=1e-5)


def test_a_window_closes_when_the_data_holds_its_last_month():
    assert not monitoring.window_closed(date(2025, 3, 31), latest_data_month=date(2025, 5, 1), window_months=3)
    assert monitoring.window_closed(date(2025, 3, 31), latest_data_month=date(2025, 6, 1), window_months=3)
    assert not monitoring.window_closed(date(2025, 3, 31), latest_data_month=None, window_months=3)


def test_age_bands_and_ages_at_a_date():
    assert list(monitoring.age_band([18, 29.9, 30, 44, 45, 59, 60, np.nan])) == [
        "<30", "<30", "30-44", "30-44", "45-59", "45-59", "60+", "unknown"]
    ages = monitoring.ages_at([date(1990, 6, 30), None], as_of=date(2020, 6, 30))
    assert ages[0] == pytest.approx(30.0, abs=0.01) and np.isnan(ages[1])


def test_group_metrics_count_alert_rate_recall_and_precision_per_group():
    frame = pd.DataFrame({
        "flagged": [True, True, False, False, True, False],
        "churned": [True, False, True, False, True, True],
        "gender": ["F", "F", "F", "M", "M", ""],
        "age_band": ["<30", "<30", "60+", "60+", "60+", "unknown"],
    })
    groups = monitoring.group_metrics(frame)
    women = next(r for r in groups["gender"] if r["group"] == "F")
    assert women == {"group": "F", "n": 3, "flagged": 2, "churned": 2, "alert_rate": pytest.approx(2 / 3, abs=1e-5),
                     "recall": 0.5, "precision": 0.5}
    men = next(r for r in groups["gender"] if r["group"] == "M")
    assert men["recall"] == 1.0 and men["precision"] == 1.0 and men["alert_rate"] == 0.5
    assert [r["group"] for r in groups["gender"]] == ["F", "M", "unknown"]
    unknown_age = next(r for r in groups["age_band"] if r["group"] == "unknown")
    assert unknown_age["precision"] is None and unknown_age["recall"] == 0.0
    assert [r["group"] for r in groups["age_band"]] == ["<30", "60+", "unknown"]
