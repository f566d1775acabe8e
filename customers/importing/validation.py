"""Validation of interchange files: one implementation for every database.

Each file is read in large blocks by pyarrow's CSV reader (C++, multi-threaded,
every column as text) and every value is checked with vectorised
``pyarrow.compute`` and numpy, so a 24-million-row monthly.csv is never held in
memory at once and no Python code runs per row, except to word a problem.
(pandas' ``read_csv(dtype=str, chunksize=...)`` would make a Python string of
every cell, several times slower than the whole import's budget; pandas stays
for the small vectorised helpers in ``customers.tiers``.)

Problems are reported as ``file:row:column: reason`` with ``row`` the line in
the file (the header is line 1).

What is checked, per file: required columns present; every value parses and
fits its database column (dates ``YYYY-MM-DD``; months ``YYYY-MM``; numbers as
arrow's decimal parser reads them, such as ``1234.5`` or ``1.2e3`` but not
``1,234``, with no more decimals than the column keeps; integers; choices;
text lengths); references resolve against the database plus the files read
before; natural keys are unique within the file.

A clean block goes to the writer as a ``pyarrow.Table`` (see ``clean_table``):
checked text for numbers and dates, which both databases parse themselves,
and dictionary-encoded code columns.
"""

from __future__ import annotations

import codecs
import csv
import io
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.utils.translation import gettext

from customers import conf
from customers.importing.schema import Column, FileSpec, Kind, Ref

# Bytes per block handed to the CSV reader: about 700,000 monthly rows. Large
# blocks matter: each block costs one hash table over the known customer ids.
BLOCK_SIZE = 64 << 20
# Rows per block when the careful (pure Python) reader takes over.
CAREFUL_BATCH_ROWS = 65_536
# Dates outside this range are typing mistakes (0001-01-01 placeholders, 2204 for 2024).
FIRST_DATE, LAST_DATE = "1900-01-01", "2199-12-31"
_EPOCH_OFFSET = -pa.scalar(FIRST_DATE).cast(pa.date32()).cast(pa.int32()).as_py()  # makes day codes >= 0
_LAST_DAY_CODE = pa.scalar(LAST_DATE).cast(pa.date32()).cast(pa.int32()).as_py() + _EPOCH_OFFSET
_SHOWN_VALUE_LENGTH = 40


# --- problems ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem found in a file. ``line`` is None when it concerns the whole file."""

    file: str
    line: int | None
    columns: str
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(str(self.line))
        if self.columns:
            where.append(self.columns)
        return f"{':'.join(where)}: {self.message}"


@dataclass
class _Pending:
    """A problem whose line is not known yet: rows are counted as data records
    while reading and turned into line numbers at the end (see record_lines)."""

    record: int | None
    line: int | None
    column_order: int
    columns: str
    message: str

    def sort_key(self) -> tuple[int, int]:
        if self.line is not None:
            return (self.line, self.column_order)
        assert self.record is not None, "a pending problem knows its line or its record"
        return (self.record + 2, self.column_order)


class ProblemLog:
    """The problems of one file: an exact count, and the first ``keep`` by position.

    A column that is wrong in every row of a 24-million-row file must not
    create 24 million Python objects, so each check words only its first
    ``keep`` failing rows and the log is pruned as it grows.
    """

    def __init__(self, spec: FileSpec, keep: int) -> None:
        self.spec = spec
        self.keep = keep
        self.count = 0
        self._pending: list[_Pending] = []
        self._order = {name: i for i, name in enumerate(spec.column_names)}

    def add_line(self, line: int | None, message: str, columns: str = "") -> None:
        self.count += 1
        self._pending.append(_Pending(None, line, self._column_order(columns), columns, message))

    def add_rows(self, records: np.ndarray, columns: str, words: Callable[[int], str],
                 total: int | None = None) -> None:
        """Record problems at ``records`` (sorted); ``words(i)`` words the i-th."""
        self.count += len(records) if total is None else total
        order = self._column_order(columns)
        for i, record in enumerate(records[: self.keep]):
            self._pending.append(_Pending(int(record), None, order, columns, words(i)))
        if len(self._pending) > 4 * self.keep:
            self._prune()

    def _column_order(self, columns: str) -> int:
        return self._order.get(columns.split(",")[0], -1)

    def _prune(self) -> None:
        # Lines are unknown here, but records and lines rise together, and
        # line-only problems (structure, encoding) sort by their line.
        self._pending.sort(key=_Pending.sort_key)
        del self._pending[self.keep :]

    def reset(self) -> None:
        self.count = 0
        self._pending.clear()

    def problems(self, path: Path) -> list[Problem]:
        self._prune()
        lines = record_lines(path, [p.record for p in self._pending if p.record is not None])
        resolved = [
            (p.line if p.record is None else lines.get(p.record, p.record + 2), p.column_order, p.columns, p.message)
            for p in self._pending
        ]
        resolved.sort(key=lambda item: (item[0] or 0, item[1]))
        return [Problem(self.spec.name, line, columns, message) for line, _, columns, message in resolved]


def show(value: str | None) -> str:
    """A value as quoted in a message: one line, not too long."""
    text = (value or "").replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= _SHOWN_VALUE_LENGTH else text[: _SHOWN_VALUE_LENGTH - 1] + "…"


# --- what rows may refer to ----------------------------------------------------------------------


@dataclass
class References:
    """Codes a row may refer to: the database's, plus those of the files read so far.

    Codes are kept as pyarrow arrays because ``pc.index_in`` looks a block of
    rows up in them without a Python loop; ``index_in`` positions double as
    integer codes for the duplicate-key check.
    """

    branches: pa.Array
    customers: pa.Array
    products: pa.Array
    staff_roles: dict[str, str]  # staff_code -> role, staff.csv overriding the database
    # User names held by users whose staff code differs: a new staff member cannot take them.
    foreign_usernames: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    _rms: pa.Array | None = None

    def codes(self, ref: Ref) -> pa.Array:
        if ref is Ref.RM:
            if self._rms is None:
                rms = sorted(code for code, role in self.staff_roles.items() if role == "rm")
                self._rms = pa.array(rms, pa.string())
            return self._rms
        return {Ref.BRANCH: self.branches, Ref.CUSTOMER: self.customers, Ref.PRODUCT: self.products}[ref]

    def add(self, ref: Ref, codes: pa.Array) -> None:
        merged = pc.unique(pa.concat_arrays([self.codes(ref), codes.cast(pa.string())]))
        if ref is Ref.BRANCH:
            self.branches = merged
        elif ref is Ref.CUSTOMER:
            self.customers = merged
        elif ref is Ref.PRODUCT:
            self.products = merged

    def add_staff(self, roles: dict[str, str]) -> None:
        self.staff_roles.update(roles)
        self._rms = None


# --- reading -------------------------------------------------------------------------------------


@dataclass
class Batch:
    """A block of rows: the needed columns as text, and each row's data record number."""

    columns: dict[str, pa.Array]
    records: np.ndarray

    @property
    def num_rows(self) -> int:
        return len(self.records)


class _Unreadable(Exception):
    """The fast reader cannot go on; the careful reader will say why, with a line."""


class _Stop(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message


def read_header(path: Path) -> list[str]:
    """The header row's column names, stripped. Raises _Stop when there is none, or when
    it is longer than ``IMPORT_MAX_HEADER_BYTES`` or wider than ``IMPORT_MAX_COLUMNS``:
    both are checked on the raw line before the CSV reader sees it, so a hostile header
    costs a bounded read, not a parse of every column."""
    limit = conf.import_max_header_bytes()
    with path.open("rb") as f:
        first = f.readline(limit + 1)
        if not first.strip():
            raise _Stop(1, gettext("the file is empty; expected a header row"))
        if len(first.rstrip(b"\r\n")) > limit:
            raise _Stop(1, header_too_long_message())
        # Commas bound the column count from above (a quoted name may hold one): enough to refuse early.
        if first.count(b",") + 1 > conf.import_max_columns():
            raise _Stop(1, too_many_columns_message())
        try:
            text = first.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _Stop(1, _encoding_message(exc)) from None
    return [name.strip() for name in next(csv.reader([text]))]


def header_too_long_message() -> str:
    return gettext("the header row is longer than %(kb)d KB") % {"kb": conf.import_max_header_bytes() // 1024}


def too_many_columns_message() -> str:
    return gettext("the header row has more than %(n)d columns") % {"n": conf.import_max_columns()}


def _encoding_message(exc: UnicodeDecodeError) -> str:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return gettext(
        "the file is not valid UTF-8 (byte 0x%(byte)s at position %(position)d of this line); save it as UTF-8"
    ) % {"byte": byte, "position": exc.start + 1}


class _Gate(io.RawIOBase):
    """A file that lets pyarrow's reader run only a few blocks ahead.

    The streaming CSV reader reads ahead as fast as the disk allows, so on a
    2 GB monthly.csv it holds most of the file in memory while validation
    catches up. Here it may read ``ahead`` bytes beyond what the consumer has
    taken (one block per batch); a reader that waits too long is let through
    rather than ever deadlocked.
    """

    def __init__(self, path: Path, ahead: int) -> None:
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self._allowed = ahead
        self._changed = threading.Condition()
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.position < self._allowed, timeout=10)
            size = len(buffer) if self.position >= self._allowed else min(len(buffer), self._allowed - self.position)
        read = self._file.readinto(memoryview(buffer)[:size])
        self.position += read
        return read

    def advance(self, size: int) -> None:
        with self._changed:
            self._allowed += size
            self._changed.notify_all()

    def close(self) -> None:
        self._file.close()
        super().close()


def fast_batches(path: Path, header: list[str], wanted: list[str], *, multiline: bool,
                 on_progress: Callable[[int, int], None] | None = None) -> Iterator[Batch]:
    """Blocks from pyarrow's reader. Any parse problem raises _Unreadable."""
    positions = {name: header.index(name) for name in wanted}
    generated = [f"c{i}" for i in range(len(header))]
    read_options = pacsv.ReadOptions(column_names=generated, skip_rows=1, block_size=BLOCK_SIZE, use_threads=True)
    parse_options = pacsv.ParseOptions(newlines_in_values=multiline)
    convert_options = pacsv.ConvertOptions(
        column_types={generated[p]: pa.string() for p in positions.values()},
        include_columns=[generated[p] for p in positions.values()],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    records = 0
    with _Gate(path, ahead=2 * BLOCK_SIZE) as source:
        try:
            reader = pacsv.open_csv(source, read_options=read_options, parse_options=parse_options,
                                    convert_options=convert_options)
            for block in reader:
                n = block.num_rows
                columns = {name: block.column(generated[p]) for name, p in positions.items()}
                yield Batch(columns, np.arange(records, records + n, dtype=np.int64))
                records += n
                source.advance(BLOCK_SIZE)
                if on_progress is not None:
                    on_progress(records, source.position)
        except pa.ArrowInvalid as exc:
            raise _Unreadable(str(exc)) from exc


def careful_batches(path: Path, header: list[str], wanted: list[str], log: ProblemLog) -> Iterator[Batch]:
    """Blocks from Python's csv module, line by line: slow, but it knows lines.

    Used when pyarrow gave up on a file (a row with the wrong number of fields,
    bytes that are not UTF-8, a broken quote), to report each such row by line
    and still check every other row. Rows are counted exactly as pyarrow
    counts them: blank lines are not rows.
    """
    csv.field_size_limit(1 << 26)
    positions = {name: header.index(name) for name in wanted}
    width = len(header)
    line_source = _decoded_lines(path)
    reader = csv.reader(line_source, strict=True)
    pending: list[list[str]] = []
    pending_records: list[int] = []
    record = 0

    def flush() -> Batch:
        columns = {name: pa.array([row[p] for row in pending], pa.string()) for name, p in positions.items()}
        batch = Batch(columns, np.array(pending_records, dtype=np.int64))
        pending.clear()
        pending_records.clear()
        return batch

    try:
        next(reader)  # the header
        previous_line = reader.line_num
        for row in reader:
            line, previous_line = previous_line + 1, reader.line_num
            if not row:
                continue
            if len(row) != width:
                log.add_line(line, gettext("expected %(expected)d fields, found %(found)d")
                             % {"expected": width, "found": len(row)})
            else:
                pending.append(row)
                pending_records.append(record)
            record += 1
            if len(pending) >= CAREFUL_BATCH_ROWS:
                yield flush()
    except _Stop as stop:
        log.add_line(stop.line, stop.message)
    except csv.Error as exc:
        log.add_line(reader.line_num, gettext("malformed CSV: %(reason)s") % {"reason": exc})
    if pending:
        yield flush()


def _decoded_lines(path: Path) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield decoder.decode(raw)
            except UnicodeDecodeError as exc:
                raise _Stop(number, _encoding_message(exc)) from None


def record_lines(path: Path, records: Iterable[int]) -> dict[int, int]:
    """The line on which each data record (0 = first row after the header) starts."""
    wanted = set(records)
    if not wanted:
        return {}
    if _one_line_per_record(path):
        return {record: record + 2 for record in wanted}
    csv.field_size_limit(1 << 26)
    found: dict[int, int] = {}
    last = max(wanted)
    with path.open("rb") as f:
        lines = (raw.decode("utf-8-sig" if n == 0 else "utf-8", errors="replace") for n, raw in enumerate(f))
        reader = csv.reader(lines)
        try:
            next(reader)
            previous_line = reader.line_num
            record = 0
            for row in reader:
                line, previous_line = previous_line + 1, reader.line_num
                if not row:
                    continue
                if record in wanted:
                    found[record] = line
                if record >= last:
                    break
                record += 1
        except csv.Error:
            pass
    return found


def _one_line_per_record(path: Path) -> bool:
    """True when rows and lines coincide: no quotes (so no line breaks inside
    values) and no blank lines. A cheap byte scan, run only for files with problems."""
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(16 << 20):
            window = tail + chunk
            if b'"' in window or b"\n\n" in window or b"\n\r\n" in window or b"\r\r" in window:
                return False
            tail = window[-2:]
    return True


# --- checking values ----------------------------------------------------------------------------
#
# Every check has a fast path for clean blocks: one vectorised cast of the raw
# column (``pc.cast`` is strict: no 2023-02-29, no "1,000", no "12.345" into
# two decimal places). Only when the cast fails somewhere in the block does the
# careful path run for that column: trim spaces, find empty values, and pin
# down exactly which values are wrong and why. A value is valid exactly when
# arrow's cast of the trimmed value succeeds and it passes the column's range,
# so both paths agree on every value.


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _blank(lengths: pa.Array) -> np.ndarray:
    # Comparing lengths is ten times faster than comparing strings with "".
    return _np(pc.equal(lengths, 0))


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    return _np(pc.match_substring_regex(values, pattern))


def _cast(values: pa.Array, to: pa.DataType) -> pa.Array | None:
    try:
        return pc.cast(values, to)
    except pa.ArrowInvalid:
        return None


def _cast_failures(values: pa.Array, to: pa.DataType, suspects: np.ndarray) -> np.ndarray:
    """Exactly which of the ``suspects`` the cast rejects, by bisection: a few
    casts of shrinking slices per bad value, instead of one cast per value."""
    bad = np.zeros(len(values), dtype=bool)
    rows = np.flatnonzero(suspects)
    subset = values.take(pa.array(rows))
    pending = [(0, len(rows))]
    while pending:
        start, stop = pending.pop()
        if _cast(subset.slice(start, stop - start), to) is not None:
            continue
        if stop - start == 1:
            bad[rows[start]] = True
            continue
        middle = (start + stop) // 2
        pending += [(start, middle), (middle, stop)]
    return bad


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), None, values) if mask.any() else values


@dataclass
class Parsed:
    """A column after checking: typed values (null where empty or bad), the rows
    with a problem, the empty rows, integer codes for the key check, and the
    text to write where it differs from ``values``.

    Writers get text (the checked, trimmed input) for numbers and dates: both
    databases parse text anyway, and formatting a decimal back into text would
    cost arrow more than all the checks on it.
    """

    values: pa.Array
    bad: np.ndarray
    empty: np.ndarray
    codes: np.ndarray | None = None
    wire: pa.Array | None = None


class BatchChecker:
    """Checks one batch of one file and words its problems into the file's log."""

    def __init__(self, spec: FileSpec, batch: Batch, log: ProblemLog, references: References) -> None:
        self.spec = spec
        self.log = log
        self.references = references
        self.records = batch.records
        self.n = batch.num_rows
        self.raw = batch.columns
        self.none = np.zeros(self.n, dtype=bool)

    def fail(self, mask: np.ndarray, column: str, template: str, *,
             extra: Callable[[int], dict] | None = None, **params: object) -> None:
        """Record a problem at every row in ``mask``; ``template`` gets the raw
        value as %(value)s, ``params``, and ``extra(row)`` for row-specific words."""
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        shown = rows[: self.log.keep]
        values = self.raw[column].take(pa.array(shown)).to_pylist()

        def words(i: int) -> str:
            more = extra(int(shown[i])) if extra is not None else {}
            return template % {"value": show(values[i]), **params, **more}

        self.log.add_rows(self.records[shown], column, words, total=len(rows))

    def parse(self, column: Column) -> Parsed:
        parser = {
            Kind.TEXT: self._text,
            Kind.EMAIL: self._email,
            Kind.CHOICE: self._choice,
            Kind.DATE: self._date,
            Kind.MONTH: self._month,
            Kind.AMOUNT: self._decimal,
            Kind.NUMBER: self._decimal,
            Kind.COUNT: self._count,
            Kind.BOOLEAN: self._boolean,
        }[column.kind]
        parsed = parser(column, self.raw[column.name])
        if column.required:
            self.fail(parsed.empty, column.name, gettext("required value is missing"))
            parsed.bad |= parsed.empty
        return parsed

    def _trimmed(self, raw: pa.Array) -> tuple[pa.Array, np.ndarray]:
        text = pc.utf8_trim_whitespace(raw)  # also the ideographic space U+3000
        return text, _blank(pc.utf8_length(text))

    def _text(self, column: Column, raw: pa.Array) -> Parsed:
        text = pc.utf8_trim_whitespace(raw)
        lengths = pc.utf8_length(text)
        empty = _blank(lengths)
        bad = np.zeros(self.n, dtype=bool)
        if column.max_length:
            bad = _np(pc.greater(lengths, column.max_length))
            self.fail(bad, column.name, gettext("must be at most %(max)d characters, got '%(value)s'"),
                      max=column.max_length)
        return Parsed(text, bad, empty)

    def _email(self, column: Column, raw: pa.Array) -> Parsed:
        parsed = self._text(column, raw)
        wrong = ~parsed.empty & ~parsed.bad & ~_matches(parsed.values, r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
        self.fail(wrong, column.name, gettext("must be an email address, got '%(value)s'"))
        parsed.bad |= wrong
        return parsed

    def _choice(self, column: Column, raw: pa.Array) -> Parsed:
        choices = pa.array(column.choices, pa.string())
        index = pc.index_in(raw, value_set=choices)
        if index.null_count == 0:
            return Parsed(raw, self.none.copy(), self.none.copy(), index.to_numpy().astype(np.int64))
        text, empty = self._trimmed(raw)
        index = pc.index_in(text, value_set=choices)
        bad = ~empty & _np(pc.is_null(index))
        self.fail(bad, column.name, gettext("must be one of %(choices)s, got '%(value)s'"),
                  choices=", ".join(column.choices))
        codes = np.asarray(pc.fill_null(index, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return Parsed(_null_where(text, empty | bad), bad, empty, codes)

    def _boolean(self, column: Column, raw: pa.Array) -> Parsed:
        text, empty = self._trimmed(raw)
        lowered = pc.utf8_lower(text)
        truthy = _np(pc.is_in(lowered, value_set=pa.array(["true", "1"])))
        falsy = _np(pc.is_in(lowered, value_set=pa.array(["false", "0"])))
        bad = ~empty & ~truthy & ~falsy
        self.fail(bad, column.name, gettext("must be true or false, got '%(value)s'"))
        values = pa.array(truthy, mask=empty | bad)
        return Parsed(values, bad, empty)

    def _date(self, column: Column, raw: pa.Array) -> Parsed:
        days = _cast(raw, pa.date32())
        if days is not None:
            return self._in_range(column, days, self.none.copy(), self.none.copy(), raw)
        text, empty = self._trimmed(raw)
        filled = pc.if_else(pa.array(empty), FIRST_DATE, text)
        # strptime alone would roll 2023-02-30 over to 03-02; printing the
        # parsed date back and comparing catches that.
        shaped = _matches(filled, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        shaped_text = pc.if_else(pa.array(shaped), filled, FIRST_DATE)
        parsed = pc.strptime(shaped_text, format="%Y-%m-%d", unit="s", error_is_null=True)
        bad = ~empty & ~(shaped & _np(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), shaped_text)))
        self.fail(bad, column.name, gettext("must be a date in YYYY-MM-DD format, got '%(value)s'"))
        days = pc.cast(pc.if_else(pa.array(bad), FIRST_DATE, filled), pa.date32())
        return self._in_range(column, days, bad, empty, text)

    def _month(self, column: Column, raw: pa.Array) -> Parsed:
        first_days = pc.binary_join_element_wise(raw, "01", "-")
        days = _cast(first_days, pa.date32())
        if days is not None:
            return self._in_range(column, days, self.none.copy(), self.none.copy(), first_days)
        text, empty = self._trimmed(raw)
        bad = ~empty & ~_matches(text, r"^[0-9]{4}-(0[1-9]|1[0-2])$")
        self.fail(bad, column.name, gettext("must be a month in YYYY-MM format, got '%(value)s'"))
        first_days = pc.binary_join_element_wise(pc.if_else(pa.array(bad | empty), FIRST_DATE[:7], text), "01", "-")
        return self._in_range(column, pc.cast(first_days, pa.date32()), bad, empty, first_days)

    def _in_range(self, column: Column, days: pa.Array, bad: np.ndarray, empty: np.ndarray,
                  text: pa.Array) -> Parsed:
        codes = days.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64) + _EPOCH_OFFSET
        outside = ~bad & ~empty & ((codes < 0) | (codes > _LAST_DAY_CODE))
        if column.kind is Kind.MONTH:
            template = gettext("must be a month between %(first)s and %(last)s, got '%(value)s'")
            self.fail(outside, column.name, template, first=FIRST_DATE[:7], last=LAST_DATE[:7])
        else:
            template = gettext("must be a date between %(first)s and %(last)s, got '%(value)s'")
            self.fail(outside, column.name, template, first=FIRST_DATE, last=LAST_DATE)
        bad |= outside
        return Parsed(_null_where(days, bad | empty), bad, empty, codes, wire=_null_where(text, bad | empty))

    def _decimal(self, column: Column, raw: pa.Array) -> Parsed:
        to = pa.decimal128(column.max_digits, column.decimal_places)
        signed = column.kind is Kind.NUMBER
        not_a_number = gettext("must be a number, got '%(value)s'") if signed else \
            gettext("must be a non-negative number, got '%(value)s'")
        values = _cast(raw, to)
        if values is not None:
            negative = self.none.copy() if signed else _np(pc.less(values, pa.scalar(Decimal(0), to)))
            self.fail(negative, column.name, not_a_number)
            return Parsed(_null_where(values, negative), negative, self.none.copy(), wire=raw)

        text, empty = self._trimmed(raw)
        whole_digits = column.max_digits - column.decimal_places
        looks_numeric = _matches(text, r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
        plain = looks_numeric & _matches(text, r"^[-+]?[0-9]*\.?[0-9]*$")
        # Plain numbers that cannot fit are named for the reason, which the cast would not give.
        too_precise = plain & _matches(text, rf"\.[0-9]{{{column.decimal_places}}}0*[1-9]")
        too_large = plain & ~too_precise & _matches(text, rf"^[-+]?0*[1-9][0-9]{{{whole_digits}}}")
        suspects = looks_numeric & ~too_precise & ~too_large
        filled = pc.if_else(pa.array(~suspects), "0", text)
        values = _cast(filled, to)
        rejected = self.none.copy()
        if values is None:
            rejected = _cast_failures(filled, to, suspects)
            values = pc.cast(pc.if_else(pa.array(rejected), "0", filled), to)
        negative = self.none.copy()
        if not signed:
            negative = suspects & ~rejected & _np(pc.less(values, pa.scalar(Decimal(0), to)))
        wrong = ~empty & ~looks_numeric | rejected | negative
        self.fail(wrong, column.name, not_a_number)
        self.fail(too_precise, column.name, gettext("must have at most %(places)d decimal places, got '%(value)s'"),
                  places=column.decimal_places)
        self.fail(too_large, column.name, gettext("must be less than %(limit)s, got '%(value)s'"),
                  limit=f"{10**whole_digits:,}")
        bad = wrong | too_precise | too_large
        return Parsed(_null_where(values, bad | empty), bad, empty, wire=_null_where(text, bad | empty))

    def _count(self, column: Column, raw: pa.Array) -> Parsed:
        assert column.max_value is not None, "schema.count() gives every COUNT column its maximum"
        if column.max_value < 2**31 - 1:
            template = gettext("must be an integer from 0 to %(max)d, got '%(value)s'")
        else:
            template = gettext("must be a non-negative integer, got '%(value)s'")
        values = _cast(raw, pa.int64())
        text = raw
        if values is not None:
            empty = self.none.copy()
            bad = _np(pc.or_(pc.less(values, 0), pc.greater(values, column.max_value)))
        else:
            text, empty = self._trimmed(raw)
            # Up to 18 digits always fits an int64, so the cast below cannot fail.
            shaped = _matches(text, r"^-?0*[0-9]{1,18}$")
            values = pc.cast(pc.if_else(pa.array(shaped), text, "0"), pa.int64())
            bad = ~empty & ~(shaped & _np(pc.and_(pc.greater_equal(values, 0),
                                                  pc.less_equal(values, column.max_value))))
        self.fail(bad, column.name, template, max=column.max_value)
        return Parsed(_null_where(values, bad | empty), bad, empty, wire=_null_where(text, bad | empty))

    # References.

    def resolve(self, column: Column, parsed: Parsed) -> None:
        """Look a code column up in the known codes; unknown codes are problems."""
        if column.ref is None:
            raise ValueError(f"{column.name} is not a code column")
        codes = lookup(parsed.values, self.references.codes(column.ref))
        unknown = ~parsed.bad & ~parsed.empty & (codes < 0)
        if column.ref is Ref.RM:
            roles = self.references.staff_roles
            other_role = np.zeros(self.n, dtype=bool)
            if unknown.any():
                rows = np.flatnonzero(unknown)
                values = parsed.values.take(pa.array(rows)).to_pylist()
                other_role[rows[[value in roles for value in values]]] = True
            self.fail(unknown & ~other_role, column.name, gettext("unknown relationship manager '%(value)s'"))
            self.fail(other_role, column.name,
                      gettext("staff member '%(value)s' is not a relationship manager (role: %(role)s)"),
                      extra=lambda row: {"role": roles.get(parsed.values[row].as_py(), "")})
        else:
            template = {
                Ref.BRANCH: gettext("unknown branch '%(value)s'"),
                Ref.CUSTOMER: gettext("unknown customer '%(value)s'"),
                Ref.PRODUCT: gettext("unknown product '%(value)s'"),
            }[column.ref]
            self.fail(unknown, column.name, template)
        parsed.bad |= unknown
        parsed.codes = codes


def lookup(values: pa.Array, known: pa.Array) -> np.ndarray:
    """Each value's position in ``known``, -1 where it is not there.

    ``pc.index_in`` builds a hash table of ``known`` on every call: for a
    million customer ids that is most of the cost. When a block holds few
    distinct values (monthly.csv sorted by customer: 24 rows each) the table is
    built over the block's distinct values instead and ``known`` is probed.
    """
    n = len(values)
    if n > 1000 and len(known) > 100_000:
        changes = pc.sum(pc.not_equal(values.slice(1), values.slice(0, n - 1))).as_py() or 0
        if changes < n // 4:
            encoded = pc.dictionary_encode(values)
            where = pc.index_in(known, value_set=encoded.dictionary)
            hits = np.flatnonzero(_np(pc.is_valid(where)))
            position = np.full(len(encoded.dictionary), -1, dtype=np.int64)
            position[where.take(pa.array(hits)).to_numpy().astype(np.int64)] = hits
            return position[encoded.indices.to_numpy()]
    index = pc.index_in(values, value_set=known)
    return np.asarray(pc.fill_null(index, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


# --- a whole file -------------------------------------------------------------------------------


class KeyTracker:
    """Finds rows whose natural key repeats an earlier row, across all blocks.

    Each key column becomes an integer code per row (a position among the
    known codes, days since 1900, a choice's index, or for free text a
    dictionary code assigned at the end); the codes are packed into int64
    words with the record number in the low bits, so one numpy sort over
    24 million int64 values puts equal keys next to each other, first
    occurrence first.
    """

    def __init__(self, spec: FileSpec) -> None:
        self.spec = spec
        self._codes: list[list[np.ndarray | pa.Array]] = [[] for _ in spec.key]
        self._records: list[np.ndarray] = []

    def add(self, parsed: dict[str, Parsed], records: np.ndarray) -> None:
        ok = np.ones(len(records), dtype=bool)
        for name in self.spec.key:
            ok &= ~parsed[name].bad & ~parsed[name].empty
        rows = np.flatnonzero(ok) if not ok.all() else None
        for i, name in enumerate(self.spec.key):
            column = parsed[name]
            if column.codes is not None:
                codes = column.codes if rows is None else column.codes[rows]
                self._codes[i].append(codes.astype(np.int32))
            else:
                self._codes[i].append(column.values if rows is None else column.values.take(pa.array(rows)))
        self._records.append((records if rows is None else records[rows]).astype(np.int32))

    def duplicates(self, keep: int) -> tuple[int, list[tuple[int, int, tuple[str, ...]]]]:
        """How many rows repeat a key, and the first ``keep`` as (record, first record, key values)."""
        if not self._records:
            return 0, []
        records = np.concatenate(self._records)
        self._records.clear()
        codes: list[np.ndarray] = []
        decoders: list[Callable[[int], str]] = []
        for i, name in enumerate(self.spec.key):
            parts = self._codes[i]
            if parts and isinstance(parts[0], np.ndarray):
                self._codes[i] = []  # let the parts go as soon as they are copied
                codes.append(np.concatenate(parts))
                del parts
                decoders.append(self._decoder(name))
            else:
                encoded = pa.chunked_array(parts, pa.string()).combine_chunks().dictionary_encode()
                codes.append(np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32))

                def decode(code: int, dictionary: pa.Array = encoded.dictionary) -> str:
                    return dictionary[code].as_py()
                decoders.append(decode)
            self._codes[i] = []
        order, same = _sort_keys(codes)
        if not same.any():
            return 0, []
        # Position p in key order repeats the key at p - 1; its group starts at
        # the last position before it that does not repeat.
        dup_positions = np.flatnonzero(same) + 1
        starts = np.flatnonzero(~same) + 1
        starts = np.concatenate([[0], starts])
        group_start = starts[np.searchsorted(starts, dup_positions, side="right") - 1]
        dup_records = records[order[dup_positions]]
        first_records = records[order[group_start]]
        shown = np.argsort(dup_records, kind="stable")[:keep]
        found = []
        for position in shown:
            at = order[dup_positions[position]]
            key = tuple(decode(int(codes[i][at])) for i, decode in enumerate(decoders))
            found.append((int(dup_records[position]), int(first_records[position]), key))
        return len(dup_positions), found

    def _decoder(self, name: str) -> Callable[[int], str]:
        column = self.spec.column(name)
        if column.kind in (Kind.DATE, Kind.MONTH):
            def decode(code: int) -> str:
                day = pa.scalar(code - _EPOCH_OFFSET, pa.int32()).cast(pa.date32()).as_py()
                return day.strftime("%Y-%m" if column.kind is Kind.MONTH else "%Y-%m-%d")
            return decode
        if column.kind is Kind.CHOICE:
            return lambda code: column.choices[code]
        ref = column.ref
        if ref is None:
            raise ValueError(f"{name} is neither a date, a choice nor a code column")
        return lambda code: self._known[ref][code].as_py()

    def remember(self, references: References) -> None:
        """The known codes that reference columns' codes index into."""
        self._known = {ref: references.codes(ref) for ref in Ref}


def _sort_keys(codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Row positions in key order (rows with equal keys in file order), and for
    each adjacent pair in that order whether the keys are equal."""
    n = len(codes[0])
    bits = [max(int(c.max()).bit_length(), 1) if n else 1 for c in codes]
    position_bits = max(n - 1, 1).bit_length()
    if sum(bits) + position_bits <= 63:
        # The common case (monthly.csv: 20 bits of customer, 17 of month, 25 of
        # position): one int64 per row and one in-place sort, instead of an
        # argsort over several arrays. Positions rise with records, so the
        # first row of a run of equal keys is the one seen first.
        # In-place ufuncs throughout: 24 million rows must not need several
        # int64 temporaries of 190 MB each.
        packed = np.zeros(n, dtype=np.int64)
        for c, b in zip(codes, bits, strict=True):
            np.left_shift(packed, b, out=packed)
            np.bitwise_or(packed, c, out=packed)
        np.left_shift(packed, position_bits, out=packed)
        np.bitwise_or(packed, np.arange(n, dtype=np.int64), out=packed)
        packed.sort()
        # Equal keys differ only in the position bits.
        same = np.empty(max(n - 1, 0), dtype=bool)
        step = 1 << 22
        for start in range(0, n - 1, step):
            stop = min(start + step, n - 1)
            same[start:stop] = (packed[start + 1:stop + 1] ^ packed[start:stop]) < (1 << position_bits)
        np.bitwise_and(packed, (1 << position_bits) - 1, out=packed)
        return packed, same
    order = np.lexsort([np.arange(n), *reversed(codes)])
    same = np.ones(max(n - 1, 0), dtype=bool)
    for c in codes:
        ordered = c[order]
        same &= ordered[1:] == ordered[:-1]
    return order, same


@dataclass
class FileResult:
    rows: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)


def clean_table(spec: FileSpec, parsed: dict[str, Parsed], *, bank_name: str, references: References,
                typed: bool = False) -> pa.Table:
    """The typed rows of a clean batch, named after the file's columns, plus
    derived columns (``phone_tail``, ``id_tail``, ``is_ours``).

    Numbers and dates come as the checked text, which the database parses
    itself, or with ``typed`` as the values parsed here (decimal128, date32,
    int64), for a writer that sends them in binary.

    A code column that refers to another file comes as a dictionary array over
    the known codes, its indices being the positions the lookup found, so a
    writer that needs keys can map the known codes once instead of every row;
    an empty optional code (``rm_code``) is a null there.
    """
    columns: dict[str, pa.Array] = {}
    rows = len(next(iter(parsed.values())).bad) if parsed else 0
    for column in spec.columns:
        if column.name not in parsed:
            if column.optional_column:
                columns[column.name] = pa.nulls(rows, pa.bool_() if column.kind is Kind.BOOLEAN else pa.string())
            continue
        values = parsed[column.name].values if typed or parsed[column.name].wire is None else parsed[column.name].wire
        if column.ref is not None and column.ref is not spec.defines:
            # An empty optional code (rm_code: no RM yet) is a null index, which
            # every writer turns into a NULL foreign key.
            codes, empty = parsed[column.name].codes, parsed[column.name].empty
            assert codes is not None, "checker.resolve() gave every code column its codes"
            indices = pa.array(np.where(empty, 0, codes), mask=empty) if empty.any() else pa.array(codes)
            values = pa.DictionaryArray.from_arrays(indices, references.codes(column.ref))
        elif column.kind in (Kind.TEXT, Kind.EMAIL, Kind.CHOICE) and not column.required:
            values = pc.fill_null(values, "")  # blank text columns (and gender) are NOT NULL
        columns[column.name] = values
    if spec.kind == "customers":
        # Bulk writes skip Customer.save(), which keeps these for the walk-in lookup.
        columns["phone_tail"] = pc.utf8_slice_codeunits(columns["phone"], -4)
        columns["id_tail"] = pc.utf8_slice_codeunits(columns["id_number"], -4)
    if spec.kind == "consents":
        # What the file says, from the import: no member of staff set it.
        columns["source"] = pa.array(["import"] * rows, pa.string())
        columns["set_by"] = pa.nulls(rows, pa.int64())
    if spec.kind == "products":
        # An explicit is_ours wins; where it is empty (or the column absent) the provider's name decides.
        columns["is_ours"] = pc.coalesce(columns["is_ours"], pc.equal(columns["provider"], bank_name))
    return pa.table(columns)


def validate_file(
    path: Path,
    spec: FileSpec,
    references: References,
    *,
    keep: int,
    bank_name: str,
    on_clean: Callable[[pa.Table], None],
    on_restart: Callable[[], None],
    on_progress: Callable[[int, int], None] | None = None,
    typed: bool = False,
) -> FileResult:
    """Check every row of one file; hand each clean block to ``on_clean``.

    Blocks stop going to ``on_clean`` at the file's first problem, but a
    duplicate key is only found at the end, so the caller must still look at
    the result before using what it received. If pyarrow cannot parse the
    file, the careful reader starts again from the top, after ``on_restart``.
    Afterwards ``references`` include this file's codes. ``typed``: see ``clean_table``.
    """
    log = ProblemLog(spec, keep)
    try:
        header = read_header(path)
    except _Stop as stop:
        log.add_line(stop.line, stop.message)
        return FileResult(0, log.count, log.problems(path))
    missing = [column.name for column in spec.columns if column.name not in header and not column.optional_column]
    for name in missing:
        log.add_line(1, gettext("missing required column"), columns=name)
    if missing:
        # A failed header fails the file: rows read against it would only add noise (and cost).
        return FileResult(0, log.count, log.problems(path))
    wanted = [name for name in spec.column_names if name in header]

    def run(batches: Iterator[Batch]) -> tuple[int, KeyTracker | None, list[pa.Array], dict[str, str]]:
        rows = 0
        tracker = KeyTracker(spec) if all(name in wanted for name in spec.key) else None
        if tracker is not None:
            tracker.remember(references)
        defined: list[pa.Array] = []
        staff: dict[str, str] = {}
        for batch in batches:
            rows += batch.num_rows
            checker = BatchChecker(spec, batch, log, references)
            parsed = {name: checker.parse(spec.column(name)) for name in wanted}
            for name in wanted:
                column = spec.column(name)
                if column.ref is not None and column.ref is not spec.defines:
                    checker.resolve(column, parsed[name])
            _cross_checks(spec, checker, parsed, references)
            if tracker is not None:
                tracker.add(parsed, batch.records)
            _collect_definitions(spec, parsed, defined, staff)
            if not missing and not log.count:
                on_clean(clean_table(spec, parsed, bank_name=bank_name, references=references, typed=typed))
        return rows, tracker, defined, staff

    try:
        rows, tracker, defined, staff = run(fast_batches(path, header, wanted, multiline=spec.multiline,
                                                         on_progress=on_progress))
    except _Unreadable:
        log.reset()
        for name in missing:
            log.add_line(1, gettext("missing required column"), columns=name)
        on_restart()
        rows, tracker, defined, staff = run(careful_batches(path, header, wanted, log))

    if tracker is not None:
        total, found = tracker.duplicates(keep)
        columns = ",".join(spec.key)
        if found:
            lines = record_lines(path, [first for _, first, _ in found])
            records = np.array([record for record, _, _ in found], dtype=np.int64)
            log.add_rows(records, columns, lambda i: gettext("duplicate key (%(key)s), first seen at row %(row)s") % {
                "key": ", ".join(found[i][2]), "row": lines.get(found[i][1], "?")}, total=total)
    if spec.defines is not None and defined:
        references.add(spec.defines, pa.concat_arrays(defined))
    if staff:
        references.add_staff(staff)
    return FileResult(rows, log.count, log.problems(path))


def _cross_checks(spec: FileSpec, checker: BatchChecker, parsed: dict[str, Parsed], references: References) -> None:
    """Checks that involve more than one column, or the database's users."""
    if spec.kind == "holdings" and "start_on" in parsed and "maturity_on" in parsed:
        start, maturity = parsed["start_on"], parsed["maturity_on"]
        comparable = ~start.bad & ~start.empty & ~maturity.bad & ~maturity.empty
        before = comparable & _np(pc.less(maturity.values, start.values))
        checker.fail(before, "maturity_on", gettext("must not be before start_on (%(start)s), got '%(value)s'"),
                     extra=lambda row: {"start": start.values[row].as_py().isoformat()})
        maturity.bad |= before
    if spec.kind == "staff" and "staff_code" in parsed and len(references.foreign_usernames):
        code = parsed["staff_code"]
        taken = ~code.bad & ~code.empty & _np(pc.is_in(code.values, value_set=references.foreign_usernames))
        checker.fail(taken, "staff_code", gettext("user name '%(value)s' already belongs to another user"))
        code.bad |= taken


def _collect_definitions(spec: FileSpec, parsed: dict[str, Parsed], defined: list[pa.Array],
                         staff: dict[str, str]) -> None:
    """Codes this file brings, for later files to refer to. A row with a
    problem elsewhere still defines its code, so one bad customer row is one
    problem, not one more per monthly row of that customer."""
    if spec.defines is not None:
        key = parsed.get(spec.key[0])
        if key is not None:
            usable = ~key.bad & ~key.empty
            defined.append(key.values.filter(pa.array(usable)))
    if spec.kind == "staff" and "staff_code" in parsed and "role" in parsed:
        code, role = parsed["staff_code"], parsed["role"]
        usable = pa.array(~code.bad & ~code.empty & ~role.bad & ~role.empty)
        staff.update(zip(code.values.filter(usable).to_pylist(), role.values.filter(usable).to_pylist(), strict=True))
