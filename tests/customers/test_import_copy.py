"""PostgreSQL's COPY paths of the import: the binary encoding (``pgcopy``)
round-trips every supported type, gives the same rows as CSV, and a problem
found late in a big file, after many blocks were already COPYed by the writer
thread, still leaves the database as it was."""

from __future__ import annotations

import datetime as dt
import io
import random
from decimal import Decimal

import pyarrow as pa
import pytest
from django.db import connection, transaction

from customers.importing import pgcopy, validation, writers
from customers.models import Customer, MonthlyBalance
from tests.customers.test_import import (
    BANK,
    MONTHLY_HEADER,
    bank,
    counts,
    imported,
    problems,
    run,
    snapshot,
    write,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]


def _round_trip(sql_types: list[str], columns: list[pa.Array]) -> list[tuple]:
    encoder = pgcopy.BinaryEncoder(sql_types)
    data = b"".join(encoder.encode(columns)) + encoder.finish()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE binary_round_trip ("
                       + ", ".join(f"c{i} {t}" for i, t in enumerate(sql_types)) + ")")
        try:
            cursor.connection.cursor().copy_expert("COPY binary_round_trip FROM STDIN WITH (FORMAT binary)",
                                                   io.BytesIO(data))
            cursor.execute("SELECT * FROM binary_round_trip")
            return cursor.fetchall()
        finally:
            cursor.execute("DROP TABLE binary_round_trip")


def test_every_supported_type_round_trips_with_nulls_signs_and_odd_widths():
    rng = random.Random(7)
    n = 3_000

    def maybe(value):
        return None if rng.random() < 0.1 else value

    columns = {
        "bigint": pa.array([maybe(rng.randint(-2**63, 2**63 - 1)) for _ in range(n)], pa.int64()),
        "integer": pa.array([maybe(rng.randint(-2**31, 2**31 - 1)) for _ in range(n)], pa.int64()),
        "smallint": pa.array([maybe(rng.randint(-2**15, 2**15 - 1)) for _ in range(n)], pa.int64()),
        "date": pa.array([maybe(dt.date(1900, 1, 1) + dt.timedelta(days=rng.randint(0, 110_000)))
                          for _ in range(n)], pa.date32()),
        "numeric(18, 2)": pa.array([maybe(Decimal(rng.choice([0, 1, -1, 10**4, -(10**17) + 7,
                                                              rng.randint(-10**18 + 1, 10**18 - 1)])) / 100)
                                    for _ in range(n)], pa.decimal128(18, 2)),
        "numeric(7, 3)": pa.array([maybe(Decimal(rng.randint(-10**7 + 1, 10**7 - 1)) / 1000) for _ in range(n)],
                                  pa.decimal128(7, 3)),
        "varchar(8)": pa.DictionaryArray.from_arrays(
            pa.array([maybe(rng.randint(0, 2)) for _ in range(n)], pa.int32()), pa.array(["active", "closed", ""])),
        "text": pa.array([maybe("".join(rng.choice('ab,"\\\n\t中') for _ in range(rng.randint(0, 6))))
                          for _ in range(n)]),
        "boolean": pa.array([maybe(rng.random() < 0.5) for _ in range(n)]),
    }
    # Sliced arrays: their buffers start before their first value.
    sliced = [values.slice(5) for values in columns.values()]

    rows = _round_trip(list(columns), sliced)

    assert rows == list(zip(*[values.to_pylist() for values in sliced], strict=True))


def test_text_numbers_and_integers_are_converted_to_the_columns_type():
    rows = _round_trip(
        ["numeric(18, 2)", "numeric(16, 2)", "date", "integer"],
        [pa.array(["1.5", "-0.01", "1.2e3", None]), pa.array([0, 7, -3, None], pa.int64()),
         pa.array(["2024-02-29", "1900-01-01", "2199-12-31", None]), pa.array(["0", "-12", "2147483647", None])],
    )

    assert rows == [
        (Decimal("1.50"), Decimal("0.00"), dt.date(2024, 2, 29), 0),
        (Decimal("-0.01"), Decimal("7.00"), dt.date(1900, 1, 1), -12),
        (Decimal("1200.00"), Decimal("-3.00"), dt.date(2199, 12, 31), 2147483647),
        (None, None, None, None),
    ]


def test_types_it_cannot_send_are_left_to_csv():
    for sql_type in ("timestamp with time zone", "numeric(40, 2)", "char(3)", "uuid"):
        assert pgcopy.arrow_type(sql_type) is None


def test_an_empty_copy_still_gets_its_header():
    assert _round_trip(["integer"], [pa.array([], pa.int64())]) == []


def test_a_value_too_large_or_too_precise_for_its_column_is_refused_rather_than_wrapped():
    with pytest.raises(ValueError):
        pgcopy.BinaryEncoder(["integer"]).encode([pa.array([2**31])])
    with pytest.raises(ValueError):
        pgcopy.BinaryEncoder(["numeric(18, 2)"]).encode([pa.array(["1.005"])])


@pytest.mark.parametrize("bulk", [False, True], ids=["staged", "bulk"])
def test_binary_and_csv_copy_import_the_same_rows(tmp_path, monkeypatch, bulk):
    if bulk:
        monkeypatch.setattr(writers, "BULK_MIN_BYTES", 0)
    with transaction.atomic():
        imported(tmp_path)
        binary = snapshot()
        transaction.set_rollback(True)
    assert counts() == dict.fromkeys(counts(), 0)
    monkeypatch.setattr(writers, "BINARY_COPY", False)

    imported(tmp_path / "again")

    def without_ids_and_times(rows: dict) -> dict:
        # Keys and sequences differ between the two loads; so do a new user's password and join date.
        def kept(key: str, value: object) -> bool:
            return not (key == "id" or key.endswith("_id") and isinstance(value, int)
                        or key in ("password", "date_joined"))

        return {name: [{k: v for k, v in row.items() if kept(k, v)} for row in table]
                for name, table in rows.items()}

    assert without_ids_and_times(snapshot()) == without_ids_and_times(binary)


def _big_monthly(customers: int, months: int) -> list[list[str]]:
    rows = [MONTHLY_HEADER]
    for c in range(customers):
        for m in range(months):
            aum = 1_000 + 37 * c + m
            rows.append([f"C{c + 1:04d}", f"2023-{m + 1:02d}", f"{aum}.25", f"{aum // 2}.25", "0", "0", "12.5",
                         "3", "4", "2", "active"])
    return rows


def _many_customers(count: int) -> list[list[str]]:
    header, first = BANK["customers.csv"][0], BANK["customers.csv"][1]
    rows = [header]
    for c in range(count):
        row = list(first)
        row[header.index("customer_id")] = f"C{c + 1:04d}"
        row[header.index("id_number")] = f"33010019900101{c:04d}"
        rows.append(row)
    return rows


@pytest.mark.parametrize("bulk", [False, True], ids=["staged", "bulk"])
def test_a_problem_late_in_a_big_file_after_blocks_were_copied_changes_nothing(tmp_path, monkeypatch, bulk):
    """Blocks of a few hundred rows, chunks of 64: by the bad row near the end
    dozens of chunks have gone to the server through the writer thread."""
    monkeypatch.setattr(validation, "BLOCK_SIZE", 1 << 14)
    monkeypatch.setattr(pgcopy, "ROWS_PER_CHUNK", 64)
    if bulk:
        monkeypatch.setattr(writers, "BULK_MIN_BYTES", 0)
    else:
        imported(tmp_path)  # tables not empty: the staged upsert path
    before = snapshot()
    monthly = _big_monthly(300, 12)
    bad_line = len(monthly) - 3  # lines count from 1, the header being line 1
    monthly[bad_line - 1][2] = "12,5"
    copied = []
    write_block = writers._CopySink.write

    def spy(self, table):
        copied.append(table.num_rows)
        return write_block(self, table)

    monkeypatch.setattr(writers._CopySink, "write", spy)

    result = run(write(tmp_path / "late", bank(customers_csv=_many_customers(300), monthly_csv=monthly)))

    assert not result.ok
    assert problems(result) == [f"monthly.csv:{bad_line}:aum: must be a non-negative number, got '12,5'"]
    assert sum(copied) > 3_000  # most of monthly.csv had been sent
    assert snapshot() == before
    if bulk:
        assert counts() == dict.fromkeys(counts(), 0)


def test_a_big_file_in_many_chunks_loads_every_row_and_the_latest_month(tmp_path, monkeypatch):
    monkeypatch.setattr(validation, "BLOCK_SIZE", 1 << 14)
    monkeypatch.setattr(pgcopy, "ROWS_PER_CHUNK", 64)
    monkeypatch.setattr(writers, "BULK_MIN_BYTES", 0)

    result = run(write(tmp_path / "big", bank(customers_csv=_many_customers(300), monthly_csv=_big_monthly(300, 12))))

    assert result.ok, problems(result)
    assert MonthlyBalance.objects.count() == 3_600
    last = Customer.objects.get(customer_id="C0300")
    assert (last.latest_month, last.latest_aum) == (dt.date(2023, 12, 1), Decimal(f"{1_000 + 37 * 299 + 11}.25"))
    assert MonthlyBalance.objects.get(customer=last, month=dt.date(2023, 5, 1)).card_spend == Decimal("12.50")
