"""The one spreadsheet-formula guard, for every export (CSV, Excel) and every upload.

A cell that Excel or LibreOffice would evaluate ("=HYPERLINK(...)", "+cmd|...", "@SUM(...)")
is a formula-injection risk on both sides: in files we write for staff and in the
bank's export files we accept. A signed number (-5, +86138...) is not a formula and
stays a number: refusing "-1250.50" in an upload, or turning it into text "'-5" in an
export, would break honest data.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from decimal import Decimal

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
