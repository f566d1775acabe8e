"""Training rows, the churn model, its evaluation and its file. No Django here:
the management command and ``churn.services`` supply settings, paths and rows.

Time split (never random): labels for month-end ``t`` are known only at
``t + window``. The evaluation month-end is the latest fully labelled one, ``T``;
the model may only learn from month-ends whose labels were known by ``T``
(``t <= T - window``), exactly as if it had been trained on day ``T``. The
latest of those is held out to calibrate probabilities (Platt scaling), the
rest fit the trees.

A bank with a few months of exports has too few month-ends for that. Then every
labelled month-end is used and customers are held out instead: a stratified
share of the latest month-end's customers, with all their rows, is never learnt
from and is the evaluation ("evaluated on held-out customers, not on a later
period"; ``plan_periods``, ``split_rows``).

Three models are fitted on the same rows and evaluated on the same rows: the
gradient-boosted trees and two simple baselines, a logistic regression and the
one-line rule. The trees score the customers only if they beat both baselines by
PR AUC with its bootstrap interval (``choose_champion``); otherwise the best
baseline does, saved and explained the same way.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from churn.explain import TreePathExplainer
from churn.features import FEATURE_COLUMNS, BankFrames, build_features
from churn.labels import build_labels
from churn.progress import TrainingProgress, TrainingStep, no_progress
from churn.segments import assign_segments

FORMAT_VERSION = 1
ALGORITHM = "sklearn HistGradientBoostingClassifier + Platt calibration; path attributions"
# 100 trees of 15 leaves: on the 20k demo bank's evaluation month ROC AUC 0.819 / PR AUC 0.567
# against 0.820 / 0.572 for 200 trees of 31 leaves, at 2.5 times less CPU per customer to
# predict and explain (5.9 against 14.5 us), which a million-customer night pays every night.
DEFAULT_PARAMS = {
    "max_iter": 100,
    "learning_rate": 0.12,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "random_state": 0,
}
RULE_DROP = -0.30  # the one-line rule: AUM fell more than 30% in 3 months
# Inputs of models trained before they were dropped, kept in the training rows so that the
# active model can still be evaluated against a new one on the same rows.
LEGACY_INPUTS = ["months_of_history"]


class ArtifactError(Exception):
    """The model file is missing, altered, or of a format this code cannot read."""


# --- training rows -------------------------------------------------------------------------------


def build_training_rows(
    frames: BankFrames,
    *,
    month_ends: list[date],
    window_months: int,
    aum_drop_ratio: float,
    min_avg_aum: float,
    tier_floors: dict[str, float],
    progress: TrainingProgress = no_progress,
) -> pd.DataFrame:
    """Features as of each month-end joined to the label of the window after it.

    Only labelled (eligible) customers appear. Columns: ``FEATURE_COLUMNS``,
    ``customer_id``, ``as_of``, ``churned``.
    """
    labels = build_labels(
        frames.monthly, month_ends=month_ends, window_months=window_months, aum_drop_ratio=aum_drop_ratio,
        min_avg_aum=min_avg_aum, tier_floors=tier_floors,
    )
    parts = []
    for index, as_of in enumerate(month_ends):
        progress(TrainingStep.FEATURES, index, len(month_ends))
        these = labels[labels["as_of"] == as_of]
        if these.empty:
            continue
        # Segment as the rules would have assigned it at the time, not today's.
        customers = frames.customers.copy()
        customers["segment"] = assign_segments(frames, as_of=as_of).reindex(customers["customer_id"]).to_numpy()
        features = build_features(replace(frames, customers=customers), as_of=as_of, tier_floors=tier_floors)
        rows = features.loc[these["customer_id"].to_numpy(), [*FEATURE_COLUMNS, *LEGACY_INPUTS]].reset_index()
        rows["as_of"] = as_of
        rows["churned"] = these["churned"].to_numpy()
        parts.append(rows)
    if not parts:
        return pd.DataFrame(columns=[*FEATURE_COLUMNS, *LEGACY_INPUTS, "customer_id", "as_of", "churned"])
    return pd.concat(parts, ignore_index=True)


# --- how to split: a later period when the history allows, else held-out customers ---------------

TIME_SPLIT = "time_split"
HELD_OUT_CUSTOMERS = "held_out_customers"
# A time split fits on at least this many month-ends whose labels were known at evaluation
# time, plus one more to calibrate on; with fewer, one month-end of a few months' history
# would teach the model less than the customers held out of the latest month-end.
TIME_SPLIT_MIN_FIT_MONTH_ENDS = 2
# Month-ends with less history than this are left out of a time split when enough remain
# (their 3- and 6-month changes are mostly unknown), kept otherwise.
PREFERRED_HISTORY_MONTHS = 6
HELD_OUT_SHARE = 0.3  # of the latest month-end's customers, for the evaluation
CALIBRATION_SHARE = 0.2  # of the remaining customers, for Platt scaling
MIN_CLASS_ROWS = 5  # churners and non-churners each, in the evaluation rows
BOOTSTRAP_SAMPLES = 200


class TrainingRefused(ValueError):
    """Training cannot go on with this data. ``code`` and ``params`` let the caller word it in
    the reader's language (``churn.reasons.refusal_sentence``); ``str()`` is the English sentence."""

    def __init__(self, code: str, message: str, **params):
        super().__init__(message % params)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Periods:
    fit: list[date]
    calibration: date | None
    evaluation: date
    method: str = TIME_SPLIT


def split_periods(month_ends: list[date], *, window_months: int) -> Periods:
    """Evaluation = latest labelled month-end; training = month-ends labelled by then.

    Raises ``TrainingRefused`` when fewer than ``TIME_SPLIT_MIN_FIT_MONTH_ENDS`` + 1 month-ends
    were labelled by the evaluation month-end (``plan_periods`` then holds customers out instead).
    """
    ordered = sorted(month_ends)
    if not ordered:
        raise TrainingRefused("no_month_ends", "no month-end has a full %(window)s-month churn window after it",
                              window=window_months)
    evaluation = ordered[-1]
    cutoff = (pd.Timestamp(evaluation).to_period("M") - window_months)
    known = [d for d in ordered if pd.Timestamp(d).to_period("M") <= cutoff]
    if len(known) < TIME_SPLIT_MIN_FIT_MONTH_ENDS + 1:
        needed = window_months + TIME_SPLIT_MIN_FIT_MONTH_ENDS + 1
        raise TrainingRefused(
            "time_split", "a time split needs at least %(needed)s labelled month-ends, the data has %(have)s",
            needed=needed, have=len(ordered))
    return Periods(fit=known[:-1], calibration=known[-1], evaluation=evaluation)


def plan_periods(month_ends: list[date], *, window_months: int, first_month: date) -> Periods:
    """Which month-ends to build rows for, and how to evaluate.

    The time split (fit on older month-ends, calibrate on the next, evaluate on the
    latest) whenever the bank's history allows it, preferring month-ends with at least
    ``PREFERRED_HISTORY_MONTHS`` months of history before them. Otherwise every
    labelled month-end is used and the evaluation holds customers out of the latest
    one (``split_rows``): an honest figure for new customers, not for a later period.
    """
    ordered = sorted(month_ends)
    if not ordered:
        raise TrainingRefused("no_month_ends", "no month-end has a full %(window)s-month churn window after it",
                              window=window_months)
    first = pd.Timestamp(first_month).to_period("M")
    seasoned = [d for d in ordered if (pd.Timestamp(d).to_period("M") - first).n + 1 >= PREFERRED_HISTORY_MONTHS]
    for candidates in (seasoned, ordered):
        try:
            return split_periods(candidates, window_months=window_months)
        except TrainingRefused:
            continue
    return Periods(fit=ordered, calibration=None, evaluation=ordered[-1], method=HELD_OUT_CUSTOMERS)


@dataclass
class RowSplit:
    """Boolean masks over the training rows."""

    fit: np.ndarray
    calibration: np.ndarray
    evaluation: np.ndarray


def split_rows(rows: pd.DataFrame, periods: Periods, *, seed: int = 0) -> RowSplit:
    """The rows each part uses. Time split: by month-end. Held-out customers: the latest
    month-end's customers are split into evaluation and the rest, stratified by their
    label there; a customer's rows at every month-end go with the customer (grouped),
    so no one is learnt from and evaluated on. Calibration customers are held out of
    the fit the same way and calibrate on their latest month-end."""
    as_of = rows["as_of"].to_numpy()
    if periods.method == TIME_SPLIT:
        return RowSplit(fit=np.isin(as_of, np.asarray(periods.fit)), calibration=as_of == periods.calibration,
                        evaluation=as_of == periods.evaluation)
    latest = as_of == periods.evaluation
    customers = rows.loc[latest, "customer_id"].to_numpy()
    labels = rows.loc[latest, "churned"].to_numpy(dtype=bool)
    rng = np.random.default_rng(seed)
    evaluation_ids = _stratified_pick(customers, labels, HELD_OUT_SHARE, rng)
    rest = ~np.isin(customers, evaluation_ids)
    calibration_ids = _stratified_pick(customers[rest], labels[rest], CALIBRATION_SHARE, rng)
    who = rows["customer_id"].to_numpy()
    held = np.isin(who, evaluation_ids)
    calibrating = np.isin(who, calibration_ids)
    return RowSplit(fit=~held & ~calibrating, calibration=calibrating & latest, evaluation=held & latest)


def _stratified_pick(ids: np.ndarray, labels: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """About ``share`` of ``ids`` of each label (at least one of each where there are two)."""
    picked = []
    for value in (True, False):
        members = ids[labels == value]
        if len(members):
            take = min(len(members) - 1, max(1, int(round(share * len(members))))) if len(members) > 1 else 0
            picked.append(rng.choice(members, size=take, replace=False))
    return np.concatenate(picked) if picked else np.array([], dtype=ids.dtype)


def check_classes(rows: pd.DataFrame, split: RowSplit, periods: Periods) -> None:
    """Refuse, in one sentence, data on which no honest evaluation is possible."""
    churned = rows["churned"].to_numpy(dtype=bool)
    if not len(rows):
        raise TrainingRefused("no_rows", "no customer is eligible at any labelled month-end "
                                         "(active, with at least the minimum average AUM)")
    if not churned.any():
        raise TrainingRefused("no_churners", "no customer churned after any labelled month-end (%(rows)s rows), "
                                             "so there is nothing to learn", rows=f"{len(rows):,}")
    if churned.all():
        raise TrainingRefused("all_churners", "every customer churned after every labelled month-end "
                                              "(%(rows)s rows), so there is nothing to tell apart",
                              rows=f"{len(rows):,}")
    for name, mask in (("evaluation", split.evaluation), ("fit", split.fit)):
        positives, negatives = int(churned[mask].sum()), int((~churned[mask]).sum())
        if min(positives, negatives) < MIN_CLASS_ROWS:
            raise TrainingRefused(
                "too_few", "too few churners or non-churners to %(part)s on (%(positives)s churners and "
                "%(negatives)s others at %(month)s; at least %(minimum)s of each are needed)",
                part="evaluate" if name == "evaluation" else "learn", positives=positives, negatives=negatives,
                month=periods.evaluation.isoformat(), minimum=MIN_CLASS_ROWS)


def cap_fit_rows(rows: pd.DataFrame, split: RowSplit, *, cap: int, seed: int = 0) -> RowSplit:
    """Sample non-churners of the fit rows down so at most ``cap`` fit rows remain.

    Calibration and evaluation rows are left whole: Platt scaling on untouched rows
    undoes the sampling's shift in base rate.
    """
    if split.fit.sum() <= cap:
        return split
    churned = rows["churned"].to_numpy(dtype=bool)
    negatives = np.flatnonzero(split.fit & ~churned)
    keep = max(cap - int((split.fit & churned).sum()), 1)
    kept = np.random.default_rng(seed).choice(negatives, size=min(keep, len(negatives)), replace=False)
    fit = split.fit & churned
    fit[kept] = True
    return RowSplit(fit=fit, calibration=split.calibration, evaluation=split.evaluation)


# --- the models ----------------------------------------------------------------------------------
#
# Three kinds, one interface (``features``, ``algorithm``, ``predict_proba``, ``logit``,
# ``contributions``), so whichever wins the evaluation is saved, scored and explained
# the same way: contributions add up to the calibrated log-odds.


def _matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    return frame[features].to_numpy(dtype=np.float64, na_value=np.nan)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _platt(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept mapping a margin to calibrated log-odds (identity if one class only)."""
    if len(np.unique(y)) < 2:
        return 1.0, 0.0
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


GRADIENT_BOOSTING = "gradient_boosting"
LOGISTIC = "logistic_regression"
RULE = "rule_aum_drop_30pct_3m"


@dataclass
class ChurnModel:
    """Gradient-boosted trees with Platt scaling.

    Platt scaling is linear in log-odds (``a * margin + b``), so the per-feature
    path attributions, multiplied by ``a``, still add up exactly to the
    calibrated log-odds: the reasons explain the probability shown, not a
    different number.
    """

    features: list[str]
    estimator: HistGradientBoostingClassifier
    slope: float = 1.0
    intercept: float = 0.0
    _explainer: TreePathExplainer | None = field(default=None, repr=False)

    kind = GRADIENT_BOOSTING
    algorithm = ALGORITHM

    @property
    def explainer(self) -> TreePathExplainer:
        if self._explainer is None:
            self._explainer = TreePathExplainer(self.estimator)
        return self._explainer

    def logit(self, frame: pd.DataFrame) -> np.ndarray:
        margin = self.estimator.decision_function(_matrix(frame, self.features))
        return self.slope * margin + self.intercept

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return _sigmoid(self.logit(frame))

    def contributions(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        """Per-feature contributions to the calibrated log-odds, and the bias term.

        ``bias + contributions.sum(axis=1) == logit(frame)``.
        """
        raw = self.explainer.contributions(_matrix(frame, self.features))
        return raw * self.slope, self.explainer.bias * self.slope + self.intercept

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_explainer"] = None  # rebuilt from the trees on first use
        return state


# Amounts span six orders of magnitude; a linear model sees them on a log scale.
_LOG_SCALED = ("aum", "aum_avg_3m", "loan_balance", "card_spend_3m", "aum_above_tier_floor", "ours_maturing_30d",
               "competitor_maturing_7d", "competitor_maturing_30d", "large_withdrawal_amount", "annual_income")


@dataclass
class LogisticModel:
    """Logistic regression on standardised features (the baseline), Platt-calibrated.

    Missing values take the fit rows' median; amounts are log-scaled. A feature's
    contribution is its coefficient times its standardised value (times the Platt
    slope), so contributions plus the bias add up to the calibrated log-odds.
    """

    features: list[str]
    medians: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    coefficients: np.ndarray
    bias: float
    slope: float = 1.0
    intercept: float = 0.0

    kind = LOGISTIC
    algorithm = "sklearn LogisticRegression on standardised features + Platt calibration"

    @classmethod
    def fit(cls, fit_rows: pd.DataFrame, calibration_rows: pd.DataFrame, *,
            features: list[str] | None = None) -> LogisticModel:
        features = [f for f in (features or FEATURE_COLUMNS) if fit_rows[f].notna().any()]
        raw = cls._transform(_matrix(fit_rows, features), features)
        medians = np.nanmedian(raw, axis=0)
        filled = np.where(np.isnan(raw), medians, raw)
        means, scales = filled.mean(axis=0), filled.std(axis=0)
        scales[scales == 0] = 1.0
        y = fit_rows["churned"].to_numpy(dtype=int)
        regression = LogisticRegression(max_iter=1000, C=1.0).fit((filled - means) / scales, y)
        model = cls(features=features, medians=medians, means=means, scales=scales,
                    coefficients=regression.coef_[0].copy(), bias=float(regression.intercept_[0]))
        model.slope, model.intercept = _platt(model._margin(calibration_rows),
                                              calibration_rows["churned"].to_numpy(dtype=int))
        return model

    @staticmethod
    def _transform(matrix: np.ndarray, features: list[str]) -> np.ndarray:
        out = matrix.copy()
        for j, name in enumerate(features):
            if name in _LOG_SCALED:
                out[:, j] = np.sign(out[:, j]) * np.log1p(np.abs(out[:, j]))
        return out

    def _standardised(self, frame: pd.DataFrame) -> np.ndarray:
        raw = self._transform(_matrix(frame, self.features), self.features)
        return (np.where(np.isnan(raw), self.medians, raw) - self.means) / self.scales

    def _margin(self, frame: pd.DataFrame) -> np.ndarray:
        return self._standardised(frame) @ self.coefficients + self.bias

    def logit(self, frame: pd.DataFrame) -> np.ndarray:
        return self.slope * self._margin(frame) + self.intercept

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return _sigmoid(self.logit(frame))

    def contributions(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        return self._standardised(frame) * self.coefficients * self.slope, self.bias * self.slope + self.intercept


def _logit_of(rate: float) -> float:
    rate = min(max(rate, 1e-4), 1 - 1e-4)
    return float(np.log(rate / (1 - rate)))


@dataclass
class RuleModel:
    """The one-line rule: AUM fell more than 30% in 3 months. Its probability is the churn
    rate of flagged / unflagged customers on the calibration rows; its only reason is that
    one feature (the flag moves the log-odds from the unflagged rate to the flagged one)."""

    rate_flagged: float
    rate_other: float
    features: list[str] = field(default_factory=lambda: ["aum_change_3m"])

    kind = RULE
    algorithm = "rule: AUM down more than 30% in 3 months"

    @classmethod
    def fit(cls, fit_rows: pd.DataFrame, calibration_rows: pd.DataFrame) -> RuleModel:
        rows = calibration_rows if len(np.unique(calibration_rows["churned"])) == 2 else fit_rows
        flagged = cls._flagged(rows)
        y = rows["churned"].to_numpy(dtype=float)
        other = float(y[~flagged].mean()) if (~flagged).any() else float(y.mean())
        return cls(rate_flagged=float(y[flagged].mean()) if flagged.any() else max(other, 0.5), rate_other=other)

    @staticmethod
    def _flagged(frame: pd.DataFrame) -> np.ndarray:
        return (frame["aum_change_3m"] < RULE_DROP).to_numpy(dtype=bool)

    def logit(self, frame: pd.DataFrame) -> np.ndarray:
        return np.where(self._flagged(frame), _logit_of(self.rate_flagged), _logit_of(self.rate_other))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.where(self._flagged(frame), self.rate_flagged, self.rate_other)

    def contributions(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        step = _logit_of(self.rate_flagged) - _logit_of(self.rate_other)
        return np.where(self._flagged(frame), step, 0.0)[:, None], _logit_of(self.rate_other)


ScoringModel = ChurnModel | LogisticModel | RuleModel


def fit_churn_model(
    fit_rows: pd.DataFrame, calibration_rows: pd.DataFrame, *, params: dict | None = None,
    features: list[str] | None = None, progress: TrainingProgress = no_progress,
) -> ChurnModel:
    # A feature never observed in training (e.g. no contact log yet) cannot be binned; leave it out.
    features = [f for f in (features or FEATURE_COLUMNS) if fit_rows[f].notna().any()]
    settings = {**DEFAULT_PARAMS, **(params or {})}
    # A small bank (a few thousand rows) cannot fill leaves of 100 customers and still split.
    settings["min_samples_leaf"] = max(5, min(int(settings["min_samples_leaf"]), len(fit_rows) // 50))
    estimator = HistGradientBoostingClassifier(**settings, early_stopping=False)
    X, y = _matrix(fit_rows, features), fit_rows["churned"].to_numpy(dtype=int)
    # Grown a few trees at a time (warm start: the same trees as one fit) to show progress.
    total = int(estimator.max_iter)
    estimator.set_params(warm_start=True)
    for trees in sorted({*range(max(1, total // 8), total, max(1, total // 8)), total}):
        estimator.set_params(max_iter=trees)
        estimator.fit(X, y)
        progress(TrainingStep.FITTING, trees, total)
    estimator.set_params(warm_start=False)
    model = ChurnModel(features=features, estimator=estimator)
    margin = estimator.decision_function(_matrix(calibration_rows, features))
    model.slope, model.intercept = _platt(margin, calibration_rows["churned"].to_numpy(dtype=int))
    return model


def fit_logistic_baseline(fit_rows: pd.DataFrame, calibration_rows: pd.DataFrame | None = None, *,
                          features: list[str] | None = None) -> LogisticModel:
    return LogisticModel.fit(fit_rows, fit_rows if calibration_rows is None else calibration_rows, features=features)


def fit_rule_baseline(fit_rows: pd.DataFrame, calibration_rows: pd.DataFrame | None = None) -> RuleModel:
    return RuleModel.fit(fit_rows, fit_rows if calibration_rows is None else calibration_rows)


# --- evaluation ----------------------------------------------------------------------------------


def evaluate(y_true: np.ndarray, probability: np.ndarray) -> dict:
    """Ranking, calibration and top-k figures, JSON-ready."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(probability, dtype=float)
    n, positives = len(y), int(y.sum())
    base_rate = positives / n if n else 0.0
    metrics: dict = {"n": n, "positives": positives, "base_rate": round(base_rate, 5)}
    both = 0 < positives < n
    metrics["roc_auc"] = round(float(roc_auc_score(y, p)), 5) if both else None
    metrics["pr_auc"] = round(float(average_precision_score(y, p)), 5) if both else None
    metrics["brier"] = round(float(brier_score_loss(y, p)), 5) if n else None
    # Rank by probability; ties broken by a fixed random order so a rule's flat scores are not favoured.
    order = np.lexsort((np.random.default_rng(0).random(n), -p))
    hits = np.cumsum(y[order])
    lift_curve: list[dict[str, Any]] = []  # JSON, stored with the version's metrics
    for share in [0.05 * i for i in range(1, 21)]:
        k = max(1, int(round(share * n)))
        precision = hits[k - 1] / k
        lift_curve.append({
            "share": round(share, 2), "precision": round(float(precision), 5),
            "recall": round(float(hits[k - 1] / positives), 5) if positives else None,
            "lift": round(float(precision / base_rate), 4) if base_rate else None,
        })
    for share in (0.1, 0.2):
        point = next(pt for pt in lift_curve if abs(pt["share"] - share) < 1e-9)
        pct = int(share * 100)
        metrics[f"precision_top{pct}"] = point["precision"]
        metrics[f"recall_top{pct}"] = point["recall"]
        metrics[f"lift_top{pct}"] = point["lift"]
    metrics["lift_curve"] = lift_curve
    metrics["calibration"] = calibration_table(y, p)
    return metrics


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> list[dict]:
    """Predicted vs observed churn rate in ``bins`` equal-count bins of the prediction."""
    if len(y) == 0:
        return []
    order = np.argsort(p, kind="stable")
    table = []
    for chunk in np.array_split(order, min(bins, len(y))):
        if len(chunk):
            table.append({
                "predicted": round(float(p[chunk].mean()), 5),
                "observed": round(float(y[chunk].mean()), 5),
                "count": int(len(chunk)),
            })
    return table


def bootstrap_pr_auc(y: np.ndarray, scores: dict[str, np.ndarray], *, samples: int = BOOTSTRAP_SAMPLES,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """PR AUC of each model on ``samples`` resamples of the evaluation rows (the same resamples
    for every model, so differences between models are paired)."""
    y = np.asarray(y, dtype=int)
    rng = np.random.default_rng(seed)
    out = {name: np.full(samples, np.nan) for name in scores}
    for b in range(samples):
        pick = rng.integers(0, len(y), len(y))
        if 0 < y[pick].sum() < len(pick):
            for name, p in scores.items():
                out[name][b] = average_precision_score(y[pick], p[pick])
    return out


def _interval(values: np.ndarray) -> list[float | None]:
    values = values[~np.isnan(values)]
    if not len(values):
        return [None, None]
    return [round(float(np.quantile(values, 0.025)), 5), round(float(np.quantile(values, 0.975)), 5)]


def choose_champion(y: np.ndarray, scores: dict[str, np.ndarray]) -> tuple[str, dict]:
    """Which model scores the customers: the gradient-boosted model only if it beats every
    baseline by PR AUC with its interval (the 95% bootstrap interval of the paired
    difference lies above zero); otherwise the baseline with the best PR AUC.

    Returns the winner and the gate's figures: each model's PR AUC interval and the
    interval of the model's lead over each baseline.
    """
    resampled = bootstrap_pr_auc(y, scores)
    point = {name: float(average_precision_score(y, p)) if 0 < np.sum(y) < len(y) else 0.0
             for name, p in scores.items()}
    gate: dict = {"pr_auc": {name: round(value, 5) for name, value in point.items()},
                  "pr_auc_interval": {name: _interval(values) for name, values in resampled.items()},
                  "lead_interval": {}}
    beats_all = True
    for name in scores:
        if name == GRADIENT_BOOSTING:
            continue
        lead = _interval(resampled[GRADIENT_BOOSTING] - resampled[name])
        gate["lead_interval"][name] = lead
        beats_all &= lead[0] is not None and lead[0] > 0
    # On a tie the simpler baseline wins: the rule before the logistic model.
    baselines = sorted((name for name in scores if name != GRADIENT_BOOSTING), key=lambda name: name != RULE)
    best_baseline = max(baselines, key=lambda name: point[name])
    gate["best_baseline"] = best_baseline
    gate["model_beats_baselines"] = bool(beats_all)
    return (GRADIENT_BOOSTING if beats_all else best_baseline), gate


def global_importance(model: ScoringModel, rows: pd.DataFrame, *, sample: int = 20_000) -> list[dict]:
    """Mean absolute contribution per feature (global view for the analyst page only)."""
    if len(rows) > sample:
        rows = rows.sample(sample, random_state=0)
    contributions, _ = model.contributions(rows)
    mean_abs = np.abs(contributions).mean(axis=0)
    order = np.argsort(-mean_abs)
    return [{"feature": model.features[i], "importance": round(float(mean_abs[i]), 6)} for i in order]


@dataclass
class TrainingResult:
    model: ScoringModel  # the champion: what scores the customers if this version goes live
    periods: Periods
    metrics: dict
    baselines: dict
    evaluation_rows: pd.DataFrame
    params: dict
    candidates: dict = field(default_factory=dict)  # every model's headline figures, by kind
    gate: dict = field(default_factory=dict)


def train_and_evaluate(
    rows: pd.DataFrame, *, window_months: int, params: dict | None = None,
    progress: TrainingProgress = no_progress, periods: Periods | None = None,
    max_fit_rows: int | None = None,
) -> TrainingResult:
    """Fit the gradient-boosted model and both baselines on the same rows, evaluate all three
    on the same evaluation rows, and keep the one that may score (``choose_champion``).

    ``periods``: from ``plan_periods`` (default: the time split over ``rows``' month-ends).
    """
    if periods is None:
        periods = split_periods(sorted(rows["as_of"].unique()), window_months=window_months)
    rows = rows.reset_index(drop=True)
    split = split_rows(rows, periods)
    check_classes(rows, split, periods)
    if max_fit_rows is not None:
        split = cap_fit_rows(rows, split, cap=max_fit_rows)
    fit_rows, calibration_rows = rows[split.fit], rows[split.calibration]
    evaluation_rows = rows[split.evaluation]
    y_eval = evaluation_rows["churned"].to_numpy(dtype=int)
    models: dict[str, ScoringModel] = {
        GRADIENT_BOOSTING: fit_churn_model(fit_rows, calibration_rows, params=params, progress=progress)}
    progress(TrainingStep.EVALUATING, 0, 3)  # the logistic baseline
    models[LOGISTIC] = fit_logistic_baseline(fit_rows, calibration_rows)
    progress(TrainingStep.EVALUATING, 1, 3)  # the rule baseline
    models[RULE] = fit_rule_baseline(fit_rows, calibration_rows)
    scores = {name: model.predict_proba(evaluation_rows) for name, model in models.items()}
    evaluations = {name: evaluate(y_eval, p) for name, p in scores.items()}
    champion, gate = choose_champion(y_eval, scores)
    progress(TrainingStep.EVALUATING, 2, 3)  # attributions of the model that scores
    metrics = dict(evaluations[champion])
    metrics["feature_importance"] = global_importance(models[champion], evaluation_rows)
    metrics["champion"] = champion
    metrics["evaluation_method"] = periods.method
    metrics["pr_auc_interval"] = gate["pr_auc_interval"][champion]
    candidates = {name: {**_headline(evaluation), "pr_auc_interval": gate["pr_auc_interval"][name]}
                  for name, evaluation in evaluations.items()}
    metrics["candidates"] = candidates
    metrics["gate"] = gate
    return TrainingResult(
        model=models[champion], periods=periods, metrics=metrics,
        baselines={name: candidates[name] for name in (LOGISTIC, RULE)}, evaluation_rows=evaluation_rows,
        params={**DEFAULT_PARAMS, **(params or {})}, candidates=candidates, gate=gate,
    )


HEADLINE = ("n", "base_rate", "roc_auc", "pr_auc", "brier", "precision_top10", "recall_top10", "lift_top10",
            "precision_top20", "recall_top20", "lift_top20")


def _headline(metrics: dict) -> dict:
    return {key: metrics[key] for key in HEADLINE}


def beats(candidate: dict, incumbent: dict) -> bool:
    """PR AUC decides (churners are rare, so it is the figure that moves with the top of the list);
    ROC AUC breaks a tie."""
    def key(m: dict) -> tuple[float, float]:
        return (m.get("pr_auc") or 0.0, m.get("roc_auc") or 0.0)
    return key(candidate) > key(incumbent)


# --- the model file ------------------------------------------------------------------------------


def save_artifact(model: ScoringModel, *, directory: Path, name: str) -> tuple[Path, str]:
    """Write the model atomically (temp file in the same directory + ``os.replace``).

    Returns the path and the SHA-256 of the file's bytes, to be stored with the
    version and checked on every load.
    """
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    pickle.dump({"format_version": FORMAT_VERSION, "model": model}, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    payload = buffer.getvalue()
    path = directory / name
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path, hashlib.sha256(payload).hexdigest()


def load_artifact(path: Path | str, *, sha256: str) -> ScoringModel:
    """Load a model file, refusing it unless its bytes match the recorded checksum.

    The checksum is verified *before* unpickling: a file that is not exactly the
    one we wrote is never executed.
    """
    try:
        payload = Path(path).read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read model file {path}: {exc}") from exc
    digest = hashlib.sha256(payload).hexdigest()
    if digest != sha256:
        raise ArtifactError(f"model file {path} checksum mismatch: expected {sha256}, got {digest}")
    content = pickle.loads(payload)  # noqa: S301 - only after the checksum matched
    if not isinstance(content, dict) or content.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"model file {path} has format {content.get('format_version')!r}, "
                            f"this code reads {FORMAT_VERSION}")
    return content["model"]
