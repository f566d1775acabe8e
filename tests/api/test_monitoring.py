"""GET /api/v1/model-versions/{id}/monitoring/ and /model-card/: analysts and administrators only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from churn.models import ModelDrift, ModelPerformance, ModelReference, ModelWarning


@pytest.fixture
def watched(world):
    version = world.model_version
    version.metrics = {"n": 500, "roc_auc": 0.80, "pr_auc": 0.4, "brier": 0.1, "lift_top10": 3.1,
                       "training_rows": 4_000, "calibration": [{"predicted": 0.1, "observed": 0.12, "count": 50}],
                       "feature_importance": [{"feature": "aum_change_3m", "importance": 0.3}]}
    version.train_months = ["2023-09-30", "2023-10-31"]
    version.baselines = {"logistic_regression": {"roc_auc": 0.75, "pr_auc": 0.3, "brier": 0.11, "lift_top10": 2.5}}
    version.save()
    ModelReference.objects.create(model_version=version, drift={"rows": 500, "score": {}, "features": []}, groups={
        "gender": [{"group": "F", "n": 250, "flagged": 50, "churned": 40, "alert_rate": 0.2, "recall": 0.5,
                    "precision": 0.4},
                   {"group": "M", "n": 250, "flagged": 25, "churned": 40, "alert_rate": 0.1, "recall": 0.3,
                    "precision": 0.48}]})
    ModelDrift.objects.create(model_version=version, run_date=dt.date(2024, 5, 15), score_psi=0.31, band="act",
                              features=[{"feature": "aum_change_3m", "psi": 0.05, "band": "stable"}], scores=3)
    ModelPerformance.objects.create(model_version=version, month_end=dt.date(2024, 1, 31), n=400, positives=40,
                                    roc_auc=0.71, pr_auc=0.3, lift_top10=2.0, brier=0.12)
    ModelPerformance.objects.create(model_version=version, month_end=dt.date(2024, 1, 31), branch=world.branch,
                                    n=200, positives=20, roc_auc=0.7, pr_auc=0.3, lift_top10=2.0, brier=0.12)
    ModelWarning.objects.create(model_version=version, kind="drift", subject="score", level="act",
                                first_seen=dt.date(2024, 5, 15), detail={"psi": 0.31})
    return version


@pytest.mark.parametrize(("role", "status"), [("analyst", 200), ("admin", 200), ("rm_owner", 403),
                                              ("rm_outsider", 403), ("head", 403), ("anonymous", 401)])
def test_only_analysts_and_admins_read_monitoring_and_the_card(world, watched, role, status):
    client = world.client(role)
    for name in ("api:model_version_monitoring", "api:model_version_card"):
        assert client.get(reverse(name, args=[watched.pk])).status_code == status


def test_monitoring_carries_drift_performance_beside_training_and_worded_warnings(world, watched):
    body = world.client("analyst").get(reverse("api:model_version_monitoring", args=[watched.pk])).json()
    assert body["drift"]["latest"]["score_psi"] == 0.31 and body["drift"]["latest"]["band"] == "act"
    assert body["performance"]["training"]["roc_auc"] == 0.80
    assert [m["roc_auc"] for m in body["performance"]["months"]] == [0.71]
    assert [b["branch"] for b in body["performance"]["latest_by_branch"]] == ["SH01"]
    assert body["groups"]["training"]["gender"][0]["group"] == "F"
    (warning,) = body["warnings"]
    assert "0.310" in warning["text"] and warning["level"] == "act"


def test_the_card_comes_in_chinese_and_english(world, watched):
    client = world.client("analyst")
    url = reverse("api:model_version_card", args=[watched.pk])
    english = client.get(url, {"language": "en"}).json()
    chinese = client.get(url, {"language": "zh-hans"}).json()
    assert english["language"] == "en" and chinese["language"] == "zh-hans"
    assert english["training_data"]["training_rows"] == 4_000
    assert english["training_data"]["first_month_end"] == "2023-09-30"
    assert english["metrics"]["logistic_regression"]["roc_auc"] == 0.75
    assert english["evaluation_method_text"].startswith("Evaluated on a later month-end than the model was trained on")
    assert english["evaluation_method_text"] != chinese["evaluation_method_text"]
    assert any("Gender" in text or "gender" in text for text in english["limits_text"])  # alert rate ratio 2.0
    assert english["monitoring"]["drift_band"] == "act" and english["monitoring"]["latest_realised_roc_auc"] == 0.71
    assert client.get(url, {"language": "fr"}).status_code == 400


def test_an_unknown_version_is_not_found(world):
    assert world.client("analyst").get(reverse("api:model_version_monitoring", args=[999_999])).status_code == 404
