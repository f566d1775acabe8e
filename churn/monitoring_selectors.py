"""Reads for watching a model after it goes live: the rows the monitoring services need,
and what the analyst page, the model card and the API show (JSON-ready dicts)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from churn import conf
from churn.models import ChurnScore, ModelDrift, ModelPerformance, ModelReference, ModelVersion, ModelWarning
from churn.monitoring import ROC_AUC_DROP, group_gaps, window_closed
from churn.selectors import _read_frame

_MONTH_END_SCORES_SQL = """
    SELECT s.customer_id, s.model_version_id, s.probability, s.risk_band, c.branch_id, c.gender, c.birth_date
    FROM churn_churnscore s JOIN customers_customer c ON c.id = s.customer_id
    WHERE s.scored_on = %s AND s.is_month_end
"""
_NIGHT_SCORES_SQL = """
    SELECT customer_id, probability FROM churn_churnscore
    WHERE scored_on = %s AND model_version_id = %s ORDER BY customer_id
"""
_MONTHLY_SQL = """
    SELECT customer_id, month, aum, status FROM customers_monthlybalance WHERE month >= %s AND month <= %s
"""


def month_end_score_frame(*, month_end: date) -> pd.DataFrame:
    """The scores stored at ``month_end`` with each customer's branch, gender and birth date."""
    return _read_frame(_MONTH_END_SCORES_SQL, [month_end], [
        "customer_id", "model_version_id", "probability", "risk_band", "branch_id", "gender", "birth_date",
    ])


def night_score_frame(*, run_date: date, model_version_id: int) -> pd.DataFrame:
    """Every score ``model_version_id`` gave on ``run_date`` (customer_id, probability), by customer."""
    return _read_frame(_NIGHT_SCORES_SQL, [run_date, model_version_id], ["customer_id", "probability"])


def monthly_status_frame(*, first_month: date, last_month: date) -> pd.DataFrame:
    """AUM and status of every customer for the months ``first_month..last_month`` (what labels need)."""
    return _read_frame(_MONTHLY_SQL, [first_month, last_month], ["customer_id", "month", "aum", "status"])


def month_ends_scored() -> list[date]:
    """Month-ends with stored scores, oldest first."""
    return sorted(ChurnScore.objects.filter(is_month_end=True).order_by().values_list("scored_on", flat=True)
                  .distinct())


def month_ends_closed_unmeasured(*, latest_data_month: date | None) -> list[date]:
    """Month-ends whose scores are stored and whose churn window has closed, not yet measured."""
    window = conf.window_months()
    measured = set(ModelPerformance.objects.filter(branch=None).values_list("month_end", flat=True))
    return [day for day in month_ends_scored()
            if day not in measured and window_closed(day, latest_data_month=latest_data_month, window_months=window)]


def customer_groups_frame(*, customer_ids: list[int]) -> pd.DataFrame:
    """Gender and birth date of ``customer_ids`` (for the group figures of a training sample)."""
    from customers.models import Customer

    rows: list[tuple] = []
    for start in range(0, len(customer_ids), 5_000):
        rows.extend(Customer.objects.filter(pk__in=customer_ids[start:start + 5_000])
                    .values_list("pk", "gender", "birth_date"))
    return pd.DataFrame(rows, columns=["customer_id", "gender", "birth_date"])


# --- what the pages and the API show -------------------------------------------------------------


def _training_figures(version: ModelVersion) -> dict:
    metrics = version.metrics or {}
    return {key: metrics.get(key) for key in ("n", "base_rate", "roc_auc", "pr_auc", "brier", "lift_top10")}


def _performance_row(row: ModelPerformance) -> dict:
    branch = row.branch
    return {
        "month_end": row.month_end.isoformat(), "branch": branch.code if branch is not None else None,
        "branch_name": branch.name if branch is not None else None, "n": row.n, "positives": row.positives,
        "roc_auc": row.roc_auc, "pr_auc": row.pr_auc, "lift_top10": row.lift_top10, "brier": row.brier,
        "calibration": row.calibration,
    }


def _warning_row(row: ModelWarning) -> dict:
    return {"kind": row.kind, "subject": row.subject, "level": row.level,
            "first_seen": row.first_seen.isoformat(), "detail": row.detail}


def model_warnings_of_active_version() -> list[dict]:
    """The active version's recorded warnings, newest first (one query: the model list page shows them)."""
    return [_warning_row(w) for w in ModelWarning.objects.filter(model_version__is_active=True)]


def model_version_monitoring(*, version: ModelVersion, drift_nights: int = 90) -> dict:
    """Everything the analyst page and ``/monitoring/`` show for one version, JSON-ready.

    ``drift``: the latest night's PSI of the score and the watched features, and the
    score's PSI over the last ``drift_nights`` nights; ``performance``: realised
    figures per closed month-end (overall) beside the training figures, and per branch
    for the latest month-end; ``groups``: on the evaluation rows at training time and,
    once a month-end has closed, realised; ``warnings``: recorded conditions, newest first.
    """
    reference = ModelReference.objects.filter(model_version=version).first()
    drifts = list(ModelDrift.objects.filter(model_version=version).order_by("-run_date")[:drift_nights])
    latest = drifts[0] if drifts else None
    performances = list(ModelPerformance.objects.filter(model_version=version).select_related("branch")
                        .order_by("month_end", "branch__code"))
    overall = [p for p in performances if p.branch_id is None]
    last_month = overall[-1].month_end if overall else None
    by_branch = [p for p in performances if p.branch_id is not None and p.month_end == last_month]
    training = _training_figures(version)
    realised_groups = overall[-1].groups if overall else {}
    return {
        "model_version": version.pk,
        "has_reference": reference is not None,
        "drift": {
            "latest": None if latest is None else {
                "run_date": latest.run_date.isoformat(),
                "data_month": latest.data_month.isoformat() if latest.data_month else None,
                "score_psi": latest.score_psi, "band": latest.band or None, "features": latest.features,
                "scores": latest.scores, "feature_rows": latest.feature_rows,
            },
            "history": [{"run_date": d.run_date.isoformat(), "score_psi": d.score_psi, "band": d.band or None}
                        for d in reversed(drifts)],
        },
        "performance": {
            "training": training,
            "months": [_performance_row(p) for p in overall],
            "latest_by_branch": [_performance_row(p) for p in by_branch],
            "roc_auc_drop_limit": ROC_AUC_DROP,
        },
        "groups": {
            "training": reference.groups if reference is not None else {},
            "realised": realised_groups,
            "realised_month_end": last_month.isoformat() if last_month else None,
        },
        "warnings": [_warning_row(w) for w in ModelWarning.objects.filter(model_version=version)],
    }


def model_version_card(*, version: ModelVersion) -> dict:
    """The facts of a version's model card, language-neutral (the page and the API word them).

    Data months, rows, features, evaluation method, metrics beside the baselines,
    calibration, groups, and the facts behind the known limits.
    """
    metrics = version.metrics or {}
    reference = ModelReference.objects.filter(model_version=version).first()
    months = sorted({*version.train_months, version.evaluation_month.isoformat()})
    monitoring = model_version_monitoring(version=version, drift_nights=1)
    groups = reference.groups if reference is not None else {}
    realised = monitoring["performance"]["months"]
    training_roc = metrics.get("roc_auc")
    latest_realised = realised[-1] if realised else None
    return {
        "model_version": version.pk,
        "algorithm": version.algorithm,
        "created_at": version.created_at.isoformat() if version.created_at else None,
        "is_active": version.is_active,
        "activation_note": version.activation_note,
        "data": {
            "first_month_end": months[0] if months else None, "last_month_end": months[-1] if months else None,
            "train_month_ends": version.train_months, "evaluation_month_end": version.evaluation_month.isoformat(),
            "training_rows": metrics.get("training_rows"), "evaluation_rows": metrics.get("n"),
            "base_rate": metrics.get("base_rate"),
        },
        "features": list(version.features or []),
        "top_features": [item["feature"] for item in (metrics.get("feature_importance") or [])[:10]],
        # A version that says how it was evaluated (held-out customers of one month-end) says so here;
        # otherwise it was evaluated on the latest labelled month-end, later than it was trained on.
        "evaluation_method": metrics.get("evaluation_method") or "time_split",
        "metrics": {"model": {key: metrics.get(key) for key in
                              ("roc_auc", "pr_auc", "brier", "lift_top10", "precision_top10", "recall_top10")},
                    **{name: {key: figures.get(key) for key in
                              ("roc_auc", "pr_auc", "brier", "lift_top10", "precision_top10", "recall_top10")}
                       for name, figures in (version.baselines or {}).items()}},
        "calibration": metrics.get("calibration", []),
        "groups": groups,
        "group_gaps": group_gaps(groups) if groups else [],
        "monitoring": {
            "drift_band": (monitoring["drift"]["latest"] or {}).get("band"),
            "drift_run_date": (monitoring["drift"]["latest"] or {}).get("run_date"),
            "realised_month_ends": len(realised),
            "latest_realised_roc_auc": latest_realised["roc_auc"] if latest_realised else None,
            "training_roc_auc": training_roc,
            "warnings": len(monitoring["warnings"]),
        },
        "limits": _limit_facts(version=version, months=months, groups=groups, reference=reference),
    }


def _limit_facts(*, version: ModelVersion, months: list[str], groups: dict, reference) -> list[dict]:
    """Codes (with their figures) of the known limits; ``churn.monitoring_text`` words them."""
    facts: list[dict] = [{"code": "one_bank", "months": len(months)}]
    if len(months) < 12:
        facts.append({"code": "short_history", "months": len(months)})
    if (version.metrics or {}).get("evaluation_method") == "held_out_customers":
        facts.append({"code": "held_out_customers"})
    facts.append({"code": "min_aum", "min_avg_aum": conf.min_avg_aum()})
    facts.append({"code": "definition", "window": conf.window_months(), "drop_ratio": conf.aum_drop_ratio()})
    for gap in group_gaps(groups) if groups else []:
        if (gap["alert_rate_ratio"] or 0) >= 1.5 or (gap["recall_gap"] or 0) >= 0.1:
            facts.append({"code": "group_gap", **gap})
    if reference is None:
        facts.append({"code": "no_reference"})
    facts.append({"code": "unobserved"})
    return facts
