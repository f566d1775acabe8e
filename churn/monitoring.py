"""Watching a model after it goes live: drift, realised performance, groups. No Django here.

- **Drift**: the population stability index (PSI) of the score and of the model's
  strongest features, tonight against the training sample. The bins are fixed at
  training time from the sample's deciles (``drift_reference``) and stored with the
  version, so every night is measured against the same bins.
- **Realised performance**: the figures of training (``churn.training.evaluate``:
  ROC AUC, PR AUC, lift@10%, Brier, calibration by decile) on the scores that were
  actually stored at a month-end, once that month-end's churn window has closed.
- **Groups**: alert rate, recall and precision by age band and gender. A pandas
  groupby does what fairlearn's ``MetricFrame`` would for these three ratios, without
  a dependency that pulls in its own plotting and optimisation stack.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from churn.training import evaluate

PSI_BINS = 10
# The usual reading of a PSI: below 0.1 nothing to see, up to 0.25 keep an eye on it, above: act.
PSI_STABLE_BELOW = 0.10
PSI_ACT_ABOVE = 0.25
# A proportion of zero in either sample would make the PSI infinite; this floor is the usual fix.
PSI_FLOOR = 1e-4
DRIFT_TOP_FEATURES = 10
# Realised ROC AUC this far below training suggests a retrain.
ROC_AUC_DROP = 0.05
AGE_BANDS = ((0, 30, "<30"), (30, 45, "30-44"), (45, 60, "45-59"), (60, 200, "60+"))
UNKNOWN = "unknown"

BAND_STABLE, BAND_WATCH, BAND_ACT = "stable", "watch", "act"
BAND_ORDER = {BAND_STABLE: 0, BAND_WATCH: 1, BAND_ACT: 2}


# --- drift ---------------------------------------------------------------------------------------


def psi_band(value: float | None) -> str | None:
    if value is None:
        return None
    if value < PSI_STABLE_BELOW:
        return BAND_STABLE
    return BAND_WATCH if value <= PSI_ACT_ABOVE else BAND_ACT


def worst_band(bands) -> str | None:
    known = [b for b in bands if b is not None]
    return max(known, key=BAND_ORDER.__getitem__) if known else None


def reference_bins(values, *, bins: int = PSI_BINS) -> dict:
    """Bin edges from the quantiles of ``values`` and each bin's share, plus the missing share.

    Bins are closed on the right: ``(-inf, e1], (e1, e2], ..., (ek, inf)``. Repeated
    quantiles (a feature that is mostly 0) collapse into one edge, so a binary
    feature gets two bins, not ten empty ones.
    """
    v = np.asarray(values, dtype=float)
    present = v[~np.isnan(v)]
    if len(present):
        # Edges are observed values (not interpolated), so a 0/1 feature splits at 0, not at 0.1.
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1], method="inverted_cdf"))
    else:
        edges = np.array([])
    return {"edges": [float(e) for e in edges], **_shares(v, edges)}


def _shares(v: np.ndarray, edges: np.ndarray) -> dict:
    missing = np.isnan(v)
    n = len(v)
    counts = np.bincount(np.searchsorted(edges, v[~missing], side="left"), minlength=len(edges) + 1)
    return {
        "proportions": [float(c / n) for c in counts] if n else [0.0] * (len(edges) + 1),
        "missing": float(missing.sum() / n) if n else 0.0,
    }


def psi(expected: list[float], actual: list[float], *, floor: float = PSI_FLOOR) -> float:
    """Population stability index: sum over bins of (actual - expected) x ln(actual / expected)."""
    e = np.maximum(np.asarray(expected, dtype=float), floor)
    a = np.maximum(np.asarray(actual, dtype=float), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_against(reference: dict, values) -> float | None:
    """PSI of ``values`` against a ``reference_bins`` result (the missing share is a bin of its own)."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return None
    now = _shares(v, np.asarray(reference["edges"], dtype=float))
    expected = [*reference["proportions"], reference["missing"]]
    actual = [*now["proportions"], now["missing"]]
    return round(psi(expected, actual), 5)


def drift_reference(frame: pd.DataFrame, *, probability, features: list[str]) -> dict:
    """What drift is measured against, taken from the training sample when a version is saved.

    ``frame``: the training sample's feature rows; ``probability``: the model's scores
    of those rows; ``features``: the features to watch (the strongest first).
    """
    return {
        "rows": int(len(frame)),
        "score": reference_bins(probability),
        # A list, not a dict keyed by name: PostgreSQL's jsonb does not keep key order.
        "features": [{"feature": name, **reference_bins(frame[name].to_numpy(dtype=float, na_value=np.nan))}
                     for name in features if name in frame.columns],
    }


def drift_measure(reference: dict, *, frame: pd.DataFrame, probability) -> dict:
    """Tonight's PSI of the score and of each watched feature, with their bands.

    ``frame``: tonight's feature rows (a sample will do); ``probability``: tonight's scores.
    """
    score_psi = psi_against(reference["score"], probability)
    features = []
    for bins in reference.get("features", []):
        name = bins["feature"]
        if name not in frame.columns:
            continue
        value = psi_against(bins, frame[name].to_numpy(dtype=float, na_value=np.nan))
        features.append({"feature": name, "psi": value, "band": psi_band(value)})
    bands = [psi_band(score_psi), *(f["band"] for f in features)]
    return {
        "score_psi": score_psi, "score_band": psi_band(score_psi), "features": features,
        "band": worst_band(bands), "scores": int(len(np.asarray(probability))), "feature_rows": int(len(frame)),
    }


def top_features(feature_importance: list[dict], *, model_features: list[str],
                 limit: int = DRIFT_TOP_FEATURES) -> list[str]:
    """The ``limit`` strongest features by the model's global importance (all of them in
    model order when no importance was stored)."""
    ranked = [item["feature"] for item in feature_importance if item.get("feature") in model_features]
    return (ranked or list(model_features))[:limit]


# --- realised performance --------------------------------------------------------------------------

HEADLINE = ("n", "positives", "base_rate", "roc_auc", "pr_auc", "brier", "lift_top10", "precision_top10",
            "recall_top10")


def performance(y_true, probability) -> dict:
    """The training figures on realised labels: headline metrics and the calibration table (deciles)."""
    metrics = evaluate(np.asarray(y_true, dtype=int), np.asarray(probability, dtype=float))
    return {**{key: metrics[key] for key in HEADLINE}, "calibration": metrics["calibration"]}


def window_closed(month_end: date, *, latest_data_month: date | None, window_months: int) -> bool:
    """A month-end's churn window has closed once the data holds the window's last month."""
    if latest_data_month is None:
        return False
    return pd.Timestamp(month_end).to_period("M") + window_months <= pd.Timestamp(latest_data_month).to_period("M")


# --- groups ----------------------------------------------------------------------------------------


def age_band(age) -> np.ndarray:
    """Age in years -> "<30", "30-44", "45-59", "60+" ("unknown" when missing)."""
    a = np.asarray(age, dtype=float)
    out = np.full(a.shape, UNKNOWN, dtype=object)
    for low, high, label in AGE_BANDS:
        out[(a >= low) & (a < high)] = label
    return out


def ages_at(birth_dates, *, as_of: date) -> np.ndarray:
    born = pd.to_datetime(pd.Series(birth_dates), errors="coerce")
    return ((pd.Timestamp(as_of) - born).dt.days / 365.25).to_numpy(dtype=float, na_value=np.nan)


def group_metrics(frame: pd.DataFrame, *, by: tuple[str, ...] = ("age_band", "gender")) -> dict:
    """Alert rate, recall and precision per group, for each column of ``by``.

    ``frame``: one row per customer with ``flagged`` (in the medium or high band),
    ``churned`` and the group columns. Recall is the share of churners flagged,
    precision the share of flagged who churned; None where the group has none to divide by.
    """
    out: dict[str, list[dict]] = {}
    flagged = frame["flagged"].astype(bool)
    churned = frame["churned"].astype(bool)
    parts = pd.DataFrame({"flagged": flagged, "churned": churned, "hit": flagged & churned})
    for column in by:
        keys = frame[column].fillna(UNKNOWN).replace("", UNKNOWN).astype(str)
        sums = parts.groupby(keys.to_numpy()).agg(n=("flagged", "size"), flagged=("flagged", "sum"),
                                                  churned=("churned", "sum"), hit=("hit", "sum"))
        rows = []
        for group, row in sums.iterrows():
            n, f, c, h = int(row["n"]), int(row["flagged"]), int(row["churned"]), int(row["hit"])
            rows.append({
                "group": str(group), "n": n, "flagged": f, "churned": c,
                "alert_rate": round(f / n, 5) if n else None,
                "recall": round(h / c, 5) if c else None,
                "precision": round(h / f, 5) if f else None,
            })
        out[column] = sorted(rows, key=lambda r: _group_order(column, r["group"]))
    return out


def _group_order(column: str, group: str) -> tuple[int, str]:
    if column == "age_band":
        labels = [label for _, _, label in AGE_BANDS]
        return (labels.index(group) if group in labels else len(labels), group)
    return (1 if group == UNKNOWN else 0, group)


def group_gaps(groups: dict) -> list[dict]:
    """Where groups differ enough to mention on the model card: per grouping, the spread of the
    alert rate (highest / lowest) and of recall (highest - lowest), groups of 30 or more only."""
    gaps = []
    for column, rows in groups.items():
        sizeable = [r for r in rows if r["n"] >= 30 and r["group"] != UNKNOWN]
        rates = [r["alert_rate"] for r in sizeable if r["alert_rate"]]
        recalls = [r["recall"] for r in sizeable if r["recall"] is not None]
        gaps.append({
            "by": column,
            "alert_rate_ratio": round(max(rates) / min(rates), 3) if len(rates) >= 2 else None,
            "recall_gap": round(max(recalls) - min(recalls), 3) if len(recalls) >= 2 else None,
        })
    return gaps
