"""Rows in PostgreSQL's binary COPY format, encoded by ``pgpq``.

``COPY ... FROM STDIN WITH (FORMAT binary)`` spares the server parsing text:
for monthly.csv's five numerics and a date per row that parsing was most of
the COPY's CPU. ``pgpq`` (Rust) turns Arrow record batches into that format;
here each column is first cast to the Arrow type that pgpq sends as the
column's SQL type (``smallint``/``integer``/``bigint`` from int16/32/64,
``date`` from date32, ``numeric(p, s)`` from decimal128(p, s), ``varchar`` and
``text`` from string, ``boolean`` from bool). A column of any other SQL type
makes ``arrow_type`` return None, and the caller keeps to CSV.

The casts are Arrow's safe casts: an integer too large for its column, or a
decimal with more places than the column keeps, raises instead of wrapping or
rounding. (Validation has refused such values already; this is the last guard.)
"""

from __future__ import annotations

import re

import pgpq
import pyarrow as pa
import pyarrow.compute as pc

# Rows encoded at a time: a few megabytes of COPY data per piece, so the
# writer thread can send one while the next is encoded.
ROWS_PER_CHUNK = 1 << 16

_NUMERIC = re.compile(r"^numeric\((\d+), ?(\d+)\)$")
_INTEGERS = {"smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64()}


def arrow_type(sql_type: str) -> pa.DataType | None:
    """The Arrow type pgpq sends as this SQL type, or None if not supported here."""
    sql_type = sql_type.strip().lower()
    if sql_type in _INTEGERS:
        return _INTEGERS[sql_type]
    if sql_type == "date":
        return pa.date32()
    if sql_type == "boolean":
        return pa.bool_()
    if sql_type == "text" or sql_type.startswith("varchar"):
        return pa.string()
    match = _NUMERIC.match(sql_type)
    if match and 0 <= int(match.group(2)) < int(match.group(1)) <= 38:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    return None


class BinaryEncoder:
    """One COPY's data: ``encode`` each block in turn (the first piece starts
    with the format's header), then ``finish``. pgpq keeps up to about a
    megabyte back between calls, so a small block may give no piece yet."""

    def __init__(self, sql_types: list[str]) -> None:
        types = [arrow_type(sql_type) for sql_type in sql_types]
        if any(t is None for t in types):
            raise ValueError(f"no binary encoding for one of {sql_types}")
        self.schema = pa.schema([pa.field(f"c{i}", t) for i, t in enumerate(types)])
        self._encoder = pgpq.ArrowToPostgresBinaryEncoder(self.schema)
        self._header: bytes | None = self._encoder.write_header()

    def encode(self, columns: list[pa.Array | pa.ChunkedArray]) -> list[bytes]:
        """The tuples of one block, in pieces of ROWS_PER_CHUNK rows."""
        arrays = [as_type(values, f.type) for values, f in zip(columns, self.schema, strict=True)]
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        pieces = [self._encoder.write_batch(batch) for batch in table.to_batches(max_chunksize=ROWS_PER_CHUNK)]
        return self._after_header([piece for piece in pieces if piece])

    def finish(self) -> bytes:
        """What is still held back, and the trailer (with the header, if nothing carried it yet)."""
        return b"".join(self._after_header([self._encoder.finish()]))

    def _after_header(self, pieces: list[bytes]) -> list[bytes]:
        if self._header is not None and pieces:
            pieces[0], self._header = self._header + pieces[0], None
        return pieces


def plain(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array, dictionary-encoded values decoded."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary.take(values.indices)
    return values


def as_type(values: pa.Array | pa.ChunkedArray, to: pa.DataType) -> pa.Array:
    """``values`` as Arrow type ``to``, by a safe cast."""
    values = plain(values)
    if values.type != to:
        if pa.types.is_integer(values.type) and pa.types.is_decimal(to):
            # Arrow wants room for any int64 first; the second cast checks the value fits.
            values = pc.cast(values, pa.decimal128(38, to.scale))
        values = pc.cast(values, to)
    return values
