"""Writes for watching a model after it goes live (the figures are ``churn.monitoring``'s).

- ``model_reference_store``: when training saves a version, the bins of its training
  sample (drift is measured against them) and its group figures.
- ``model_monitoring_refresh``: the nightly hook. Tonight's drift of the version that
  scored tonight, the realised performance of every month-end whose churn window has
  closed since, and a warning (audited) the first time a condition holds. Idempotent:
  a night already measured and a month-end already measured are not measured again,
  and a warning is written once per version, subject and band.
"""

from __future__ import annotations

import logging
import math
from datetime import date

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction

from audit.models import AuditAction
from audit.services import audit_record
from churn import conf, monitoring, monitoring_selectors, selectors
from churn.features import build_features
from churn.labels import build_labels
from churn.models import (
    ModelDrift,
    ModelPerformance,
    ModelReference,
    ModelVersion,
    ModelWarning,
    RiskBand,
)

logger = logging.getLogger(__name__)


def model_reference_store(*, version: ModelVersion, rows: pd.DataFrame, model) -> ModelReference:
    """Keep what ``version`` will be watched against: the training sample ``rows`` (feature rows
    with ``customer_id`` and ``churned``, e.g. the evaluation month-end's) scored by ``model``.

    Called by the training service right after it saves the version.
    """
    probability = model.predict_proba(rows) if len(rows) else np.zeros(0)
    watched = monitoring.top_features((version.metrics or {}).get("feature_importance") or [],
                                      model_features=list(model.features))
    drift = monitoring.drift_reference(rows, probability=probability, features=watched)
    groups = {}
    if len(rows) and "churned" in rows.columns:
        people = monitoring_selectors.customer_groups_frame(
            customer_ids=[int(pk) for pk in rows["customer_id"].unique()])
        gender = rows["customer_id"].map(people.set_index("customer_id")["gender"]) if len(people) else None
        medium, _ = conf.band_thresholds()
        groups = monitoring.group_metrics(pd.DataFrame({
            "flagged": probability >= medium,
            "churned": rows["churned"].to_numpy(dtype=bool),
            "age_band": monitoring.age_band(rows["age"]) if "age" in rows.columns else monitoring.UNKNOWN,
            "gender": gender.to_numpy() if gender is not None else monitoring.UNKNOWN,
        }))
    reference, _ = ModelReference.objects.update_or_create(model_version=version,
                                                           defaults={"drift": drift, "groups": groups})
    return reference


# --- the nightly hook -----------------------------------------------------------------------------


def model_monitoring_refresh(*, run_date: date, data_month: date | None = None) -> dict:
    """Tonight's drift and any newly closed month-end's realised performance, with their warnings.

    ``data_month``: the month of balances tonight's scores used (default: the nightly
    run's). Returns a summary: ``{"drift_band", "month_ends", "warnings"}``.
    """
    drift = model_drift_record(run_date=run_date, data_month=data_month)
    month_ends = model_performance_record(as_of=run_date)
    warnings = model_warnings_raise(run_date=run_date)
    return {"drift_band": drift.band if drift is not None else None,
            "month_ends": [day.isoformat() for day in month_ends], "warnings": warnings}


def model_drift_record(*, run_date: date, data_month: date | None = None) -> ModelDrift | None:
    """PSI of tonight's scores and of a sample's features against the training sample.

    None when nothing was scored tonight or the version has no reference (trained
    before references were kept). A night already measured is returned as it is.
    """
    run = selectors.nightly_run_get(run_date=run_date)
    version = run.model_version if run is not None and run.model_version_id else selectors.model_version_active()
    if version is None:
        return None
    existing = ModelDrift.objects.filter(model_version=version, run_date=run_date).first()
    if existing is not None:
        return existing
    reference = ModelReference.objects.filter(model_version=version).first()
    if reference is None or not reference.drift:
        return None
    if data_month is None and run is not None:
        data_month = run.data_month
    scored = monitoring_selectors.night_score_frame(run_date=run_date, model_version_id=version.pk)
    if scored.empty:
        return None
    customer_ids = scored["customer_id"].to_numpy(dtype=np.int64)
    probability = scored["probability"].to_numpy(dtype=float)
    # Every k-th customer by id: spread over the whole bank (branches were imported in turn).
    step = max(1, math.ceil(len(customer_ids) / conf.drift_sample_customers()))
    sample = [int(pk) for pk in customer_ids[::step]]
    frames = selectors.bank_frames_for_customers(first_id=sample[0], last_id=sample[-1], as_of=run_date,
                                                 data_month=data_month, customer_ids=sample)
    features = build_features(frames, as_of=run_date, tier_floors=conf.tier_floors(), data_month=data_month)
    features = features[features.index.isin(sample)]
    measured = monitoring.drift_measure(reference.drift, frame=features, probability=probability)
    try:
        with transaction.atomic():
            return ModelDrift.objects.create(
                model_version=version, run_date=run_date, data_month=data_month, score_psi=measured["score_psi"],
                band=measured["band"] or "", features=measured["features"], scores=measured["scores"],
                feature_rows=measured["feature_rows"],
            )
    except IntegrityError:  # a concurrent refresh for the same night got there first
        return ModelDrift.objects.get(model_version=version, run_date=run_date)


def model_performance_record(*, as_of: date | None = None) -> list[date]:
    """Realised performance of every month-end whose scores are stored and whose churn window
    has closed, not yet measured: per model version that scored it, overall and per branch.

    Returns the month-ends measured now.
    """
    latest = selectors.latest_data_month(before=as_of) if as_of is not None else selectors.latest_data_month()
    window = conf.window_months()
    done = []
    for month_end in monitoring_selectors.month_ends_closed_unmeasured(latest_data_month=latest):
        scores = monitoring_selectors.month_end_score_frame(month_end=month_end)
        month = pd.Timestamp(month_end).to_period("M")
        monthly = monitoring_selectors.monthly_status_frame(
            first_month=(month - (window - 1)).to_timestamp().date(), last_month=(month + window).to_timestamp().date())
        labels = build_labels(monthly, month_ends=[month_end], window_months=window,
                              aum_drop_ratio=conf.aum_drop_ratio(), min_avg_aum=conf.min_avg_aum(),
                              tier_floors=conf.tier_floors()) if len(monthly) else pd.DataFrame(
            {"customer_id": [], "churned": []})
        joined = scores.merge(labels[["customer_id", "churned"]], on="customer_id", how="inner")
        with transaction.atomic():
            for version_id, part in joined.groupby("model_version_id"):
                _performance_rows_write(version_id=int(version_id), month_end=month_end, rows=part)
            if joined.empty and len(scores):
                # Nothing could be labelled: recorded as measured (n = 0) so it is not read again.
                for version_id in scores["model_version_id"].unique():
                    ModelPerformance.objects.get_or_create(model_version_id=int(version_id), month_end=month_end,
                                                           branch=None, defaults={"n": 0, "positives": 0})
        done.append(month_end)
    return done


def _figures(rows: pd.DataFrame) -> dict:
    figures = monitoring.performance(rows["churned"].to_numpy(dtype=int), rows["probability"].to_numpy(dtype=float))
    return {"n": figures["n"], "positives": figures["positives"], "roc_auc": figures["roc_auc"],
            "pr_auc": figures["pr_auc"], "lift_top10": figures["lift_top10"], "brier": figures["brier"],
            "calibration": figures["calibration"]}


def _performance_rows_write(*, version_id: int, month_end: date, rows: pd.DataFrame) -> None:
    groups = monitoring.group_metrics(pd.DataFrame({
        "flagged": (rows["risk_band"] != RiskBand.LOW.value).to_numpy(),
        "churned": rows["churned"].to_numpy(dtype=bool),
        "age_band": monitoring.age_band(monitoring.ages_at(rows["birth_date"], as_of=month_end)),
        "gender": rows["gender"].to_numpy(),
    }))
    ModelPerformance.objects.get_or_create(model_version_id=version_id, month_end=month_end, branch=None,
                                           defaults={**_figures(rows), "groups": groups})
    for branch_id, part in rows.groupby("branch_id"):
        ModelPerformance.objects.get_or_create(model_version_id=version_id, month_end=month_end,
                                               branch_id=int(branch_id), defaults=_figures(part))


# --- warnings -------------------------------------------------------------------------------------


def model_warnings_raise(*, run_date: date) -> int:
    """Record (and audit) each condition that suggests a retrain the first time it holds.

    Drift: the score or a watched feature outside the stable band on the latest night
    measured (one warning per subject and band: watch, then act). Realised performance:
    a closed month-end's ROC AUC more than ``ROC_AUC_DROP`` below training (once per version).
    Returns how many warnings are new.
    """
    new = 0
    for drift in ModelDrift.objects.filter(run_date=run_date).select_related("model_version"):
        subjects = [("score", drift.score_psi, monitoring.psi_band(drift.score_psi))]
        subjects += [(f["feature"], f["psi"], f["band"]) for f in drift.features]
        for subject, value, band in subjects:
            if band in (monitoring.BAND_WATCH, monitoring.BAND_ACT):
                new += _warning_record(version=drift.model_version, kind=ModelWarning.Kind.DRIFT, subject=subject,
                                       level=band, first_seen=run_date, detail={"psi": value})
    for row in ModelPerformance.objects.filter(branch=None, roc_auc__isnull=False).select_related("model_version"):
        training = (row.model_version.metrics or {}).get("roc_auc")
        if training is not None and training - row.roc_auc > monitoring.ROC_AUC_DROP:
            new += _warning_record(
                version=row.model_version, kind=ModelWarning.Kind.PERFORMANCE, subject="roc_auc",
                level=monitoring.BAND_ACT, first_seen=run_date,
                detail={"month_end": row.month_end.isoformat(), "roc_auc": row.roc_auc, "training_roc_auc": training},
            )
    return new


def _warning_record(*, version: ModelVersion, kind: str, subject: str, level: str, first_seen: date,
                    detail: dict) -> int:
    try:
        with transaction.atomic():
            warning, created = ModelWarning.objects.get_or_create(
                model_version=version, kind=kind, subject=subject, level=level,
                defaults={"first_seen": first_seen, "detail": detail},
            )
            if created:
                audit_record(action=AuditAction.WARNING, obj=version, detail={
                    "source": "model_monitoring", "kind": kind, "subject": subject, "level": level,
                    "first_seen": first_seen.isoformat(), **detail, "suggestion": "retrain",
                })
    except IntegrityError:  # recorded by a concurrent refresh
        return 0
    return int(created)
