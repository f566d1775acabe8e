"""File-level guards for uploaded interchange files, run before anything is written.

The import engine (``customers.services.bank_data_import``) checks every row and
column; these checks come first and concern the file as a whole: a known name,
a size limit, text not binary, UTF-8, no absurdly long line, and no cell that a
spreadsheet would run as a formula (the files come from export jobs, and are
opened in Excel by people on both sides).
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from core.spreadsheet import looks_like_formula
from customers import conf
from customers.importing.schema import FILES
from customers.importing.validation import header_too_long_message, too_many_columns_message

KNOWN_NAMES = tuple(spec.name for spec in FILES)
MAX_LINE_BYTES = 1024 * 1024
SNIFF_BYTES = 8192
CHUNK = 1024 * 1024
# Excel, zip (xlsx/docx), PDF, gzip, old Office: someone uploaded the wrong export.
MAGIC = {
    b"PK\x03\x04": "a zip/xlsx file",
    b"%PDF": "a PDF file",
    b"\x1f\x8b": "a gzip file",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file",
}
MAX_FORMULA_PROBLEMS = 20


@dataclass(frozen=True)
class UploadProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


def upload_problems(files: list[UploadedFile]) -> list[UploadProblem]:
    """Everything wrong with the uploaded set at file level; empty when it may go to the import."""
    problems: list[UploadProblem] = []
    if not files:
        return [UploadProblem("-", None, _("no file uploaded"))]
    if len(files) > conf.import_max_files():
        return [UploadProblem("-", None, _("at most %(n)d files at a time") % {"n": conf.import_max_files()})]
    seen: set[str] = set()
    for upload in files:
        name = upload.name or ""
        if name not in KNOWN_NAMES:
            problems.append(UploadProblem(name or "-", None, _("not an interchange file; expected one of %(names)s")
                                          % {"names": ", ".join(KNOWN_NAMES)}))
            continue
        if name in seen:
            problems.append(UploadProblem(name, None, _("uploaded twice")))
            continue
        seen.add(name)
        # Django sets the size of every uploaded file; one without a size is refused, not read.
        if upload.size is None or upload.size > conf.import_max_file_bytes():
            problems.append(UploadProblem(name, None, _("larger than %(mb)d MB")
                                          % {"mb": conf.import_max_file_bytes() // (1024 * 1024)}))
            continue
        problems += _content_problems(upload)
    return problems


def _content_problems(upload: UploadedFile) -> list[UploadProblem]:
    name = upload.name or "-"
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            return [UploadProblem(name, None, _("this is %(what)s, not CSV: export the data as CSV (UTF-8)")
                                  % {"what": what})]
    if b"\x00" in head:
        return [UploadProblem(name, None, _("binary data, not CSV text"))]
    header_problem = _header_problem(upload)
    if header_problem is not None:
        return [header_problem]

    # One pass over the bytes: UTF-8 (with or without BOM), line lengths, NUL bytes.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line, line_bytes = 1, 0
    for chunk in upload.chunks(CHUNK):
        if b"\x00" in chunk:
            return [UploadProblem(name, line, _("binary data (a NUL byte), not CSV text"))]
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            return [UploadProblem(name, line + chunk[: max(exc.start, 0)].count(b"\n"),
                                  _("not UTF-8 text (GBK or another encoding?): save the file as UTF-8"))]
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                line_bytes += len(chunk) - start
                break
            line_bytes += newline - start
            if line_bytes > MAX_LINE_BYTES:
                return [UploadProblem(name, line, _("line longer than %(kb)d KB") % {"kb": MAX_LINE_BYTES // 1024})]
            line, line_bytes, start = line + 1, 0, newline + 1
        if line_bytes > MAX_LINE_BYTES:
            return [UploadProblem(name, line, _("line longer than %(kb)d KB") % {"kb": MAX_LINE_BYTES // 1024})]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return [UploadProblem(name, line, _("not UTF-8 text: the file ends in the middle of a character"))]
    upload.seek(0)
    return _formula_problems(upload)


def _header_problem(upload: UploadedFile) -> UploadProblem | None:
    """The header line, read no further than its size limit: too long or too wide is
    refused here, before the byte pass, the formula scan or the import parse any of it."""
    name = upload.name or "-"
    limit = conf.import_max_header_bytes()
    upload.seek(0)
    first = upload.readline(limit + 1)
    upload.seek(0)
    if len(first.rstrip(b"\r\n")) > limit:
        return UploadProblem(name, 1, header_too_long_message())
    # Commas bound the column count from above (a quoted name may hold one): enough to refuse early.
    if first.count(b",") + 1 > conf.import_max_columns():
        return UploadProblem(name, 1, too_many_columns_message())
    return None


def _formula_problems(upload: UploadedFile) -> list[UploadProblem]:
    name = upload.name or "-"
    problems = []
    upload.seek(0)  # an upload always has its file open here: seek() would have failed
    assert upload.file is not None
    text = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, [])
        for row in reader:
            for column, cell in zip(header, row, strict=False):
                if looks_like_formula(cell):
                    # Only the first character is echoed: the cell may hold personal data.
                    start = {"\t": "TAB", "\r": "CR"}.get(cell[0], cell[0])
                    problems.append(UploadProblem(
                        name, reader.line_num,
                        _("column %(column)s starts like a spreadsheet formula (%(start)s…); remove the leading "
                          "character") % {"column": column, "start": start},
                    ))
                    if len(problems) >= MAX_FORMULA_PROBLEMS:
                        return problems
    except csv.Error as exc:
        problems.append(UploadProblem(name, None, _("not readable as CSV: %(error)s") % {"error": exc}))
    finally:
        text.detach()
        upload.seek(0)
    return problems
