"""Writing validated rows: a TEMP staging table per file, then one upsert.

Both databases run the same plan, in SQL each understands:

1. ``CREATE TEMP TABLE import_<kind>`` with the target columns' own types, so
   staged values compare with stored ones exactly;
2. stage every clean block: PostgreSQL through ``COPY ... FROM STDIN`` fed by a
   background thread (the server loads block n while Python checks block
   n+1), in the binary format (encoded by ``pgcopy``) so the server parses no
   text, SQLite through ``executemany``;
3. one ``INSERT ... SELECT ... JOIN ... ON CONFLICT (natural key) DO UPDATE ...
   WHERE (columns) IS DISTINCT FROM (EXCLUDED columns)``: codes become foreign
   keys in the join (a LEFT JOIN for a nullable foreign key, so an empty code,
   staged as NULL, gives a NULL key instead of dropping the row), and a row
   whose values did not change is not rewritten;
4. after monthly.csv, one ``UPDATE ... FROM`` refreshes the customers it touched.

PostgreSQL has a second plan for a large file going into an *empty* table (the
first load of a bank, 24 million monthly rows): maintaining four B-trees and a
foreign-key trigger row by row costs several times more than the load itself,
so the table's secondary indexes, unique constraints and foreign keys are
dropped, the rows are COPYed straight into the table (codes turned into keys
and ids handed out in Python), and everything is re-created with one sort per
index and one set-based check per foreign key; each customer's latest monthly
row is followed in Python on the way. The primary key stays (ids rise, so
each goes to the rightmost leaf). When customers.csv goes into an empty table
and monthly.csv follows, the customers' rows wait in memory and are written
once, with their latest balances, instead of being rewritten by the refresh.
See ``PostgresWriter`` for why that is safe. A refresh that rewrites most
customers (next month's file) likewise rebuilds the customers' indexes
instead of updating them row by row.

Everything runs inside the caller's transaction, so a problem anywhere undoes
it all, dropped indexes and constraints included.
"""

from __future__ import annotations

import io
import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from core.fields import column_name, column_type, concrete_field
from customers.importing import pgcopy
from customers.importing.schema import FileSpec
from customers.importing.validation import lookup
from customers.models import (
    Appointment,
    Branch,
    ContactConsent,
    Customer,
    Holding,
    MonthlyBalance,
    Product,
    ProductYield,
    Survey,
    User,
)
from customers.tiers import TIERS, floor_values, tier_case_sql

# One lock id for imports: two imports at once would interleave their upserts.
_IMPORT_LOCK = 0x62616E6B  # "bank"
# Files at least this large (about 10,000 rows) go into an empty table by the
# bulk path (PostgreSQL); below it, index and trigger upkeep costs too little to matter.
BULK_MIN_BYTES = 1 << 20
# A refresh that rewrites at least this many customers, and this share of them,
# rebuilds the customers' nine indexes afterwards instead of updating each per
# row (PostgreSQL): 1M customers take 20 s instead of nearly 3 minutes.
REFRESH_REBUILD_MIN_CUSTOMERS = 50_000
REFRESH_REBUILD_MIN_SHARE = 0.3
# COPY in PostgreSQL's binary format where every column's type allows it (see pgcopy).
BINARY_COPY = True
# Pieces of COPY data waiting for the server: a CSV block, or a binary chunk of
# pgcopy.ROWS_PER_CHUNK rows (about 10 MB of monthly rows).
QUEUED_CHUNKS = 8


class _Now:
    """The time of the import, for new rows' timestamps."""


class _UnusablePassword:
    """A random unusable password (starts with "!"), like make_password(None)."""


NOW = _Now()
UNUSABLE_PASSWORD = _UnusablePassword()


@dataclass(frozen=True)
class Join:
    """Turns a code column of the staged rows into a foreign key."""

    field: str  # the target's ForeignKey, e.g. "customer"
    model: type[models.Model]
    code_field: str  # the natural key on the referenced model, e.g. "customer_id"
    staged: str  # the staged column holding the code


@dataclass(frozen=True)
class Target:
    model: type[models.Model]
    conflict: tuple[str, ...]  # target field names of the natural key
    copy: dict[str, str]  # target field -> staged column, taken as is
    joins: tuple[Join, ...] = ()
    # NOT NULL fields the files do not carry, set on new rows only.
    insert_only: dict[str, object] = field(default_factory=dict)
    # Fields rewritten when a row exists; default: every copied and joined field but the key.
    update: tuple[str, ...] | None = None
    # Bulk path only: rebuild this table's indexes after the customer refresh, not
    # right after its file, so the refresh's UPDATE does not maintain them.
    rebuild_late: bool = False
    # Fields an empty (or absent) value does not erase: a file without the optional
    # aum_month_avg column, re-imported, keeps the daily averages already stored.
    kept_when_empty: tuple[str, ...] = ()
    # A date field: a staged row replaces a stored one only if its date is not earlier
    # (the latest statement wins: a customer's wish told to staff after the export was made).
    newer_only: str | None = None

    def nullable(self, join: Join) -> bool:
        """Whether the code may be empty: the foreign key is then NULL (Customer.rm)."""
        return concrete_field(self.model, join.field).null

    def updated_fields(self) -> tuple[str, ...]:
        if self.update is not None:
            return self.update
        names = [*self.copy, *(join.field for join in self.joins)]
        return tuple(name for name in names if name not in self.conflict)


TARGETS: dict[str, Target] = {
    "branches": Target(Branch, ("code",), {"code": "branch_code", "name": "name", "city": "city"}),
    "products": Target(
        Product,
        ("product_code",),
        {name: name for name in ("product_code", "provider", "is_ours", "name", "kind", "yield_pct", "term_days")},
    ),
    "product_yields": Target(
        ProductYield,
        ("product", "month"),
        {"month": "month", "yield_pct": "yield_pct"},
        joins=(Join("product", Product, "product_code", "product_code"),),
    ),
    "staff": Target(
        User,
        ("staff_code",),
        {"username": "staff_code", "staff_code": "staff_code", "display_name": "name", "role": "role",
         "email": "email"},
        joins=(Join("branch", Branch, "code", "branch_code"),),
        insert_only={
            # Never in the update list: re-importing must not undo a password an admin set.
            "password": UNUSABLE_PASSWORD,
            "first_name": "",
            "last_name": "",
            "is_superuser": False,
            "is_staff": False,
            "is_active": True,
            "date_joined": NOW,
        },
        update=("display_name", "branch", "role", "email"),
    ),
    "customers": Target(
        Customer,
        ("customer_id",),
        {
            name: name
            for name in ("customer_id", "name", "gender", "birth_date", "id_number", "phone", "phone_tail", "id_tail",
                         "opened_on", "region", "annual_income", "credit_score")
        },
        joins=(Join("branch", Branch, "code", "branch_code"), Join("rm", User, "staff_code", "rm_code")),
        # Tier, status and latest AUM come from monthly.csv; segments from the churn engine.
        insert_only={
            "segment": "",
            "segment_override": "",
            "segment_override_reason": "",
            "tier": "",
            "status": "active",
            "latest_aum": 0,
        },
        rebuild_late=True,
    ),
    "monthly": Target(
        MonthlyBalance,
        ("customer", "month"),
        {
            name: name
            for name in ("month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend",
                         "txn_count", "digital_logins", "products_held", "status", "aum_month_avg")
        },
        joins=(Join("customer", Customer, "customer_id", "customer_id"),),
        kept_when_empty=("aum_month_avg",),
    ),
    "holdings": Target(
        Holding,
        ("customer", "product", "start_on"),
        {"amount": "amount", "start_on": "start_on", "maturity_on": "maturity_on"},
        joins=(Join("customer", Customer, "customer_id", "customer_id"),
               Join("product", Product, "product_code", "product_code")),
    ),
    "surveys": Target(
        Survey,
        ("customer", "surveyed_on", "channel"),
        {"surveyed_on": "surveyed_on", "score": "score", "channel": "channel", "comment": "comment"},
        joins=(Join("customer", Customer, "customer_id", "customer_id"),),
    ),
    "appointments": Target(
        Appointment,
        ("customer", "kind", "scheduled_on"),
        {"kind": "kind", "amount": "amount", "scheduled_on": "scheduled_on"},
        joins=(Join("customer", Customer, "customer_id", "customer_id"),),
    ),
    "consents": Target(
        ContactConsent,
        ("customer", "channel"),
        # source and set_by are derived (validation.clean_table): an imported row says it
        # came from the import, and no member of staff set it.
        {"channel": "channel", "do_not_contact": "do_not_contact", "reason": "reason",
         "effective_on": "effective_on", "source": "source", "set_by": "set_by"},
        joins=(Join("customer", Customer, "customer_id", "customer_id"),),
        newer_only="effective_on",
    ),
}


def _column(model: type[models.Model], name: str) -> str:
    return column_name(model, name)


def _as_text(values: pa.Array | pa.ChunkedArray) -> list:
    """Python values for a DB-API driver: dates and decimals as the text Django stores."""
    if pa.types.is_date(values.type) or pa.types.is_decimal(values.type):
        values = pc.cast(values, pa.string())
    return values.to_pylist()


class StageSink:
    """Receives the clean blocks of one file."""

    rows = 0
    # Whether it wants numbers and dates as parsed values rather than checked text.
    typed = False

    def write(self, table: pa.Table) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """All rows are written."""


class Writer:
    """Staging and upserts on one connection; subclasses speak each database's dialect."""

    unusable_password_sql = ""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.quote = connection.ops.quote_name
        self._temporary: list[str] = []

    def begin(self, *, files: dict[str, Path], tier_floors: dict[str, float]) -> None:
        """Session settings and locks for the import's transaction; ``files``
        are the files this import will read, by kind."""
        self.files = files
        self.tier_floors = tier_floors

    def open_stage(self, spec: FileSpec, path: Path) -> StageSink:
        """A sink for the clean rows of ``path``; close it before ``upsert``."""
        self.create_stage(spec)
        return self._stage_sink(spec)

    def reopen_stage(self, spec: FileSpec) -> StageSink:
        """An empty sink again, when the file is read a second time from the top."""
        self.create_stage(spec)
        return self._stage_sink(spec)

    def _stage_sink(self, spec: FileSpec) -> StageSink:
        raise NotImplementedError

    def upsert(self, spec: FileSpec) -> tuple[int, int]:
        """Write the staged rows; return how many were inserted and updated."""
        raise NotImplementedError

    def finish(self) -> None:
        """After the last file and the refresh: drop what the import created."""
        with self.connection.cursor() as cursor:
            for table in self._temporary:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        self._temporary.clear()

    # --- staging tables ---

    def staging_table(self, spec: FileSpec) -> str:
        return f"import_{spec.kind}"

    def staging_columns(self, spec: FileSpec) -> dict[str, str]:
        """Staged column -> SQL type: the type of the target column it feeds."""
        target = TARGETS[spec.kind]
        columns: dict[str, str] = {}
        for field_name, staged in target.copy.items():
            columns.setdefault(staged, column_type(concrete_field(target.model, field_name), self.connection))
        for join in target.joins:
            columns.setdefault(join.staged, column_type(concrete_field(join.model, join.code_field), self.connection))
        return columns

    def create_stage(self, spec: FileSpec) -> None:
        table = self.staging_table(spec)
        columns = ", ".join(f"{self.quote(name)} {sql_type}" for name, sql_type in self.staging_columns(spec).items())
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TEMP TABLE {table} ({columns})")
        self._temporary.append(table)

    # --- upserts ---

    def upsert_sql(self, spec: FileSpec) -> tuple[str, list]:
        target = TARGETS[spec.kind]
        quote = self.quote
        columns: list[str] = []
        values: list[str] = []
        params: list = []
        for field_name, staged in target.copy.items():
            columns.append(_column(target.model, field_name))
            values.append(f"s.{quote(staged)}")
        joins = []
        for i, join in enumerate(target.joins):
            alias = f"j{i}"
            columns.append(_column(target.model, join.field))
            values.append(f"{alias}.{quote(join.model._meta.pk.column)}")
            # A staged NULL (empty code) matches nothing: LEFT keeps the row, with a NULL key.
            kind = "LEFT JOIN" if target.nullable(join) else "JOIN"
            joins.append(
                f"{kind} {quote(join.model._meta.db_table)} AS {alias} "
                f"ON {alias}.{quote(_column(join.model, join.code_field))} = s.{quote(join.staged)}"
            )
        for field_name, value in target.insert_only.items():
            columns.append(_column(target.model, field_name))
            if value is UNUSABLE_PASSWORD:
                values.append(self.unusable_password_sql)
            else:
                values.append("%s")
                params.append(timezone.now() if value is NOW else value)
        conflict = [_column(target.model, name) for name in target.conflict]
        by_column = dict(zip(columns, values, strict=True))
        updated = [_column(target.model, name) for name in target.updated_fields()]
        kept = {_column(target.model, name) for name in target.kept_when_empty}
        new_value = {c: f"COALESCE(EXCLUDED.{quote(c)}, t.{quote(c)})" if c in kept else f"EXCLUDED.{quote(c)}"
                     for c in updated}
        sql = (
            f"INSERT INTO {quote(target.model._meta.db_table)} AS t ({', '.join(quote(c) for c in columns)}) "
            f"SELECT {', '.join(values)} FROM {self.staging_table(spec)} AS s {' '.join(joins)} "
            # WHERE TRUE: SQLite needs it to tell ON CONFLICT from a join's ON.
            # ORDER BY the key: index pages are filled in order, not at random.
            f"WHERE TRUE ORDER BY {', '.join(by_column[c] for c in conflict)} "
            f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET "
            f"{', '.join(f'{quote(c)} = {new_value[c]}' for c in updated)} "
            f"WHERE ({', '.join(f't.{quote(c)}' for c in updated)}) "
            f"IS DISTINCT FROM ({', '.join(new_value[c] for c in updated)})"
        )
        if target.newer_only is not None:
            newer = quote(_column(target.model, target.newer_only))
            sql += f" AND EXCLUDED.{newer} >= t.{newer}"
        return sql, params

    # --- customers from their monthly rows ---

    def refresh_customers(self, *, tier_floors: dict[str, float]) -> int:
        """Set latest_month, latest_aum, status and tier of every customer in
        monthly.csv from their latest monthly row, in one UPDATE; return how
        many customers changed.

        The latest row is looked up in the whole history, not in the file: an
        old month imported again must not overwrite a newer state.
        """
        source = self._latest_source(tier_floors)
        tier_sql, tier_params = tier_case_sql("l.aum", tier_floors)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {self.quote(Customer._meta.db_table)} AS c SET latest_month = l.month, latest_aum = l.aum, "
                f"status = l.status, tier = {tier_sql} "
                f"FROM ({source}) AS l "
                f"WHERE c.id = l.customer_id AND (c.latest_month, c.latest_aum, c.status, c.tier) "
                f"IS DISTINCT FROM (l.month, l.aum, l.status, {tier_sql})",
                tier_params + tier_params,
            )
            return cursor.rowcount

    def _latest_source(self, tier_floors: dict[str, float]) -> str:
        """SQL giving (customer_id, month, aum, status) of each affected customer's latest monthly row."""
        return self.latest_balances_sql(self._affected_customers())

    def _affected_customers(self) -> str:
        """A table of the customers in the staged monthly rows (column customer_pk)."""
        customers = self.quote(Customer._meta.db_table)
        with self.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS import_affected")
            cursor.execute("CREATE TEMP TABLE import_affected (customer_pk bigint PRIMARY KEY)")
            self._temporary.append("import_affected")
            cursor.execute(
                f"INSERT INTO import_affected (customer_pk) SELECT DISTINCT c.id FROM import_monthly AS s "
                f"JOIN {customers} AS c ON c.customer_id = s.customer_id"
            )
        self.analyze("import_affected")
        return "import_affected"

    def latest_balances_sql(self, driving: str) -> str:
        """(customer_id, month, aum, status) of each driving customer's latest monthly row."""
        balances = self.quote(MonthlyBalance._meta.db_table)
        return (
            f"SELECT b.customer_id, b.month, b.aum, b.status FROM {balances} AS b "
            f"JOIN (SELECT m.customer_id, MAX(m.month) AS month FROM {balances} AS m "
            f"JOIN {driving} AS a ON a.customer_pk = m.customer_id GROUP BY m.customer_id) AS last "
            f"ON last.customer_id = b.customer_id AND last.month = b.month"
        )

    def analyze(self, table: str) -> None:
        """Give the planner row counts for a freshly filled table."""


# --- SQLite ------------------------------------------------------------------------------------


class SqliteWriter(Writer):
    unusable_password_sql = "'!' || lower(hex(randomblob(20)))"

    def _stage_sink(self, spec: FileSpec) -> StageSink:
        return _InsertSink(self, spec)

    def upsert(self, spec: FileSpec) -> tuple[int, int]:
        sql, params = self.upsert_sql(spec)
        table = self.quote(TARGETS[spec.kind].model._meta.db_table)
        with self.connection.cursor() as cursor:
            # SQLite cannot tell inserts from updates in RETURNING; count instead.
            cursor.execute(f"SELECT count(*) FROM {table}")
            before = cursor.fetchone()[0]
            cursor.execute(sql, params)
            changed = cursor.rowcount
            cursor.execute(f"SELECT count(*) FROM {table}")
            inserted = cursor.fetchone()[0] - before
        return inserted, changed - inserted


class _InsertSink(StageSink):
    def __init__(self, writer: SqliteWriter, spec: FileSpec) -> None:
        self._writer = writer
        self._columns = list(writer.staging_columns(spec))
        quoted = ", ".join(writer.quote(c) for c in self._columns)
        placeholders = ", ".join(["%s"] * len(self._columns))
        self._sql = f"INSERT INTO {writer.staging_table(spec)} ({quoted}) VALUES ({placeholders})"

    def write(self, table: pa.Table) -> None:
        columns = [_as_text(table.column(name)) for name in self._columns]
        with self._writer.connection.cursor() as cursor:
            cursor.executemany(self._sql, list(zip(*columns, strict=True)))
        self.rows += table.num_rows


# --- PostgreSQL --------------------------------------------------------------------------------


@dataclass
class _Bulk:
    """A table being bulk-loaded: what to re-create afterwards."""

    table: str
    restore: list[str]
    rows: int = 0
    late: bool = False


class PostgresWriter(Writer):
    """Staging through COPY; the bulk path for large files into empty tables.

    Why the bulk path is safe: it is only taken for a table that is empty
    while this transaction holds an ACCESS EXCLUSIVE lock on it, so there is
    nothing to conflict with and nobody can write (or read) it meanwhile;
    duplicate keys within the file were already rejected by validation; and a
    key that another table's foreign key points at is kept. The
    dropped unique constraints, indexes and foreign keys are re-created from
    their catalog definitions (``pg_get_constraintdef``/``pg_get_indexdef``,
    same names, so migrations still find them) before commit, which
    re-verifies every row; on any failure the transaction rolls back and the
    originals are back. The price: readers of that table wait for the import,
    which is why only empty tables get this path.
    """

    unusable_password_sql = "'!' || md5(random()::text)"

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        super().__init__(connection)
        self._bulk: dict[str, _Bulk] = {}
        self._late: list[_Bulk] = []  # restored by finish()
        self._latest: _LatestBalances | None = None  # followed while monthly.csv is bulk-loaded
        self._held: _HeldRows | None = None  # customers.csv's rows, waiting for monthly.csv
        self._refreshed_on_load: int | None = None  # customers whose latest balances came with their rows

    def begin(self, *, files: dict[str, Path], tier_floors: dict[str, float]) -> None:
        super().begin(files=files, tier_floors=tier_floors)
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK])
            # Sorting 24 million rows for an upsert and hashing a million
            # customer ids want memory; LOCAL keeps it to this transaction.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # Up to: each index rebuild of 24M monthly rows then sorts in memory, not in
            # temporary files (16 s -> 14 s for the month index, 10% off the rebuilds).
            cursor.execute("SET LOCAL maintenance_work_mem = '2GB'")
            # One commit at the end: not waiting for its WAL flush is safe, a
            # crash before the flush simply loses the whole import.
            cursor.execute("SET LOCAL synchronous_commit = off")

    def open_stage(self, spec: FileSpec, path: Path) -> StageSink:
        target = TARGETS[spec.kind]
        bulk = path.stat().st_size >= BULK_MIN_BYTES and self._bulk_possible(target)
        if self._held is not None and not (spec.kind == "monthly" and bulk):
            self._write_held(None)
        if bulk and self._empty_and_locked(target):
            return self._open_bulk(spec)
        return super().open_stage(spec, path)

    def reopen_stage(self, spec: FileSpec) -> StageSink:
        bulk = self._bulk.get(spec.kind)
        if bulk is None:
            return super().reopen_stage(spec)
        if spec.kind == "customers" and self._held is not None:
            self._held = None
        else:
            with self.connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {self.quote(bulk.table)}")
        return self._bulk_sink(spec, bulk)

    def _stage_sink(self, spec: FileSpec) -> StageSink:
        table = self.staging_table(spec)
        types = self.staging_columns(spec)
        columns = list(types)
        target = TARGETS[spec.kind]
        # An empty optional code must stage as NULL, not '', so the upsert's LEFT JOIN
        # gives a NULL key (and can never match a user whose staff code is '').
        nullable = {join.staged for join in target.joins if target.nullable(join)}
        return _CopySink(self._raw_cursor(), table, [self.quote(c) for c in columns],
                         text=[self.quote(c) for c, sql_type in types.items()
                               if _is_text(sql_type) and c not in nullable],
                         encode=lambda t: _plain(t.select(columns)), on_done=lambda: self.analyze(table),
                         types=[types[c] for c in columns])

    def _raw_cursor(self):
        self.connection.ensure_connection()
        return self.connection.connection.cursor()

    def upsert(self, spec: FileSpec) -> tuple[int, int]:
        bulk = self._bulk.get(spec.kind)
        if bulk is not None:
            if spec.kind == "monthly" and self._held is not None:
                # Before monthly's foreign key is re-created: it checks every row against the customers.
                self._write_held(self._latest)
            if not bulk.late:
                self._restore(bulk)
            return bulk.rows, 0
        sql, params = self.upsert_sql(spec)
        with self.connection.cursor() as cursor:
            # xmax is 0 on a row version this statement inserted, and set on one it updated.
            cursor.execute(
                f"WITH upserted AS ({sql} RETURNING (xmax = 0) AS inserted) "
                f"SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted",
                params,
            )
            inserted, updated = cursor.fetchone()
        return inserted, updated

    def finish(self) -> None:
        if self._held is not None:
            self._write_held(None)
        for bulk in [*self._bulk.values(), *self._late]:
            if bulk.late:
                self._restore(bulk)
        self._bulk.clear()
        self._late.clear()
        super().finish()

    def analyze(self, table: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")

    # --- the refresh ---

    def refresh_customers(self, *, tier_floors: dict[str, float]) -> int:
        if self._refreshed_on_load is not None:
            return self._refreshed_on_load  # the customers were written with their latest balances
        return super().refresh_customers(tier_floors=tier_floors)

    def _latest_source(self, tier_floors: dict[str, float]) -> str:
        """Each affected customer's latest monthly row, in a TEMP table ``import_latest``."""
        if self._latest is not None:
            # The table was empty, so each customer's latest row in the file is
            # their latest row: it was followed while the file streamed by.
            self._latest.write(self, "import_latest")
        else:
            driving = self._affected_customers()
            with self.connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS import_latest")
                # One backward step down the (customer, month) unique index per
                # customer, rather than grouping the whole history.
                cursor.execute(
                    f"CREATE TEMP TABLE import_latest AS SELECT a.customer_pk, b.month, b.aum, b.status "
                    f"FROM {driving} AS a CROSS JOIN LATERAL (SELECT m.month, m.aum, m.status "
                    f"FROM {self.quote(MonthlyBalance._meta.db_table)} AS m WHERE m.customer_id = a.customer_pk "
                    f"ORDER BY m.month DESC LIMIT 1) AS b"
                )
            self._temporary.append("import_latest")
            self.analyze("import_latest")
            self._unindex_customers_for_a_large_refresh(tier_floors)
        return "SELECT customer_pk AS customer_id, month, aum, status FROM import_latest"

    def _unindex_customers_for_a_large_refresh(self, tier_floors: dict[str, float]) -> None:
        """Next month's monthly.csv moves every customer's latest month, so the
        refresh rewrites every customer row, and each new row version goes into
        all nine of the table's indexes (``status`` is indexed, and full pages
        leave no room for HOT updates). Past a threshold of customers that will
        change, drop the indexes and rebuild them at the end, as the bulk path
        does. The cost: the customers table is locked against readers until the
        import commits."""
        if "customers" in self._bulk:
            return  # bulk-loaded in this import: its indexes are not built yet
        table = Customer._meta.db_table
        tier_sql, tier_params = tier_case_sql("l.aum", tier_floors)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM import_latest AS l JOIN {self.quote(table)} AS c ON c.id = l.customer_pk "
                f"WHERE (c.latest_month, c.latest_aum, c.status, c.tier) "
                f"IS DISTINCT FROM (l.month, l.aum, l.status, {tier_sql})",
                tier_params,
            )
            changing = cursor.fetchone()[0]
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            total = max(cursor.fetchone()[0], 1)
        if changing >= REFRESH_REBUILD_MIN_CUSTOMERS and changing >= REFRESH_REBUILD_MIN_SHARE * total:
            self._late.append(_Bulk(table, self._drop_secondary(table), late=True))

    # --- the bulk path ---

    def _bulk_possible(self, target: Target) -> bool:
        return not any(value is UNUSABLE_PASSWORD or value is NOW for value in target.insert_only.values())

    def _empty_and_locked(self, target: Target) -> bool:
        table = self.quote(target.model._meta.db_table)
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if cursor.fetchone()[0]:
                return False
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            # Checked again under the lock: a row may have arrived in between.
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            return not cursor.fetchone()[0]

    def _open_bulk(self, spec: FileSpec) -> StageSink:
        target = TARGETS[spec.kind]
        table = target.model._meta.db_table
        bulk = _Bulk(table, self._drop_secondary(table), late=target.rebuild_late)
        self._bulk[spec.kind] = bulk
        return self._bulk_sink(spec, bulk)

    def _bulk_sink(self, spec: FileSpec, bulk: _Bulk) -> StageSink:
        """COPY straight into the target: codes become keys here, new rows get
        their ids here too, and the fields the file lacks their values for new rows."""
        target = TARGETS[spec.kind]
        keys = {join.staged: self._held.keys() if self._held is not None and join.model is Customer
                else self._keys(join) for join in target.joins}
        constants = {_column(target.model, name): value for name, value in target.insert_only.items()}
        pk = target.model._meta.pk.column
        columns = [pk] + [_column(target.model, name) for name in target.copy]
        columns += [_column(target.model, join.field) for join in target.joins] + list(constants)
        # Ids from Python rather than one nextval() per row (a seventh of the
        # COPY's cost): nobody else can insert while we hold the table's lock,
        # so a block of the sequence starting at its next value is ours.
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [bulk.table, pk])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            first_id = cursor.fetchone()[0]
        next_id = first_id
        latest = None
        if spec.kind == "monthly":
            latest = self._latest = _LatestBalances(keys["customer_id"])

        def encode(block: pa.Table) -> pa.Table:
            nonlocal next_id
            arrays = [pa.array(np.arange(next_id, next_id + block.num_rows, dtype=np.int64))]
            next_id += block.num_rows
            arrays += [block.column(staged) for staged in target.copy.values()]
            arrays += [keys[join.staged].resolve(block.column(join.staged)) for join in target.joins]
            arrays += [pa.array(np.full(block.num_rows, value)) for value in constants.values()]
            if latest is not None:
                latest.add(block)
            return pa.table(arrays, names=columns)

        def done() -> None:
            bulk.rows = sink.rows
            if next_id > first_id:
                with self.connection.cursor() as cursor:
                    cursor.execute("SELECT setval(%s, %s)", [sequence, next_id - 1])

        fields = {field.column: field for field in target.model._meta.concrete_fields}
        types = [column_type(fields[c], self.connection) for c in columns]
        sink: StageSink
        if spec.kind == "customers" and self._monthly_follows_in_bulk():
            sink = self._held = _HeldRows(bulk, columns, types, encode=encode, on_done=done)
            return sink
        text = [self.quote(c) for c, sql_type in zip(columns, types, strict=True) if _is_text(sql_type)]
        sink = _CopySink(self._raw_cursor(), self.quote(bulk.table), [self.quote(c) for c in columns], text=text,
                         encode=encode, on_done=done, types=types)
        return sink

    def _monthly_follows_in_bulk(self) -> bool:
        """Whether monthly.csv comes next and goes into its table by the bulk path (which it
        does whenever the customers table was empty: no monthly row can exist without one)."""
        monthly = self.files.get("monthly")
        return (BINARY_COPY and monthly is not None and monthly.stat().st_size >= BULK_MIN_BYTES
                and self._bulk_possible(TARGETS["monthly"]))

    def _write_held(self, latest: _LatestBalances | None) -> None:
        """COPY customers.csv's held rows, with each customer's latest month, AUM,
        status and tier from ``latest`` (monthly.csv's rows, followed as they streamed)."""
        held, self._held = self._held, None
        assert held is not None
        rows = held.table()
        columns, types = list(held.columns), list(held.types)
        if latest is not None:
            month, cents, closed, seen = latest.of(rows.column("customer_id"))
            tiers = np.array(TIERS)[np.searchsorted(_cent_floors(self.tier_floors), cents, side="right")]
            kept = pa.array(~seen)
            rows = rows.set_column(columns.index("tier"), "tier",
                                   pc.if_else(kept, rows.column("tier"), pa.array(tiers)))
            rows = rows.set_column(columns.index("status"), "status", pc.if_else(
                kept, rows.column("status"), pa.array(np.where(closed, "closed", "active"))))
            rows = rows.set_column(columns.index("latest_aum"), "latest_aum", pc.if_else(
                kept, pgcopy.as_type(rows.column("latest_aum"), pa.decimal128(18, 2)), _cents_to_decimal(cents)))
            rows = rows.append_column("latest_month", pa.array(month, pa.int32(), mask=~seen).cast(pa.date32()))
            columns.append(_column(Customer, "latest_month"))
            types.append("date")
            self._refreshed_on_load = int(seen.sum())
        text = [self.quote(c) for c, sql_type in zip(columns, types, strict=True) if _is_text(sql_type)]
        sink = _CopySink(self._raw_cursor(), self.quote(held.bulk.table), [self.quote(c) for c in columns],
                         text=text, encode=lambda block: block, on_done=lambda: None, types=types)
        for block in rows.to_batches(max_chunksize=pgcopy.ROWS_PER_CHUNK * 4):
            sink.write(pa.Table.from_batches([block]))
        sink.close()

    def _drop_secondary(self, table: str) -> list[str]:
        """Drop the table's foreign keys, its unique constraints unless another
        table's foreign key points at them, and its plain indexes; return the
        statements that re-create them.

        The primary key stays: the bulk path hands out ids in rising order, so
        each new key goes to the index's rightmost leaf (which PostgreSQL
        caches), and that upkeep runs inside the COPY, while Python checks the
        next block, instead of as a sort and build of its own afterwards
        (2.4M monthly rows: 0.8 s fewer). The unique (customer, month) index
        costs more to keep than to build, whatever the file's order."""
        quoted = self.quote(table)
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.conname, pg_get_constraintdef(c.oid), c.contype FROM pg_constraint AS c "
                "WHERE c.conrelid = %s::regclass AND (c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint AS f WHERE f.contype = 'f' AND f.conindid = c.conindid)))",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index AS x JOIN pg_class AS i "
                "ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = x.indexrelid)",
                [table],
            )
            indexes = cursor.fetchall()
            # ALTER TABLE refuses a table with deferred foreign-key checks still
            # queued (from rows written earlier in this transaction, here or in the
            # table a dropped foreign key points at): run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for name, _, _ in sorted(constraints, key=lambda c: c[2] != "f"):  # foreign keys first
                cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {self.quote(name)}")
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {self.quote(name)}")
        # Indexes and unique constraints before foreign keys, which are then
        # checked with one join each instead of a trigger per row.
        order = {"u": 1, "f": 2}
        return [definition for _, definition in indexes] + [
            f"ALTER TABLE {quoted} ADD CONSTRAINT {self.quote(name)} {definition}"
            for name, definition, kind in sorted(constraints, key=lambda c: order[c[2]])
        ]

    def _restore(self, bulk: _Bulk) -> None:
        with self.connection.cursor() as cursor:
            for statement in bulk.restore:
                cursor.execute(statement)
        bulk.restore = []
        self.analyze(self.quote(bulk.table))

    def _keys(self, join: Join) -> _Keys:
        """Every code of the referenced table with its primary key, read with one COPY."""
        model = join.model
        sink = io.BytesIO()
        with self._raw_cursor() as cursor:
            cursor.copy_expert(
                f"COPY (SELECT {self.quote(_column(model, join.code_field))}, {self.quote(model._meta.pk.column)} "
                f"FROM {self.quote(model._meta.db_table)}) TO STDOUT WITH (FORMAT csv)",
                sink,
            )
        table = pacsv.read_csv(
            io.BytesIO(sink.getvalue()),
            read_options=pacsv.ReadOptions(column_names=["code", "pk"]),
            convert_options=pacsv.ConvertOptions(column_types={"code": pa.string(), "pk": pa.int64()},
                                                 strings_can_be_null=False),
        )
        return _Keys(table.column("code").combine_chunks(), table.column("pk").to_numpy())


class _LatestBalances:
    """Each customer's latest monthly row, followed block by block while
    monthly.csv streams into an empty table, so that the refresh reads a
    million rows from here instead of probing 24 million in the table.

    Customers are the positions of the dictionary-encoded ``customer_id``
    column (dense, so plain numpy arrays hold the state); AUM is kept in cents.
    """

    def __init__(self, keys: _Keys) -> None:
        self._keys = keys
        self._dictionary: pa.Array | None = None
        self._month = np.zeros(0, dtype=np.int32)
        self._cents = np.zeros(0, dtype=np.int64)
        self._closed = np.zeros(0, dtype=bool)

    def add(self, block: pa.Table) -> None:
        customers = block.column("customer_id").combine_chunks()
        if self._dictionary is None:
            self._dictionary = customers.dictionary
            size = len(self._dictionary)
            self._month = np.full(size, -(2**31), dtype=np.int32)
            self._cents = np.zeros(size, dtype=np.int64)
            self._closed = np.zeros(size, dtype=bool)
        who = customers.indices.to_numpy().astype(np.int64)
        when = pc.cast(block.column("month"), pa.date32()).combine_chunks().cast(pa.int32()).to_numpy()
        # Each customer's last row in the block, by month. A file sorted by
        # customer then month (the usual export) needs no sort for that.
        step = np.diff(who)
        if ((step > 0) | ((step == 0) & (np.diff(when) >= 0))).all():
            order = np.arange(len(who))
        else:
            order = np.lexsort((when, who))
        ordered = who[order]
        last = np.ones(len(order), dtype=bool)
        last[:-1] = ordered[1:] != ordered[:-1]
        rows = order[last]
        rows = rows[when[rows] > self._month[who[rows]]]
        target = who[rows]
        taken = pa.array(rows)
        cents = pc.multiply(pc.cast(block.column("aum").take(taken), pa.decimal128(18, 2)), pa.scalar(100))
        self._month[target] = when[rows]
        self._cents[target] = pc.cast(cents, pa.int64()).to_numpy()
        self._closed[target] = _np_bool(pc.equal(block.column("status").take(taken), "closed"))

    def of(self, codes: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each customer code: the latest month (days since 1970), AUM in cents,
        whether closed, and whether the customer had any row at all."""
        codes = pgcopy.plain(codes)
        if self._dictionary is None or not len(self._month):
            unseen = np.zeros(len(codes), dtype=bool)
            return np.zeros(len(codes), np.int32), np.zeros(len(codes), np.int64), unseen, unseen
        positions = lookup(codes, self._dictionary)
        at = np.maximum(positions, 0)
        seen = (positions >= 0) & (self._month[at] > -(2**31))
        return (np.where(seen, self._month[at], 0), np.where(seen, self._cents[at], 0),
                seen & self._closed[at], seen)

    def write(self, writer: PostgresWriter, table: str) -> None:
        """COPY the latest rows into a TEMP table (customer_pk, month, aum, status)."""
        seen = np.flatnonzero(self._month > -(2**31)) if self._dictionary is not None else np.zeros(0, np.int64)
        pks = self._keys.resolve(pa.DictionaryArray.from_arrays(pa.array(seen), self._dictionary)) \
            if len(seen) else pa.array([], pa.int64())
        cents = self._cents[seen]
        aum = pc.binary_join_element_wise(pc.cast(pa.array(cents // 100), pa.string()),
                                          pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0"), ".")
        rows = pa.table({
            "customer_pk": pks,
            "month": pa.array(self._month[seen], pa.int32()).cast(pa.date32()),
            "aum": aum,
            "status": pa.array(np.where(self._closed[seen], "closed", "active")),
        })
        with writer.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TEMP TABLE {table} (customer_pk bigint, month date, aum numeric(18, 2), "
                           f"status varchar(8))")
        writer._temporary.append(table)
        sink = _CopySink(writer._raw_cursor(), table, list(rows.column_names), text=["status"],
                         encode=lambda block: block, on_done=lambda: writer.analyze(table),
                         types=["bigint", "date", "numeric(18, 2)", "varchar(8)"])
        sink.write(rows)
        sink.close()


class _HeldRows(StageSink):
    """A bulk load's rows held in memory instead of COPYed (customers.csv, when
    monthly.csv follows into an empty table).

    Written later by ``PostgresWriter._write_held`` with each customer's latest
    balances, they go into the table once and complete: otherwise the refresh
    rewrites every customer row right after the load (a million new row
    versions, a table twice the size for the late index builds to scan).
    Their codes and ids are the keys monthly.csv resolves against meanwhile."""

    typed = True

    def __init__(self, bulk: _Bulk, columns: list[str], types: list[str], *,
                 encode: Callable[[pa.Table], pa.Table], on_done: Callable[[], None]) -> None:
        self.bulk = bulk
        self.columns = columns
        self.types = types
        self._encode = encode
        self._on_done = on_done
        self._blocks: list[pa.Table] = []
        self._table: pa.Table | None = None
        self._keys: _Keys | None = None

    def write(self, table: pa.Table) -> None:
        self._blocks.append(self._encode(table))
        self.rows += table.num_rows

    def close(self) -> None:
        self._on_done()

    def table(self) -> pa.Table:
        """Every row held, as one table (the blocks are let go)."""
        if self._table is None:
            self._table = pa.concat_tables(self._blocks).combine_chunks() if self._blocks else pa.table(
                {c: pa.array([], type=pgcopy.arrow_type(t)) for c, t in zip(self.columns, self.types, strict=True)})
            self._blocks = []
        return self._table

    def keys(self) -> _Keys:
        if self._keys is None:
            rows = self.table()
            pk = self.columns[0]
            self._keys = _Keys(pgcopy.plain(rows.column("customer_id")),
                               rows.column(pk).combine_chunks().to_numpy().astype(np.int64))
        return self._keys


def _cent_floors(floors: dict[str, float]) -> np.ndarray:
    """The tier floors in whole cents, rounded up: an AUM of whole cents is at or
    above a floor exactly when it is at or above the floor in cents (as in tier_case_sql)."""
    return np.array([math.ceil(Decimal(str(floor)) * 100) for floor in floor_values(floors)], dtype=np.int64)


def _cents_to_decimal(cents: np.ndarray) -> pa.Array:
    text = pc.binary_join_element_wise(pc.cast(pa.array(cents // 100), pa.string()),
                                       pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0"), ".")
    return pc.cast(text, pa.decimal128(18, 2))


def _np_bool(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


class _Keys:
    """Codes to primary keys, vectorised."""

    def __init__(self, codes: pa.Array, pks: np.ndarray) -> None:
        self.codes = codes
        self.pks = pks
        self._by_dictionary: tuple[tuple[int, int], np.ndarray] | None = None

    def resolve(self, values: pa.ChunkedArray | pa.Array) -> pa.Array:
        """Primary keys of the codes; null where the code is null (an empty
        optional code, such as a customer's rm_code: no RM)."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        missing = values.is_null().to_numpy(zero_copy_only=False) if values.null_count else None
        if pa.types.is_dictionary(values.type):
            # Validation hands codes over as positions in its list of known
            # codes: map that list once, then every block is one numpy take.
            # (Each block gets a new wrapper of the same dictionary: compare buffers.)
            dictionary = values.dictionary
            identity = (dictionary.buffers()[1].address, len(dictionary))
            if self._by_dictionary is None or self._by_dictionary[0] != identity:
                self._by_dictionary = (identity, self._lookup(dictionary))
            indices = values.indices if missing is None else pc.fill_null(values.indices, 0)
            return pa.array(self._by_dictionary[1][indices.to_numpy()], mask=missing)
        return pa.array(self._lookup(values), mask=missing)

    def _lookup(self, codes: pa.Array) -> np.ndarray:
        positions = lookup(codes, self.codes)
        pks = np.where(positions >= 0, self.pks[np.maximum(positions, 0)], -1)
        return pks  # -1 only for a code that validation let through but the table lacks: the FK check fails


def _is_text(sql_type: str) -> bool:
    return sql_type.startswith(("varchar", "char", "text"))


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded code columns as plain text (CSV writes those ten times faster)."""
    for i, column in enumerate(table.columns):
        if pa.types.is_dictionary(column.type):
            column = column.combine_chunks()
            table = table.set_column(i, table.field(i).name, column.dictionary.take(column.indices))
    return table


def _csv(table: pa.Table) -> bytes:
    """CSV without header for COPY. Unquoted where possible (the server
    parses it faster); text that holds a comma, quote or line break is quoted."""
    sink = io.BytesIO()
    try:
        pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))
    except pa.ArrowInvalid:
        sink = io.BytesIO()
        pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


class _CopySink(StageSink):
    """Feeds one ``COPY FROM STDIN`` from a background thread.

    The main thread checks block n+1 and encodes it while the thread sends
    block n and the server loads it (psycopg2 releases the GIL while it
    sends). A block is encoded before it is queued, so the server never waits
    for it. The queue holds QUEUED_CHUNKS pieces at most, which bounds memory
    whatever the file's size.

    With ``types`` (each column's SQL type) and every type one that
    ``pgcopy`` can send, the COPY is binary: the server then parses no text,
    which was most of its CPU for monthly.csv. Otherwise it is CSV.
    """

    def __init__(self, cursor, table: str, columns: list[str], *, text: list[str],
                 encode: Callable[[pa.Table], pa.Table], on_done: Callable[[], None],
                 types: list[str] | None = None) -> None:
        self._encode = encode
        self._on_done = on_done
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._error: BaseException | None = None
        self._cursor = cursor
        self._closed = False
        binary = BINARY_COPY and types is not None and all(pgcopy.arrow_type(t) is not None for t in types)
        self._binary = pgcopy.BinaryEncoder(types) if binary and types is not None else None
        self.typed = self._binary is not None
        # As in CSV with FORCE_NOT_NULL: a missing text value is '', never NULL.
        self._not_null = [i for i, column in enumerate(columns) if column in text]
        if self._binary is not None:
            self._sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)"
        else:
            # Text columns never hold NULL here (blank text is ''), and an unquoted
            # empty field must read as '' there rather than as NULL.
            force = f", FORCE_NOT_NULL ({', '.join(text)})" if text else ""
            self._sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv{force})"
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, args=(self._sql,), name="import-copy", daemon=True)
        self._thread.start()

    def _run(self, sql: str) -> None:
        try:
            self._cursor.copy_expert(sql, self, size=1 << 20)
        except BaseException as exc:  # handed to the main thread in write/close
            self._error = exc
            while self._queue.get() is not None:  # let a blocked write() go on
                pass
        finally:
            self._cursor.close()

    def read(self, size: int = -1) -> bytes:
        """psycopg2 calls this for the next piece of COPY data; b"" ends it."""
        return self._queue.get() or b""

    def write(self, table: pa.Table) -> None:
        if self._error is not None:
            raise self._error
        encoded = self._encode(table)
        if self._binary is not None:
            columns = encoded.columns
            for i in self._not_null:
                if columns[i].null_count:
                    columns[i] = pc.fill_null(columns[i], "")
            chunks = self._binary.encode(columns)
        else:
            chunks = [_csv(encoded)]
        if self._thread is None:
            self._start()
        for chunk in chunks:
            self._queue.put(chunk)
        self.rows += table.num_rows

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            if self._binary is not None and self._error is None:
                self._queue.put(self._binary.finish())
            self._queue.put(None)
            self._thread.join()
        else:
            self._cursor.close()
        if self._error is not None:
            raise self._error
        self._on_done()


def writer_for(connection: BaseDatabaseWrapper) -> Writer:
    if connection.vendor == "postgresql":
        return PostgresWriter(connection)
    if connection.vendor == "sqlite":
        return SqliteWriter(connection)
    raise NotImplementedError(f"importing into {connection.vendor} is not supported")
