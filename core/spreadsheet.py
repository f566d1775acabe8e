"""The one spreadsheet-formula guard, for every export (CSV, Excel) and every upload; and the
one way an export becomes a CSV or an Excel file with typed cells (``Column``, ``table_csv``,
``table_xlsx``).

A cell that Excel or LibreOffice would evaluate ("=HYPERLINK(...)", "+cmd|...", "@SUM(...)")
is a formula-injection risk on both sides: in files we write for staff and in the
bank's export files we accept. A signed number (-5, +86138...) is not a formula and
stays a number: refusing "-1250.50" in an upload, or turning it into text "'-5" in an
export, would break honest data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from django.utils import timezone

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def looks_like_formula(cell: str) -> bool:
    """A text cell a spreadsheet would evaluate: = or @ first, a tab or carriage return
    first, or + / - first when the cell is not simply a signed number."""
    if not cell:
        return False
    first = cell[0]
    if first in "=@\t\r":
        return True
    if first in "+-":
        return not _NUMBER.match(cell.strip())
    return False


def spreadsheet_safe(value):
    """``value`` ready for a cell: numbers stay numbers, text that would run as a formula
    is prefixed with ' (shown as text), anything else (lazy translations) becomes text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = "" if value is None else str(value)
    return "'" + text if looks_like_formula(text) else text


def csv_response(*, header: list[str], rows: Iterable[list], filename: str) -> tuple[HttpResponse, int]:
    """A UTF-8 CSV (with a byte-order mark, so Excel keeps Chinese names intact) with every
    cell passed through ``spreadsheet_safe``; returns the response and the number of data rows."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    count = 0
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
        count += 1
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response, count


# --- typed tables: one list of columns, written as CSV or as Excel ------------------------------

ColumnKind = Literal["text", "integer", "cny", "percent", "date"]

# Excel number formats: amounts with thousands separators and fen, shares as percentages,
# dates as dates (sortable and filterable as such, not text).
NUMBER_FORMATS: dict[str, str] = {
    "integer": "0",
    "cny": "#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
}
_WIDTHS: dict[str, int] = {"text": 18, "integer": 8, "cny": 16, "percent": 10, "date": 12}


@dataclass(frozen=True)
class Column:
    """One column of an export: its header (the page's own wording) and the kind of its
    cells. A number or date column holds numbers or dates (None: an empty cell), never text."""

    header: str
    kind: ColumnKind = "text"
    width: int | None = None  # characters; None: the kind's default
    wrap: bool = False  # text on several lines (reasons)


def _typed(column: Column, value):
    if value is None or value == "":
        return None
    if column.kind == "text":
        return spreadsheet_safe(value)
    if column.kind == "date":
        if not isinstance(value, dt.date):
            raise TypeError(f"{column.header}: a date column got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"{column.header}: a number column got {value!r}")
    return value


def table_csv(*, columns: Sequence[Column], rows: Iterable[Sequence]) -> str:
    """UTF-8 CSV text (with a byte-order mark, so that Excel keeps Chinese names intact):
    the headers, then the rows; dates as YYYY-MM-DD, numbers as plain numbers."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_safe(column.header) for column in columns])
    for row in rows:
        cells = [_typed(column, value) for column, value in zip(columns, row, strict=True)]
        writer.writerow(["" if cell is None else cell.isoformat() if isinstance(cell, dt.date) else cell
                         for cell in cells])
    return buffer.getvalue()


def table_xlsx(*, title: str, columns: Sequence[Column], rows: Sequence[Sequence]) -> bytes:
    """An Excel workbook of one sheet: a bold header row, frozen, with an auto-filter over the
    table; numbers and dates as cells of those types with the column's number format (CNY
    with thousands separators, shares as percentages); text guarded against formulas.
    Written in openpyxl's write-only mode (rows streamed, so a long export stays small in memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    # Excel refuses sheet titles over 31 characters or with []:*?/\ in them.
    sheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31] or "Sheet1")
    # Write-only: the view, the filter and the column widths are set before the first row.
    sheet.freeze_panes = "A2"
    last = f"{get_column_letter(len(columns))}{len(rows) + 1}"
    sheet.auto_filter.ref = f"A1:{last}"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width or _WIDTHS[column.kind]
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=spreadsheet_safe(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for column, value in zip(columns, row, strict=True):
            cell = WriteOnlyCell(sheet, value=_typed(column, value))
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
            if column.wrap:
                cell.alignment = wrap
            cells.append(cell)
        sheet.append(cells)
    binary = io.BytesIO()
    workbook.save(binary)
    return binary.getvalue()
