from __future__ import annotations

import numpy as np
import pytest

from churn.labels import labelled_month_ends
from churn.training import (
    GRADIENT_BOOSTING,
    HELD_OUT_CUSTOMERS,
    LOGISTIC,
    RULE,
    TIME_SPLIT,
    ArtifactError,
    LogisticModel,
    RuleModel,
    TrainingRefused,
    build_training_rows,
    cap_fit_rows,
    choose_champion,
    load_artifact,
    plan_periods,
    save_artifact,
    split_periods,
    split_rows,
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


def _rows_of(months: int, customers: int = 400, seed: int = 3):
    frames = generate_bank(customers=customers, months=months, seed=seed)
    month_ends = labelled_month_ends(frames.monthly, window_months=3)
    rows = build_training_rows(frames, month_ends=month_ends, window_months=3, aum_drop_ratio=0.5,
                               min_avg_aum=1_000, tier_floors=FLOORS)
    first = frames.monthly["month"].min().date()
    return rows, plan_periods(month_ends, window_months=3, first_month=first)


def test_too_few_month_ends_for_a_time_split_hold_customers_out_grouped_and_stratified():
    rows, periods = _rows_of(7)
    assert periods.method == HELD_OUT_CUSTOMERS and periods.evaluation == max(rows["as_of"])
    split = split_rows(rows, periods)
    evaluated = set(rows.loc[split.evaluation, "customer_id"])
    # Grouped: no customer held out for the evaluation is learnt from at any month-end.
    assert not evaluated & set(rows.loc[split.fit | split.calibration, "customer_id"])
    assert (rows.loc[split.evaluation, "as_of"] == periods.evaluation).all()
    latest = rows[rows["as_of"] == periods.evaluation]
    # Stratified: the held-out customers churn at the month-end's own rate.
    assert rows.loc[split.evaluation, "churned"].mean() == pytest.approx(latest["churned"].mean(), abs=0.03)


def test_enough_month_ends_use_the_time_split_on_seasoned_month_ends():
    rows, periods = _rows_of(24, customers=50)
    assert periods.method == TIME_SPLIT and min(periods.fit) >= sorted(rows["as_of"].unique())[5]


def test_capping_the_fit_rows_keeps_every_churner_and_the_calibration_and_evaluation_rows():
    rows, periods = _rows_of(7)
    split = split_rows(rows, periods)
    capped = cap_fit_rows(rows, split, cap=300)
    churned = rows["churned"].to_numpy()
    assert capped.fit.sum() == max(300, (split.fit & churned).sum())
    assert (capped.fit & churned).sum() == (split.fit & churned).sum()
    assert (capped.evaluation == split.evaluation).all() and (capped.calibration == split.calibration).all()


def test_the_model_scores_only_if_it_beats_both_baselines_beyond_the_interval():
    rng = np.random.default_rng(0)
    y = rng.random(3000) < 0.2
    good = y * 1.0 + rng.normal(0, 0.5, 3000)
    noise = rng.random(3000)
    winner, gate = choose_champion(y, {GRADIENT_BOOSTING: good, LOGISTIC: noise, RULE: noise})
    assert winner == GRADIENT_BOOSTING and gate["lead_interval"][LOGISTIC][0] > 0
    # As good as a baseline, not better: the simpler baseline scores (the rule before the logistic model).
    winner, gate = choose_champion(y, {GRADIENT_BOOSTING: good, LOGISTIC: good, RULE: good})
    assert winner == RULE and not gate["model_beats_baselines"]
    winner, _ = choose_champion(y, {GRADIENT_BOOSTING: noise, LOGISTIC: good, RULE: noise})
    assert winner == LOGISTIC


def test_each_baseline_explains_itself_additively(trained):
    rows = trained.evaluation_rows
    fit = rows.sample(frac=0.5, random_state=0)
    logistic = LogisticModel.fit(fit, fit)
    contributions, bias = logistic.contributions(rows)
    np.testing.assert_allclose(bias + contributions.sum(axis=1), logistic.logit(rows), atol=1e-9)
    rule = RuleModel.fit(fit, fit)
    contributions, bias = rule.contributions(rows)
    assert rule.features == ["aum_change_3m"] and contributions.shape == (len(rows), 1)
    np.testing.assert_allclose(1 / (1 + np.exp(-(bias + contributions[:, 0]))), rule.predict_proba(rows),
                               rtol=1e-3)
    flagged = (rows["aum_change_3m"] < -0.3).to_numpy()
    assert (contributions[flagged, 0] > 0).all() and (contributions[~flagged, 0] == 0).all()


def test_no_churner_is_refused_in_one_sentence():
    rows, periods = _rows_of(7)
    rows["churned"] = False
    with pytest.raises(TrainingRefused, match="^no customer churned after any labelled month-end") as refused:
        train_and_evaluate(rows, window_months=3, periods=periods)
    assert refused.value.code == "no_churners"
