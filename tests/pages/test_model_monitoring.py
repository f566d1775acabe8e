"""The analyst's model page shows drift, realised performance, groups and warnings; the model
card reads in Chinese and English; both pages are analysts' only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from churn.models import ModelDrift, ModelPerformance, ModelReference, ModelWarning
from churn.monitoring_text import evaluation_method_sentence, limit_sentence, warning_sentence
from tests.retention.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db

GROUPS = {"gender": [{"group": "F", "n": 250, "flagged": 50, "churned": 40, "alert_rate": 0.2, "recall": 0.5,
                      "precision": 0.4}],
          "age_band": [{"group": "60+", "n": 250, "flagged": 25, "churned": 40, "alert_rate": 0.1, "recall": 0.3,
                        "precision": 0.48}]}


def watched_version(branch):
    """An active version with a drift reference, two nights of drift, two closed month-ends
    (overall and for ``branch``) and a performance warning."""
    version = ModelVersionFactory(is_active=True, metrics={
        "n": 500, "roc_auc": 0.80, "pr_auc": 0.40, "brier": 0.1, "lift_top10": 3.1, "training_rows": 4_000,
        "calibration": [{"predicted": 0.1, "observed": 0.12, "count": 50}]},
        train_months=["2023-09-30", "2023-10-31"])
    ModelReference.objects.create(model_version=version, drift={"rows": 500, "score": {}, "features": []},
                                  groups=GROUPS)
    for day, psi in ((dt.date(2024, 5, 14), 0.05), (dt.date(2024, 5, 15), 0.31)):
        ModelDrift.objects.create(model_version=version, run_date=day, score_psi=psi,
                                  band="act" if psi > 0.25 else "stable", scores=3,
                                  features=[{"feature": "aum_change_3m", "psi": 0.12, "band": "watch"}])
    for month_end, roc in ((dt.date(2024, 1, 31), 0.74), (dt.date(2024, 2, 29), 0.71)):
        ModelPerformance.objects.create(model_version=version, month_end=month_end, n=400, positives=40,
                                        roc_auc=roc, pr_auc=0.3, lift_top10=2.0, brier=0.12, groups=GROUPS,
                                        calibration=[{"predicted": 0.2, "observed": 0.25, "count": 40}])
        ModelPerformance.objects.create(model_version=version, month_end=month_end, branch=branch, n=400,
                                        positives=40, roc_auc=roc, pr_auc=0.3, lift_top10=2.0, brier=0.12)
    ModelWarning.objects.create(model_version=version, kind="performance", subject="roc_auc", level="act",
                                first_seen=dt.date(2024, 5, 15),
                                detail={"month_end": "2024-02-29", "roc_auc": 0.71, "training_roc_auc": 0.80})
    return version


@pytest.fixture
def watched(bank):
    return watched_version(bank.branch)


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_model_page_shows_drift_realised_performance_groups_and_the_warning(client, bank, watched):
    _english(client).force_login(bank.analyst)
    response = client.get(reverse("churn:model_detail", args=[watched.pk]))
    assert response.status_code == 200
    chart = response.context["performance_chart"]
    assert chart["labels"] == ["2024-01", "2024-02"]
    assert chart["series"][0]["values"] == [0.74, 0.71] and chart["series"][1]["values"] == [0.80, 0.80]
    assert response.context["drift_chart"]["series"][0]["values"] == [0.05, 0.31]
    assert [row["key"] for row in response.context["drift_rows"]] == ["act", "watch"]
    body = response.content.decode()
    assert 'id="performance-data"' in body and 'id="drift-data"' in body
    assert "Realised ROC AUC of the scores at 2024-02-29 was 0.710" in body
    assert f'{reverse("churn:model_list")}#training' in body  # where the retraining starts
    assert bank.branch.name in body and "Female" in body and "60 and over" in body
    # The list page carries the active version's warning too.
    assert "Consider retraining" in client.get(reverse("churn:model_list")).content.decode()


def test_a_version_without_monitoring_says_what_is_missing(client, bank):
    version = ModelVersionFactory()
    _english(client).force_login(bank.analyst)
    body = client.get(reverse("churn:model_detail", args=[version.pk])).content.decode()
    assert "trained before drift references were kept" in body
    assert "No month-end has closed yet" in body


def test_the_model_card_reads_in_english_and_chinese(client, bank, watched):
    _english(client).force_login(bank.analyst)
    url = reverse("churn:model_card", args=[watched.pk])
    english = client.get(url).content.decode()
    assert "Known limits" in english and "4,000 training rows" in english
    assert "Evaluated on a later month-end than the model was trained on" in english
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = client.get(url).content.decode()
    assert "已知局限" in chinese and "Known limits" not in chinese


def test_only_analysts_see_the_model_card(client, bank, watched):
    url = reverse("churn:model_card", args=[watched.pk])
    for user in (bank.owner, bank.head):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


FACTS = [{"code": "one_bank", "months": 8}, {"code": "short_history", "months": 8}, {"code": "held_out_customers"},
         {"code": "min_aum", "min_avg_aum": 1000.0}, {"code": "definition", "window": 3, "drop_ratio": 0.5},
         {"code": "group_gap", "by": "gender", "alert_rate_ratio": 2.0, "recall_gap": 0.2},
         {"code": "no_reference"}, {"code": "unobserved"}]
WARNINGS = [{"kind": "performance", "subject": "roc_auc", "level": "act", "first_seen": "2024-05-15",
             "detail": {"month_end": "2024-02-29", "roc_auc": 0.7, "training_roc_auc": 0.8}},
            {"kind": "drift", "subject": "score", "level": "act", "first_seen": "2024-05-15", "detail": {"psi": 0.3}},
            {"kind": "drift", "subject": "score", "level": "watch", "first_seen": "2024-05-15", "detail": {"psi": 0.2}}]


def test_no_monitoring_sentence_reaches_a_chinese_page_in_english():
    with translation.override("zh-hans"):
        sentences = [limit_sentence(fact) for fact in FACTS] + [warning_sentence(w) for w in WARNINGS]
        sentences += [evaluation_method_sentence(code) for code in ("time_split", "held_out_customers")]
    for sentence in sentences:
        assert not re.search(r"[A-Za-z]{3,}", re.sub(r"ROC AUC|PSI|CNY|AUM", "", sentence)), sentence


def test_the_model_page_reads_its_monitoring_in_the_same_queries_however_many_months(client, bank, watched):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(bank.analyst)
    url = reverse("churn:model_detail", args=[watched.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for month in range(3, 13):
        month_end = dt.date(2024, month + 1, 1) - dt.timedelta(days=1) if month < 12 else dt.date(2024, 12, 31)
        ModelPerformance.objects.create(model_version=watched, month_end=month_end, n=10, positives=1, roc_auc=0.7)
        ModelPerformance.objects.create(model_version=watched, month_end=month_end, branch=bank.other_branch, n=10,
                                        positives=1, roc_auc=0.7)
        ModelDrift.objects.create(model_version=watched, run_date=month_end, score_psi=0.01, band="stable")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["performance_rows"]) == 12
    assert len(many) == len(few)
