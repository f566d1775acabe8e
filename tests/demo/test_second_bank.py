"""The second test bank end to end: its files through ``import_bank_data``, a model through
``train_churn_model``. Its churn comes from a different mechanism than the demo bank's
(``demo/second_bank.py``), so features tuned to the demo generator do not pass for free."""

from __future__ import annotations

from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command
from django.utils import translation

from churn.models import ModelVersion
from customers.models import Customer, MonthlyBalance, Product
from demo.second_bank import OUR_PROVIDER, generate_second_bank

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(tmp_path, model_dir):
    generate_second_bank(tmp_path / "bank", customers=3000, months=7, seed=3)
    out = StringIO()
    with translation.override("en"):
        call_command("import_bank_data", str(tmp_path / "bank"), "--no-progress", stdout=out)
        call_command("train_churn_model", stdout=out)
    return ModelVersion.objects.get(), out.getvalue(), tmp_path / "bank"


def test_the_files_carry_the_optional_columns_a_real_export_has(trained):
    _, output, directory = trained
    assert "aum_month_avg" in pd.read_csv(directory / "monthly.csv", nrows=1).columns
    assert not MonthlyBalance.objects.filter(aum_month_avg=None).exists()
    # The provider is not BANK_NAME: only is_ours tells our products, and no warning is due.
    assert set(Product.objects.filter(is_ours=True).values_list("provider", flat=True)) == {OUR_PROVIDER}
    assert Product.objects.filter(is_ours=False).exists() and "Warning" not in output
    assert Customer.objects.filter(gender="").exists()


def test_a_model_trains_on_held_out_customers_and_the_daily_average_tells_the_leavers(trained):
    version, output, _ = trained
    assert "evaluated on held-out customers, not on a later period" in output.lower()
    assert version.is_active and version.metrics["evaluation_method"] == "held_out_customers"
    candidates = version.metrics["candidates"]
    assert set(candidates) == {"gradient_boosting", "logistic_regression", "rule_aum_drop_30pct_3m"}
    assert candidates["gradient_boosting"]["roc_auc"] > 0.78
    assert candidates["gradient_boosting"]["roc_auc"] > candidates["rule_aum_drop_30pct_3m"]["roc_auc"] + 0.1
    # The month-end balance against the daily average is among the strongest signals.
    top = [item["feature"] for item in version.metrics["feature_importance"][:5]]
    assert any(feature.startswith("month_end_to_daily_avg") for feature in top), top
