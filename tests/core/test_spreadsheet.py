"""The one spreadsheet-formula guard, for exports and uploads alike."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from core.spreadsheet import csv_response, looks_like_formula, spreadsheet_safe


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
                                  "-cmd", "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://x\")"])
def test_a_cell_that_would_run_as_a_formula_is_neutralised(cell):
    assert looks_like_formula(cell)
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("value", [-5, -5.5, 0, 1250, Decimal("-1250.50")])
def test_a_number_stays_a_number(value):
    assert spreadsheet_safe(value) == value


@pytest.mark.parametrize("text", ["-5", "-1250.50", "+8613812345678", "1e5", "王芳", "", "a=b"])
def test_signed_numbers_and_plain_text_written_as_text_are_not_formulas(text):
    assert not looks_like_formula(text)
    assert spreadsheet_safe(text) == text


def test_the_csv_export_neutralises_every_cell_and_keeps_numbers(settings):
    response, count = csv_response(header=["name", "aum"], rows=[["=cmd", -5], ["王芳", "-5"]], filename="x")
    body = response.content.decode("utf-8-sig")
    assert count == 2
    assert list(csv.reader(io.StringIO(body))) == [["name", "aum"], ["'=cmd", "-5"], ["王芳", "-5"]]


# --- typed tables ------------------------------------------------------------------------------


def test_a_number_or_date_column_refuses_text():
    from core.spreadsheet import Column, table_csv

    with pytest.raises(TypeError):
        table_csv(columns=[Column("aum", "cny")], rows=[["1,000"]])
    with pytest.raises(TypeError):
        table_csv(columns=[Column("due", "date")], rows=[["2024-05-15"]])


def test_a_table_in_excel_keeps_types_and_guards_text():
    import datetime as dt

    from openpyxl import load_workbook

    from core.spreadsheet import Column, table_xlsx

    columns = [Column("name"), Column("aum", "cny"), Column("share", "percent"), Column("due", "date")]
    data = table_xlsx(title="cases: [all]", columns=columns,
                      rows=[["=cmd", Decimal("1234.5"), 0.25, dt.date(2024, 5, 15)], ["王芳", None, None, None]])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "cases   all "
    assert [c.value for c in sheet[2]] == ["'=cmd", 1234.5, 0.25, dt.datetime(2024, 5, 15)]
    assert [c.number_format for c in sheet[2]][1:] == ["#,##0.00", "0.0%", "yyyy-mm-dd"]
    assert [c.value for c in sheet[3]] == ["王芳", None, None, None]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D3" and sheet["A1"].font.bold
