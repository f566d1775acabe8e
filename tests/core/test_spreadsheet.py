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
