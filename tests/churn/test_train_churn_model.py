"""``train_churn_model`` end to end on every shape of data a bank could export: the CSV files
go through ``import_bank_data``, the model through the command, as an analyst would run them.

The banks come from ``demo.second_bank`` (a different churn mechanism from the demo bank's),
kept small (hundreds of customers) so each case takes seconds.
"""

from __future__ import annotations

from datetime import date
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from churn.models import ChurnScore, ModelVersion
from demo.second_bank import SecondBankOptions, generate_second_bank
from nightly import services as nightly_services
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db


def _import(directory) -> str:
    out = StringIO()
    call_command("import_bank_data", str(directory), "--no-progress", stdout=out)
    return out.getvalue()


def _train(*args: str) -> str:
    out = StringIO()
    call_command("train_churn_model", *args, stdout=out)
    return out.getvalue()


def _bank(tmp_path, *, months: int, customers: int = 700, **options) -> None:
    generate_second_bank(tmp_path / "bank", customers=customers, months=months, seed=months,
                         options=SecondBankOptions(**options))
    _import(tmp_path / "bank")


@pytest.mark.parametrize("months", [1, 2, 3])
def test_fewer_than_four_months_is_refused_in_one_sentence_naming_what_is_missing(tmp_path, model_dir, months):
    _bank(tmp_path, months=months)
    with translation.override("en"), pytest.raises(CommandError) as refused:
        _train()
    assert str(refused.value) == (
        "Cannot train: training needs at least 4 months of balances (one month-end and the 3-month churn window "
        f"after it); the bank's data has {months}.")
    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize("months", [4, 5, 7])
def test_a_short_history_is_evaluated_on_held_out_customers_and_says_so(tmp_path, model_dir, months):
    _bank(tmp_path, months=months)
    with translation.override("en"):
        output = _train()
    assert "evaluated on held-out customers, not on a later period" in output.lower()
    version = ModelVersion.objects.get()
    assert version.is_active and version.metrics["evaluation_method"] == "held_out_customers"
    assert version.metrics["roc_auc"] > 0.6
    # The evaluation month-end is the latest labelled one; the model learnt from every labelled month-end.
    assert len(version.train_months) == months - 3
    assert "months_of_history" not in version.features


def test_the_command_says_how_it_evaluated_in_chinese_too(tmp_path, model_dir):
    _bank(tmp_path, months=5)
    with translation.override("zh-hans"):
        output = _train()
    assert "以留出的客户评估，而非更晚的时期" in output


def test_fourteen_months_use_the_time_split(tmp_path, model_dir):
    _bank(tmp_path, months=14, customers=500)
    with translation.override("en"):
        output = _train()
    version = ModelVersion.objects.get()
    assert version.metrics["evaluation_method"] == "time_split"
    assert "Evaluated on a later month-end than the model was trained on." in output
    assert max(version.train_months) < version.evaluation_month.isoformat()


def test_one_branch_and_no_holdings_or_surveys_files_train(tmp_path, model_dir):
    _bank(tmp_path, months=7, branches=1, holdings_and_surveys=False)
    assert not (tmp_path / "bank" / "holdings.csv").exists()
    _train()
    assert ModelVersion.objects.get().is_active


def test_a_bank_where_nobody_churned_is_refused(tmp_path, model_dir):
    _bank(tmp_path, months=7, churn="none")
    with translation.override("en"), pytest.raises(CommandError, match=r"^Cannot train: no customer churned after "
                                                                       r"any labelled month-end \("):
        _train()


def test_a_bank_where_everybody_churned_is_refused(tmp_path, model_dir):
    _bank(tmp_path, months=5, churn="all")
    refusal = "^无法训练：在所有已标注的月末之后每位客户都流失了"
    with translation.override("zh-hans"), pytest.raises(CommandError, match=refusal):
        _train()


def _rule_bank(directory, *, customers: int = 600, months: int = 8) -> None:
    """A bank whose churn is exactly the one-line rule: AUM down more than 30% over the last
    3 months, then gone. Nothing else differs, so the trees cannot beat the rule."""
    rng = np.random.default_rng(0)
    directory.mkdir()
    pd.DataFrame([("B1", "Main", "Hangzhou")], columns=["branch_code", "name", "city"]).to_csv(
        directory / "branches.csv", index=False)
    ids = [f"R{i:05d}" for i in range(customers)]
    pd.DataFrame({
        "customer_id": ids, "name": "Customer", "gender": "", "birth_date": "1980-01-01",
        "id_number": "330100198001011234", "phone": "13800001234", "branch_code": "B1", "rm_code": "",
        "opened_on": "2015-01-01", "region": "", "annual_income": "", "credit_score": "",
    }).to_csv(directory / "customers.csv", index=False)
    month_starts = pd.period_range("2025-05", periods=months, freq="M").strftime("%Y-%m")
    leaving = rng.random(customers) < 0.3
    leave_at = rng.integers(3, months, customers)  # the month AUM collapses
    rows = []
    for i, cid in enumerate(ids):
        for k, month in enumerate(month_starts):
            aum = 100_000.0
            if leaving[i] and k >= leave_at[i] - 3:
                aum = 100_000.0 * (0.6 if k < leave_at[i] else 0.05)  # a drop of 40%, then almost all gone
            rows.append((cid, month, aum, aum, 0, 0, 0, 5, 3, 2, "active"))
    pd.DataFrame(rows, columns=["customer_id", "month", "aum", "deposit_balance", "wealth_balance", "loan_balance",
                                "card_spend", "txn_count", "digital_logins", "products_held", "status"]).to_csv(
        directory / "monthly.csv", index=False)


def test_when_the_model_cannot_beat_the_rule_the_rule_scores_and_the_page_says_why(tmp_path, model_dir, client):
    _rule_bank(tmp_path / "bank")
    _import(tmp_path / "bank")
    with translation.override("en"):
        output = _train()
    version = ModelVersion.objects.get()
    assert version.is_active and version.metrics["champion"] == "rule_aum_drop_30pct_3m"
    assert version.features == ["aum_change_3m"]
    assert "does not beat the rule baseline" in output
    # The rule is a model version like any other: the nightly run scores and explains with it.
    run = nightly_services.nightly_run(run_date=date(2026, 1, 5))
    scores = ChurnScore.objects.filter(scored_on=run.run_date, model_version=version)
    assert scores.count() == run.customers_scored > 0
    reasons = [reason for score in scores for reason in score.reasons]
    assert reasons and {reason["feature"] for reason in reasons} == {"aum_change_3m"}
    client.force_login(UserFactory(analyst=True))
    for language, words in (("en", "so the rule baseline (AUM down more than 30% in 3 months) scores the customers"),
                            ("zh-hans", "因此由规则基准（3个月内资产下降超过30%）为客户评分")):
        page = client.get(reverse("churn:model_detail", args=[version.pk]), HTTP_ACCEPT_LANGUAGE=language)
        assert words in page.content.decode()
