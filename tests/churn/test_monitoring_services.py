"""Monitoring on a small bank: the reference kept at training, tonight's drift, realised
performance of a closed month-end (overall and per branch), warnings written once. The
nights run through the nightly chain, whose last stage is the monitoring refresh."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from django.db.models import F
from sklearn.metrics import roc_auc_score

from audit.models import AuditAction, AuditEvent
from churn import conf, monitoring_selectors, monitoring_services, services
from churn.labels import build_labels
from churn.models import ChurnScore, ModelDrift, ModelPerformance, ModelReference, ModelWarning
from customers.models import Branch, Customer
from nightly import services as nightly_services
from tests.churn.helpers import load_bank, small_bank

MONTH_END = date(2025, 8, 31)  # the bank's data runs to December 2025: this window (Sep-Nov) has closed
LATER = date(2026, 1, 5)


@pytest.fixture
def bank(db, model_dir, settings):
    settings.CHURN_SCORE_CHUNK_SIZE = 100
    settings.CHURN_RISK_BANDS = {"medium": 0.05, "high": 0.3}
    settings.CHURN_DRIFT_SAMPLE_CUSTOMERS = 150
    load_bank(small_bank(customers=300))
    # A second branch, so the per-branch figures have more than one row.
    second = Branch.objects.create(code="B002", name="Riverside", city="Hangzhou")
    Customer.objects.filter(pk__in=list(Customer.objects.order_by("pk").values_list("pk", flat=True)[::2])).update(
        branch=second)
    version = services.model_version_train(force=True)
    nightly_services.nightly_run(run_date=MONTH_END)
    return version


def _state():
    return (
        sorted(ModelDrift.objects.values_list("model_version", "run_date", "score_psi", "band", "features")),
        sorted(ModelPerformance.objects.values_list("model_version", "month_end", "branch", "n", "roc_auc",
                                                    "pr_auc", "lift_top10", "brier", "calibration", "groups"),
               key=str),
        sorted(ModelWarning.objects.values_list("model_version", "kind", "subject", "level", "first_seen")),
        AuditEvent.objects.filter(action=AuditAction.WARNING).count(),
    )


def test_training_keeps_the_bins_of_its_sample_and_its_group_figures(bank):
    reference = ModelReference.objects.get(model_version=bank)
    top = [item["feature"] for item in bank.metrics["feature_importance"][:10]]
    assert [f["feature"] for f in reference.drift["features"]] == top
    assert reference.drift["rows"] == bank.metrics["n"]
    assert sum(reference.drift["score"]["proportions"]) == pytest.approx(1.0)
    genders = {row["group"] for row in reference.groups["gender"]}
    assert genders <= {"M", "F"} and genders
    assert sum(row["n"] for row in reference.groups["age_band"]) == bank.metrics["n"]


def test_the_nightly_run_measures_drift_and_a_month_end_once_its_window_has_closed(bank):
    # As of 31 August only August's balances exist: the window after it is still open.
    assert ModelDrift.objects.filter(run_date=MONTH_END).exists()
    assert not ModelPerformance.objects.exists()

    nightly_services.nightly_run(run_date=LATER)
    drift = ModelDrift.objects.get(run_date=LATER)
    assert drift.scores == ChurnScore.objects.filter(scored_on=LATER).count()
    assert 0 < drift.feature_rows <= 150 and len(drift.features) == 10
    assert drift.band in {"stable", "watch", "act"}

    overall = ModelPerformance.objects.get(month_end=MONTH_END, branch=None)
    scores = dict(ChurnScore.objects.filter(scored_on=MONTH_END, is_month_end=True)
                  .values_list("customer_id", "probability"))
    monthly = monitoring_selectors.monthly_status_frame(first_month=date(2025, 6, 1), last_month=date(2025, 11, 1))
    labels = build_labels(monthly, month_ends=[MONTH_END], window_months=3, aum_drop_ratio=conf.aum_drop_ratio(),
                          min_avg_aum=conf.min_avg_aum(), tier_floors=conf.tier_floors())
    labels = labels[labels["customer_id"].isin(scores)]
    y = labels["churned"].to_numpy(dtype=int)
    p = np.array([scores[pk] for pk in labels["customer_id"]])
    assert overall.n == len(y) and overall.positives == y.sum() > 0
    assert overall.roc_auc == pytest.approx(roc_auc_score(y, p), abs=1e-5)
    assert len(overall.calibration) == 10
    assert {row["group"] for row in overall.groups["gender"]} <= {"M", "F"}
    per_branch = ModelPerformance.objects.filter(month_end=MONTH_END, branch__isnull=False)
    assert per_branch.count() == 2 and sum(per_branch.values_list("n", flat=True)) == overall.n


def test_refreshing_the_same_night_again_changes_nothing(bank):
    nightly_services.nightly_run(run_date=LATER)
    before = _state()
    assert monitoring_services.model_monitoring_refresh(run_date=LATER)["month_ends"] == []
    nightly_services.nightly_run(run_date=LATER)
    assert _state() == before


def test_realised_roc_auc_well_below_training_is_warned_and_audited_once(bank):
    # Scores that ranked the customers upside down: what happened is the opposite of what was said.
    ChurnScore.objects.filter(scored_on=MONTH_END).update(probability=1 - F("probability"))
    monitoring_services.model_monitoring_refresh(run_date=LATER)
    warning = ModelWarning.objects.get(kind="performance")
    assert warning.detail["roc_auc"] < 0.5
    assert warning.detail["training_roc_auc"] == bank.metrics["roc_auc"]
    assert warning.detail["month_end"] == MONTH_END.isoformat()
    event = AuditEvent.objects.get(action=AuditAction.WARNING, detail__kind="performance")
    assert event.object_id == str(bank.pk) and event.detail["suggestion"] == "retrain"
    # The next nights the condition still holds: nothing new is written.
    nightly_services.nightly_run(run_date=LATER)
    nightly_services.nightly_run(run_date=date(2026, 1, 6))
    assert ModelWarning.objects.filter(kind="performance").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.WARNING, detail__kind="performance").count() == 1


def test_score_drift_past_its_band_is_warned_once_per_band(bank):
    reference = ModelReference.objects.get(model_version=bank)
    score = reference.drift["score"]
    # A training sample whose scores all sat in the lowest bin: tonight's spread is far from it.
    score["proportions"] = [1.0] + [0.0] * (len(score["proportions"]) - 1)
    reference.save(update_fields=["drift"])
    nightly_services.nightly_run(run_date=LATER)
    drift = ModelDrift.objects.get(run_date=LATER)
    assert drift.score_psi > 0.25 and drift.band == "act"
    assert ModelWarning.objects.filter(kind="drift", subject="score", level="act").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.WARNING, detail__subject="score").count() == 1
    # The next night drifts as far: still one warning, one audit event.
    nightly_services.nightly_run(run_date=date(2026, 1, 6))
    assert ModelDrift.objects.get(run_date=date(2026, 1, 6)).band == "act"
    assert ModelWarning.objects.filter(kind="drift", subject="score", level="act").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.WARNING, detail__subject="score").count() == 1


def test_a_version_without_a_reference_records_no_drift(bank):
    ModelReference.objects.all().delete()
    nightly_services.nightly_run(run_date=LATER)
    assert monitoring_services.model_drift_record(run_date=LATER) is None
    assert not ModelDrift.objects.filter(run_date=LATER).exists()



