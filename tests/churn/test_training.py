from __future__ import annotations

import pytest

from churn.labels import labelled_month_ends
from churn.training import (
    ArtifactError,
    build_training_rows,
    load_artifact,
    save_artifact,
    split_periods,
    train_and_evaluate,
)
from demo.synthetic import generate_bank

FLOORS = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}


@pytest.fixture(scope="module")
def trained():
    frames = generate_bank(customers=1500, months=24, seed=11)
    month_ends = labelled_month_ends(frames.monthly, window_months=3)[6:]
    rows = build_training_rows(frames, month_ends=month_ends, window_months=3, aum_drop_ratio=0.5,
                               min_avg_aum=1_000, tier_floors=FLOORS)
    return train_and_evaluate(rows, window_months=3, params={"max_iter": 60})


def test_time_split_never_trains_on_labels_unknown_at_evaluation():
    month_ends = labelled_month_ends(generate_bank(customers=20, months=24).monthly, window_months=3)
    periods = split_periods(month_ends, window_months=3)
    assert periods.evaluation == max(month_ends)
    assert periods.calibration < periods.evaluation and all(d < periods.calibration for d in periods.fit)
    # The calibration month's window (3 months) ends by the evaluation month-end.
    assert (periods.evaluation.year * 12 + periods.evaluation.month) - (
        periods.calibration.year * 12 + periods.calibration.month) >= 3


def test_gradient_boosting_beats_the_rule_and_logistic_baselines(trained):
    model, rule = trained.metrics, trained.baselines["rule_aum_drop_30pct_3m"]
    assert model["roc_auc"] > rule["roc_auc"] + 0.1
    assert model["pr_auc"] > rule["pr_auc"]
    assert model["lift_top10"] > rule["lift_top10"]
    assert model["pr_auc"] >= trained.baselines["logistic_regression"]["pr_auc"] - 0.02
    assert len(model["calibration"]) == 10 and len(model["lift_curve"]) == 20
    assert model["feature_importance"][0]["importance"] > 0


def test_model_file_round_trip_and_checksum_mismatch_refuses_to_load(trained, tmp_path):
    path, sha256 = save_artifact(trained.model, directory=tmp_path, name="m.pkl")
    loaded = load_artifact(path, sha256=sha256)
    rows = trained.evaluation_rows.head(50)
    assert (loaded.predict_proba(rows) == trained.model.predict_proba(rows)).all()
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, no temp left behind
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        load_artifact(path, sha256=sha256)
    with pytest.raises(ArtifactError):
        load_artifact(tmp_path / "missing.pkl", sha256=sha256)
