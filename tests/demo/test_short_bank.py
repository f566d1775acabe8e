"""A bank with five months of exports in the older file shape, end to end through
``import_bank_data`` and ``train_churn_model``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from churn.models import ModelVersion
from customers.models import MonthlyBalance, Product
from demo.short_bank import MONTHS, generate_short_bank

pytestmark = pytest.mark.django_db


def test_five_months_train_on_held_out_customers_and_say_so(tmp_path, model_dir, settings):
    written = generate_short_bank(tmp_path / "bank", customers=3000, seed=5, bank_name=settings.BANK_NAME)
    assert set(written) == {"branches.csv", "staff.csv", "customers.csv", "products.csv", "monthly.csv"}
    out = StringIO()
    with translation.override("en"):
        call_command("import_bank_data", str(tmp_path / "bank"), "--no-progress", stdout=out)
        call_command("train_churn_model", stdout=out)
    output = out.getvalue()
    assert MonthlyBalance.objects.dates("month", "month").count() == MONTHS
    assert not MonthlyBalance.objects.exclude(aum_month_avg=None).exists()  # the older shape: no daily average
    assert Product.objects.filter(is_ours=True).count() == 4  # matched by BANK_NAME
    version = ModelVersion.objects.get()
    assert version.is_active and version.metrics["evaluation_method"] == "held_out_customers"
    assert "evaluated on held-out customers, not on a later period" in output.lower()
    assert version.metrics["roc_auc"] > 0.7
    # Two labelled month-ends: features needing six months of history are unknown, not errors.
    assert len(version.train_months) == 2
