"""The interchange format's optional columns: ``aum_month_avg`` in monthly.csv, ``is_ours`` in
products.csv, an empty ``gender``; and the warning when no product, or every product, is ours.
Runs on SQLite and on PostgreSQL (the staging COPY, binary where the types allow, and the bulk
path into empty tables)."""

from __future__ import annotations

import copy
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from customers.models import Customer, MonthlyBalance, Product
from tests.customers.test_import import BANK, bank, needs_postgres, problems, run, write

pytestmark = pytest.mark.django_db


def _with_column(rows: list[list[str]], name: str, values: list[str]) -> list[list[str]]:
    rows = copy.deepcopy(rows)
    return [row + [value] for row, value in zip(rows, [name, *values], strict=True)]


DAILY_AVERAGES = ["570000.00", "", "450000.50", "44000", "47000", "49000", "5000000", "0"]


def _monthly_with_averages():
    return _with_column(BANK["monthly.csv"], "aum_month_avg", DAILY_AVERAGES)


def _averages() -> dict[tuple[str, str], Decimal | None]:
    return {(b.customer.customer_id, f"{b.month:%Y-%m}"): b.aum_month_avg
            for b in MonthlyBalance.objects.select_related("customer")}


@pytest.fixture(params=["staging", "bulk"])
def path(request, monkeypatch):
    """Both ways rows reach PostgreSQL (the bulk path is PostgreSQL's only; SQLite runs 'staging')."""
    if request.param == "bulk":
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip("the bulk path is PostgreSQL's")
        from customers.importing import writers

        monkeypatch.setattr(writers, "BULK_MIN_BYTES", 0)
    return request.param


def test_the_daily_average_is_imported_where_given_and_empty_where_not(tmp_path, path):
    result = run(write(tmp_path / "bank", bank(monthly_csv=_monthly_with_averages())))
    assert result.ok, problems(result)
    averages = _averages()
    assert averages[("C0001", "2024-01")] == Decimal("570000.00")
    assert averages[("C0001", "2024-02")] is None
    assert averages[("C0001", "2024-03")] == Decimal("450000.50")
    assert averages[("C0003", "2024-03")] == Decimal("0.00")


def test_files_without_the_daily_average_stay_valid_and_keep_averages_already_imported(tmp_path):
    assert run(write(tmp_path / "with", bank(monthly_csv=_monthly_with_averages()))).ok
    result = run(write(tmp_path / "without", BANK))  # the older shape: no aum_month_avg column
    assert result.ok, problems(result)
    assert _averages()[("C0001", "2024-01")] == Decimal("570000.00")
    monthly = next(f for f in result.files if f.name == "monthly.csv")
    assert monthly.updated == 0  # nothing changed, so nothing was rewritten


@needs_postgres
def test_on_postgresql_the_binary_copy_carries_the_daily_average(tmp_path, path):
    from customers.importing import writers

    assert writers.BINARY_COPY
    assert run(write(tmp_path / "bank", bank(monthly_csv=_monthly_with_averages()))).ok
    assert sorted(str(v) for v in _averages().values() if v is not None) == sorted(
        f"{Decimal(v):.2f}" for v in DAILY_AVERAGES if v)


def test_a_bad_daily_average_is_reported_with_its_line(tmp_path):
    monthly = _monthly_with_averages()
    monthly[3][-1] = "-5"
    result = run(write(tmp_path / "bank", bank(monthly_csv=monthly)))
    assert not result.ok
    assert problems(result)[0].startswith("monthly.csv:4:aum_month_avg: ")


def test_is_ours_wins_over_the_bank_name_and_falls_back_to_it_when_empty(tmp_path, path):
    products = _with_column(BANK["products.csv"], "is_ours", ["false", "TRUE", ""])
    products[1][1] = "Demo Bank Co., Ltd."  # spelled differently from BANK_NAME ...
    products[1][-1] = "true"  # ... but marked as ours
    result = run(write(tmp_path / "bank", bank(products_csv=products)))
    assert result.ok, problems(result)
    ours = dict(Product.objects.values_list("product_code", "is_ours"))
    # OUR-TD: marked true; RIV-WM: marked TRUE (any case); OUR-CARD: empty, provider is BANK_NAME.
    assert ours == {"OUR-TD": True, "RIV-WM": True, "OUR-CARD": True}


def test_is_ours_false_makes_a_product_named_like_the_bank_a_competitors(tmp_path):
    products = _with_column(BANK["products.csv"], "is_ours", ["false", "false", "1"])
    assert run(write(tmp_path / "bank", bank(products_csv=products))).ok
    assert dict(Product.objects.values_list("product_code", "is_ours")) == {
        "OUR-TD": False, "RIV-WM": False, "OUR-CARD": True}


def test_a_value_of_is_ours_that_is_not_a_boolean_is_reported(tmp_path):
    products = _with_column(BANK["products.csv"], "is_ours", ["yes", "false", ""])
    result = run(write(tmp_path / "bank", bank(products_csv=products)))
    assert problems(result) == ["products.csv:2:is_ours: must be true or false, got 'yes'"]


def test_a_customer_without_a_gender_is_imported(tmp_path, path):
    customers = copy.deepcopy(BANK["customers.csv"])
    customers[2][2] = ""
    result = run(write(tmp_path / "bank", bank(customers_csv=customers)))
    assert result.ok, problems(result)
    assert Customer.objects.get(customer_id="C0002").gender == ""
    assert Customer.objects.get(customer_id="C0001").gender == "M"


def test_no_warning_when_some_products_are_ours_and_some_are_not(tmp_path):
    assert run(write(tmp_path / "bank", BANK)).warnings == ()


def test_a_warning_when_no_product_is_ours(tmp_path):
    products = copy.deepcopy(BANK["products.csv"])
    for row in products[1:]:
        row[1] = "Demo Bank Co., Ltd."  # the export spells our name differently: nothing matches
    result = run(write(tmp_path / "bank", bank(products_csv=products)))
    assert result.ok
    assert result.warnings == ("No product is ours: none of the 3 products has is_ours = true or the provider "
                               "'Demo Bank' (BANK_NAME). Mark our products with is_ours in products.csv, or set "
                               "BANK_NAME to the provider name the export uses.",)


def test_a_warning_when_every_product_is_ours_printed_by_the_command_in_chinese(tmp_path):
    products = _with_column(BANK["products.csv"], "is_ours", ["true", "true", "true"])
    directory = write(tmp_path / "bank", bank(products_csv=products))
    out = StringIO()
    with translation.override("zh-hans"):
        call_command("import_bank_data", str(directory), "--no-progress", stdout=out)
    assert "警告：所有产品都属于本行（3 / 3）" in out.getvalue()
