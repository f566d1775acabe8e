"""The list's export as a branch user opens it: every reason of every active signal, the
list's own column names in the user's language, and an Excel file with typed cells (numbers
and dates, CNY and percentages formatted), a bold frozen header row and an auto-filter."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.pages.conftest import TODAY, open_case, score

pytestmark = pytest.mark.django_db


def _export(client, user, fmt, language="en"):
    client.force_login(user)
    response = client.get(reverse("retention:case_export", args=[fmt]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response


def _sheet(response):
    return load_workbook(io.BytesIO(response.content)).active


def _two_signal_case(bank):
    score(bank.customer)
    return open_case(bank.customer, signals=("model_risk", "aum_drop"), priority=Decimal("12345.67"),
                     aum_at_risk=Decimal("1234567.89"))


def test_the_export_carries_every_reason_of_every_signal(client, bank):
    _two_signal_case(bank)
    rows = list(csv.reader(io.StringIO(_export(client, bank.owner, "csv").content.decode("utf-8-sig"))))
    reasons = rows[1][rows[0].index("Reasons")].split("\n")
    # Two reasons of the model, one of the AUM drop.
    assert len(reasons) == 3 and all(reasons)
    sheet = _sheet(_export(client, bank.owner, "xlsx"))
    header = [cell.value for cell in sheet[1]]
    assert sheet.cell(row=2, column=header.index("Reasons") + 1).value.count("\n") == 2


@pytest.mark.parametrize("language,due,aum", [
    ("en", "Due", "AUM at risk (CNY)"),
    ("zh-hans", "截止", "风险资产（元）"),
])
def test_the_export_is_headed_with_the_lists_column_names(client, bank, language, due, aum):
    _two_signal_case(bank)
    page = _export(client, bank.owner, "csv", language)
    header = next(csv.reader(io.StringIO(page.content.decode("utf-8-sig"))))
    assert due in header and aum in header and "到期日" not in header and "Due on" not in header
    client.force_login(bank.owner)
    listing = client.get(reverse("retention:case_list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert aum in listing


def test_the_excel_export_has_typed_cells_a_bold_frozen_header_and_a_filter(client, bank):
    case = _two_signal_case(bank)
    sheet = _sheet(_export(client, bank.owner, "xlsx"))
    header = [cell.value for cell in sheet[1]]

    def cell(name):
        return sheet.cell(row=2, column=header.index(name) + 1)

    assert all(c.font.bold for c in sheet[1]) and not cell("Customer").font.bold
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:T{sheet.max_row}" and sheet.max_column == 20
    aum = cell("AUM at risk (CNY)")
    assert aum.data_type == "n" and aum.value == pytest.approx(1234567.89) and aum.number_format == "#,##0.00"
    assert cell("Expected value (CNY)").value == pytest.approx(12345.67)
    probability = cell("Churn probability")
    assert isinstance(probability.value, float) and probability.number_format == "0.0%"
    assert isinstance(cell("Rank").value, int)
    due = cell("Due")
    first_due = min(t.due_on for t in case.tasks.all())
    assert due.is_date and due.value == dt.datetime.combine(first_due, dt.time()) and due.number_format == "yyyy-mm-dd"
    assert cell("Customer ID").data_type == "s"


def test_the_csv_export_writes_dates_and_plain_numbers(client, bank):
    _two_signal_case(bank)
    rows = list(csv.reader(io.StringIO(_export(client, bank.owner, "csv").content.decode("utf-8-sig"))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert dt.date.fromisoformat(row["Due"]) >= TODAY
    assert Decimal(row["AUM at risk (CNY)"]) == Decimal("1234567.89")
