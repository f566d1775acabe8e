"""Rows in PostgreSQL's binary COPY format, built with numpy.

``COPY ... FROM STDIN WITH (FORMAT binary)`` spares the server parsing text:
for monthly.csv's five numerics and a date per row that parsing was most of
the COPY's CPU. Every value is sent in the column type's binary form (``int2``,
``int4``, ``int8``, ``date``, ``numeric`` up to 18 digits with at most 4
decimals, ``varchar``/``text``, ``boolean``); a column of any other type makes
``encoder`` return None, and the caller keeps to CSV.

A block is assembled column by column without a Python loop per row: a
column whose fields all have the same width (no nulls; text of one length,
such as ``active``/``closed``) is an ``n x width`` byte matrix, and the row
bytes are those matrices side by side; other columns are scattered into place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
_POSTGRES_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
_NUMERIC_NEG = 0x4000


@dataclass
class _Fixed:
    """Bytes of the same width on every row: ``template`` where they are the
    same on every row too, ``fill`` writes the rest into an ``n x width``
    uint8 view of the rows."""

    template: bytes
    fill: Callable[[np.ndarray], None] | None = None


@dataclass
class _Varying:
    """Bytes of different lengths per row: ``data`` holds them back to back."""

    data: np.ndarray  # uint8
    lengths: np.ndarray  # int64, one per row


Piece = _Fixed | _Varying
Encoder = Callable[[pa.Array], list[Piece]]


def _word(value: int, width: int = 4) -> bytes:
    return value.to_bytes(width, "big", signed=True)


def _put(values: np.ndarray, dtype: str, skip: int = 4) -> Callable[[np.ndarray], None]:
    """A fill writing ``values`` in network order after the length word."""

    def fill(rows: np.ndarray) -> None:
        rows[:, skip:].view(dtype)[:, 0] = values

    return fill


def _field(payload: np.ndarray, dtype: str, valid: np.ndarray | None) -> list[Piece]:
    """A field of a fixed-width type: its length word, then the value (none for NULL)."""
    width = np.dtype(dtype).itemsize
    if valid is None:
        return [_Fixed(_word(width) + bytes(width), _put(payload, dtype))]
    lengths = np.where(valid, width, -1)
    return [_Fixed(bytes(4), _put(lengths, ">i4", skip=0)),
            _Varying(np.ascontiguousarray(payload[valid].astype(dtype)).view(np.uint8),
                     np.maximum(lengths, 0).astype(np.int64))]


def _valid(values: pa.Array) -> np.ndarray | None:
    if not values.null_count:
        return None
    return np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _plain(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary.take(values.indices)
    return values


def _integer(width: int) -> Encoder:
    low, high = -(2 ** (8 * width - 1)), 2 ** (8 * width - 1) - 1

    def encode(values: pa.Array) -> list[Piece]:
        values = _plain(values)
        if not pa.types.is_integer(values.type):
            values = pc.cast(values, pa.int64())
        numbers = np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        if len(numbers) and (numbers.min() < low or numbers.max() > high):
            raise ValueError(f"integer out of range for a {width}-byte column")
        return _field(numbers, f">i{width}", _valid(values))

    return encode


def _date(values: pa.Array) -> list[Piece]:
    values = _plain(values)
    if not pa.types.is_date32(values.type):
        values = pc.cast(values, pa.date32())
    days = pc.fill_null(values, 0).cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    return _field(days - _POSTGRES_EPOCH_DAYS, ">i4", _valid(values))


def _boolean(values: pa.Array) -> list[Piece]:
    values = _plain(values)
    if not pa.types.is_boolean(values.type):
        values = pc.cast(values, pa.bool_())
    flags = np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=np.uint8)
    return _field(flags, "u1", _valid(values))


def _numeric(precision: int, scale: int) -> Encoder:
    """numeric(p, s) as ndigits, weight, sign, dscale and base-10000 digits;
    always the same number of digits (the server drops leading and trailing
    zero digits itself), so every value has the same width."""
    groups = max(1, -(-(precision - scale) // 4))
    ndigits = groups + (1 if scale else 0)
    width = 2 * (4 + ndigits)
    arrow_type = pa.decimal128(precision, scale)
    header = _word(ndigits, 2) + _word(groups - 1, 2) + _word(0, 2) + _word(scale, 2)
    template = _word(width) + header + bytes(2 * ndigits)

    def encode(values: pa.Array) -> list[Piece]:
        values = _plain(values)
        n = len(values)
        if pa.types.is_integer(values.type):
            unscaled = pc.fill_null(values, 0).to_numpy(zero_copy_only=False).astype(np.int64) * 10**scale
        else:
            if values.type != arrow_type:
                values = pc.cast(values, arrow_type)
            filled = pc.fill_null(values, pa.scalar(0, arrow_type)) if values.null_count else values
            # The low 64 bits of each 128-bit two's complement value: the value itself below 10**18.
            words = np.frombuffer(filled.buffers()[1], dtype="<i8", count=2 * (filled.offset + n))
            unscaled = words[2 * filled.offset::2]
        negative = unscaled < 0
        any_negative = bool(negative.any())
        magnitude = (np.abs(unscaled) if any_negative else unscaled).view(np.uint64)
        # Unsigned division by a constant, 32-bit where the values allow: several
        # times faster than numpy's divmod on int64.
        whole, fraction = _split(_narrow(magnitude, int(magnitude.max()) if n else 0), 10**scale)
        # Digits above the block's largest value stay the template's zeros.
        largest = int(whole.max()) if n else 0
        digits: list[tuple[int, np.ndarray]] = []
        if scale:
            digits.append((groups, fraction * 10 ** (4 - scale)))
        rest = whole
        for g in range(groups - 1, -1, -1):
            if largest < 10_000 ** (groups - 1 - g):
                break
            rest, digit = _split(_narrow(rest, largest // 10_000 ** (groups - 1 - g)), 10_000)
            digits.append((g, digit))
        valid = _valid(values)

        def fill(rows: np.ndarray) -> None:
            words16 = rows[:, 4:].view(">u2")
            if any_negative:
                words16[:, 2] = np.where(negative, _NUMERIC_NEG, 0)
            for g, digit in digits:
                words16[:, 4 + g] = digit

        if valid is None:
            return [_Fixed(template, fill)]
        rows = np.empty((n, width + 4), dtype=np.uint8)
        rows[:] = np.frombuffer(template, dtype=np.uint8)
        fill(rows)
        lengths = np.where(valid, width, -1)
        return [_Fixed(bytes(4), _put(lengths, ">i4", skip=0)),
                _Varying(rows[valid, 4:].ravel(), np.maximum(lengths, 0).astype(np.int64))]

    return encode


def _narrow(values: np.ndarray, largest: int) -> np.ndarray:
    return values.astype(np.uint32) if values.dtype != np.uint32 and largest < 2**32 else values


def _split(values: np.ndarray, divisor: int) -> tuple[np.ndarray, np.ndarray]:
    quotient = values // values.dtype.type(divisor)
    return quotient, values - quotient * values.dtype.type(divisor)


def _text(values: pa.Array) -> list[Piece]:
    values = _plain(values)
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    valid = _valid(values)
    if valid is not None:
        values = pc.fill_null(values, "")  # a NULL then spans no bytes
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=values.offset + n + 1)[values.offset:]
    buffer = values.buffers()[2]
    start, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(buffer, dtype=np.uint8, count=end)[start:] if buffer is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets).astype(np.int64)
    if valid is None and n and lengths.min() == lengths.max():
        width = int(lengths[0])
        text = data.reshape(n, width)

        def fill(rows: np.ndarray) -> None:
            rows[:, 4:] = text

        return [_Fixed(_word(width) + bytes(width), fill if width else None)]
    words = np.where(valid, lengths, -1) if valid is not None else lengths
    return [_Fixed(bytes(4), _put(words, ">i4", skip=0)), _Varying(data, lengths)]


_NUMERIC = re.compile(r"^numeric\((\d+), ?(\d+)\)$")


def encoder(sql_type: str) -> Encoder | None:
    """How to send a column of this SQL type, or None if not supported here."""
    sql_type = sql_type.strip().lower()
    if sql_type in ("smallint", "integer", "bigint"):
        return _integer({"smallint": 2, "integer": 4, "bigint": 8}[sql_type])
    if sql_type == "date":
        return _date
    if sql_type == "boolean":
        return _boolean
    if sql_type == "text" or sql_type.startswith("varchar"):
        return _text
    match = _NUMERIC.match(sql_type)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if precision <= 18 and scale <= 4 and scale < precision:
            return _numeric(precision, scale)
    return None


# Rows encoded at a time: a few megabytes, reused by the allocator rather than
# mapped afresh (and page-faulted) for every block.
ROWS_PER_CHUNK = 1 << 16


def encode_rows(columns: list[pa.Array], encoders: list[Encoder]) -> list[bytes]:
    """The tuples of one block (no header or trailer), in chunks of ROWS_PER_CHUNK rows."""
    n = len(columns[0]) if columns else 0
    return [_encode_chunk([c.slice(start, ROWS_PER_CHUNK) for c in columns], encoders)
            for start in range(0, n, ROWS_PER_CHUNK)]


def _encode_chunk(columns: list[pa.Array], encoders: list[Encoder]) -> bytes:
    n = len(columns[0])
    pieces: list[Piece] = [_Fixed(_word(len(columns), 2))]
    for values, encode in zip(columns, encoders, strict=True):
        pieces.extend(encode(values))
    # Neighbouring fixed pieces become one: a template and the fills at their offsets.
    groups: list[tuple[bytes, list] | _Varying] = []
    for piece in pieces:
        if isinstance(piece, _Varying):
            groups.append(piece)
            continue
        last = groups[-1] if groups else None
        if last is None or isinstance(last, _Varying):
            last = (b"", [])
            groups.append(last)
        template, fills = last
        if piece.fill is not None:
            fills.append((len(template), len(piece.template), piece.fill))
        groups[-1] = (template + piece.template, fills)

    def rows_of(group: tuple[bytes, list]) -> np.ndarray:
        template, fills = group
        rows = np.empty((n, len(template)), dtype=np.uint8)
        rows[:] = np.frombuffer(template, dtype=np.uint8)
        for offset, width, fill in fills:
            fill(rows[:, offset:offset + width])
        return rows

    # One fixed group (no text, numeric, ... column): its rows are the whole chunk.
    if len(groups) == 1 and isinstance(groups[0], tuple):
        return rows_of(groups[0]).tobytes()
    widths = [len(g[0]) if isinstance(g, tuple) else g.lengths for g in groups]
    row_lengths = np.zeros(n, dtype=np.int64)
    for width in widths:
        row_lengths += width
    position = np.zeros(n, dtype=np.int64)
    np.cumsum(row_lengths[:-1], out=position[1:])
    out = np.empty(int(row_lengths.sum()), dtype=np.uint8)
    for group in groups:
        if isinstance(group, tuple):
            rows = rows_of(group)
            width = rows.shape[1]
            out[position[:, None] + np.arange(width)] = rows
            position += width
        else:
            total = len(group.data)
            if total:
                starts = np.zeros(n, dtype=np.int64)
                np.cumsum(group.lengths[:-1], out=starts[1:])
                out[np.repeat(position - starts, group.lengths) + np.arange(total)] = group.data
            position += group.lengths
    return out.tobytes()
