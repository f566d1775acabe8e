"""Writing validated rows: a TEMP staging table per file, then one upsert.

Both databases run the same plan, in SQL each understands:

1. ``CREATE TEMP TABLE import_<kind>`` with the target columns' own types, so
   staged values compare with stored ones exactly;
2. stage every clean block: PostgreSQL through ``COPY ... FROM STDIN`` fed by a
   background thread (the server parses one block while Python checks the next),
   SQLite through ``executemany``;
3. one ``INSERT ... SELECT ... JOIN ... ON CONFLICT (natural key) DO UPDATE ...
   WHERE (columns) IS DISTINCT FROM (EXCLUDED columns)``: codes become foreign
   keys in the join, and a row whose values did not change is not rewritten;
4. after monthly.csv, one ``UPDATE ... FROM`` refreshes the customers it touched.

Everything runs inside the caller's transaction, so a problem anywhere undoes
it all.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from customers.importing.schema import FileSpec
from customers.importing.validation import csv_bytes
from customers.models import (
    Appointment,
    Branch,
    Customer,
    Holding,
    MonthlyBalance,
    Product,
    ProductYield,
    Survey,
    User,
)
from customers.tiers import tier_case_sql

# One lock id for imports: two imports at once would interleave their upserts.
_IMPORT_LOCK = 0x62616E6B  # "bank"


@dataclass(frozen=True)
class Join:
    """Turns a code column of the staging table into a foreign key."""

    field: str  # the target's ForeignKey, e.g. "customer"
    model: type[models.Model]
    code_field: str  # the natural key on the referenced model, e.g. "customer_id"
    staged: str  # the staging column holding the code


@dataclass(frozen=True)
class Target:
    model: type[models.Model]
    conflict: tuple[str, ...]  # target field names of the natural key
    copy: dict[str, str]  # target field -> staging column, taken as is
    joins: tuple[Join, ...] = ()
    # NOT NULL columns the files do not carry: SQL for new rows only.
    insert_only: dict[str, str] = field(default_factory=dict)
    # Fields rewritten when a row exists; default: every copied and joined field but the key.
    update: tuple[str, ...] | None = None

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
        {"username": "staff_code", "staff_code": "staff_code", "display_name": "name", "role": "role", "email": "email"},
        joins=(Join("branch", Branch, "code", "branch_code"),),
        insert_only={
            # Unusable (starts with "!"), random, like make_password(None). Never
            # in the update list: re-importing must not undo a password an admin set.
            "password": "{unusable_password}",
            "first_name": "''",
            "last_name": "''",
            "is_superuser": "FALSE",
            "is_staff": "FALSE",
            "is_active": "TRUE",
            "date_joined": "%s",
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
            "segment": "''",
            "segment_override": "''",
            "segment_override_reason": "''",
            "tier": "''",
            "status": "'active'",
            "latest_aum": "0",
        },
    ),
    "monthly": Target(
        MonthlyBalance,
        ("customer", "month"),
        {
            name: name
            for name in ("month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend",
                         "txn_count", "digital_logins", "products_held", "status")
        },
        joins=(Join("customer", Customer, "customer_id", "customer_id"),),
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
}


def _column(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).column


class Writer:
    """Staging and upserts on one connection; subclasses speak each database's dialect."""

    unusable_password_sql = ""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.quote = connection.ops.quote_name
        self._staged: list[str] = []

    # --- staging tables ---

    def staging_table(self, spec: FileSpec) -> str:
        return f"import_{spec.kind}"

    def staging_columns(self, spec: FileSpec) -> dict[str, str]:
        """Staging column -> SQL type: the type of the target column it feeds."""
        target = TARGETS[spec.kind]
        columns: dict[str, str] = {}
        for field_name, staged in target.copy.items():
            columns.setdefault(staged, target.model._meta.get_field(field_name).db_type(self.connection))
        for join in target.joins:
            columns.setdefault(join.staged, join.model._meta.get_field(join.code_field).db_type(self.connection))
        return columns

    def create_stage(self, spec: FileSpec) -> None:
        table = self.staging_table(spec)
        columns = ", ".join(f"{self.quote(name)} {sql_type}" for name, sql_type in self.staging_columns(spec).items())
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TEMP TABLE {table} ({columns})")
        self._staged.append(table)

    def open_stage(self, spec: FileSpec) -> StageSink:
        """An empty staging table for ``spec``, and a sink that fills it; close the sink before upserting."""
        raise NotImplementedError

    def drop_stages(self) -> None:
        with self.connection.cursor() as cursor:
            for table in self._staged:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        self._staged.clear()

    # --- upserts ---

    def begin(self) -> None:
        """Session settings and locks for the import's transaction."""

    def upsert_sql(self, spec: FileSpec) -> tuple[str, list]:
        target = TARGETS[spec.kind]
        meta = target.model._meta
        columns: list[str] = []
        values: list[str] = []
        params: list = []
        for field_name, staged in target.copy.items():
            columns.append(_column(target.model, field_name))
            values.append(f"s.{self.quote(staged)}")
        joins = []
        for i, join in enumerate(target.joins):
            alias = f"j{i}"
            columns.append(_column(target.model, join.field))
            values.append(f"{alias}.{self.quote(join.model._meta.pk.column)}")
            joins.append(
                f"JOIN {self.quote(join.model._meta.db_table)} AS {alias} "
                f"ON {alias}.{self.quote(_column(join.model, join.code_field))} = s.{self.quote(join.staged)}"
            )
        for column, sql in target.insert_only.items():
            columns.append(column)
            if sql == "%s":
                params.append(timezone.now())
            values.append(sql.format(unusable_password=self.unusable_password_sql))
        conflict = [_column(target.model, name) for name in target.conflict]
        by_column = dict(zip(columns, values, strict=True))
        updated = [_column(target.model, name) for name in target.updated_fields()]
        quote = self.quote
        sql = (
            f"INSERT INTO {quote(meta.db_table)} AS t ({', '.join(quote(c) for c in columns)}) "
            f"SELECT {', '.join(values)} FROM {self.staging_table(spec)} AS s {' '.join(joins)} "
            # WHERE TRUE: SQLite needs it to tell ON CONFLICT from a join's ON.
            # ORDER BY the key: index pages are then filled in order instead of at
            # random, which is what keeps 24 million rows fast.
            f"WHERE TRUE ORDER BY {', '.join(by_column[c] for c in conflict)} "
            f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET "
            f"{', '.join(f'{quote(c)} = EXCLUDED.{quote(c)}' for c in updated)} "
            f"WHERE ({', '.join(f't.{quote(c)}' for c in updated)}) "
            f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{quote(c)}' for c in updated)})"
        )
        return sql, params

    def upsert(self, spec: FileSpec) -> tuple[int, int]:
        """Write the staged rows; return how many were inserted and updated."""
        raise NotImplementedError

    def refresh_customers(self, *, tier_floors: dict[str, float]) -> int:
        """Set latest_month, latest_aum, status and tier of every customer in
        the staged monthly rows from their latest monthly row, in one UPDATE.

        The latest row is looked up in the whole history, not the file: an
        old month re-imported must not overwrite a newer state.
        """
        tier_sql, tier_params = tier_case_sql("l.aum", tier_floors)
        customers = self.quote(Customer._meta.db_table)
        balances = self.quote(MonthlyBalance._meta.db_table)
        with self.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS import_affected")
            cursor.execute("CREATE TEMP TABLE import_affected (customer_pk bigint PRIMARY KEY)")
            self._staged.append("import_affected")
            cursor.execute(
                f"INSERT INTO import_affected (customer_pk) SELECT DISTINCT c.id FROM import_monthly AS s "
                f"JOIN {customers} AS c ON c.customer_id = s.customer_id"
            )
            self.analyze("import_affected")
            cursor.execute(
                f"UPDATE {customers} AS c SET latest_month = l.month, latest_aum = l.aum, status = l.status, "
                f"tier = {tier_sql} "
                f"FROM ({self.latest_balances_sql(balances)}) AS l "
                f"WHERE c.id = l.customer_id AND (c.latest_month, c.latest_aum, c.status, c.tier) "
                f"IS DISTINCT FROM (l.month, l.aum, l.status, {tier_sql})",
                tier_params + tier_params,
            )
            return cursor.rowcount

    def latest_balances_sql(self, balances: str) -> str:
        """Each affected customer's latest monthly row (customer_id, month, aum, status)."""
        return (
            f"SELECT b.customer_id, b.month, b.aum, b.status FROM {balances} AS b "
            f"JOIN (SELECT m.customer_id, MAX(m.month) AS month FROM {balances} AS m "
            f"JOIN import_affected AS a ON a.customer_pk = m.customer_id GROUP BY m.customer_id) AS last "
            f"ON last.customer_id = b.customer_id AND last.month = b.month"
        )

    def analyze(self, table: str) -> None:
        """Give the planner row counts for a freshly filled temp table."""


class StageSink:
    def write(self, table: pa.Table) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """All rows are written."""


class PostgresWriter(Writer):
    unusable_password_sql = "'!' || md5(random()::text)"

    def begin(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK])
            # Sorting 24 million rows for the upsert and hashing a million
            # customer ids want memory; LOCAL keeps it to this transaction.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # One commit at the end: not waiting for its WAL flush is safe,
            # a crash before it simply loses the whole import.
            cursor.execute("SET LOCAL synchronous_commit = off")

    def open_stage(self, spec: FileSpec) -> StageSink:
        self.create_stage(spec)
        columns = list(self.staging_columns(spec))
        table = self.staging_table(spec)
        sql = f"COPY {table} ({', '.join(self.quote(c) for c in columns)}) FROM STDIN WITH (FORMAT csv)"
        self.connection.ensure_connection()
        return _CopySink(self.connection.connection.cursor(), sql, columns, on_done=lambda: self.analyze(table))

    def upsert(self, spec: FileSpec) -> tuple[int, int]:
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

    def latest_balances_sql(self, balances: str) -> str:
        # DISTINCT ON walks the (customer, month) unique index backwards per customer.
        return (
            f"SELECT DISTINCT ON (b.customer_id) b.customer_id, b.month, b.aum, b.status FROM {balances} AS b "
            f"JOIN import_affected AS a ON a.customer_pk = b.customer_id ORDER BY b.customer_id, b.month DESC"
        )

    def analyze(self, table: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")


class _CopySink(StageSink):
    """Feeds one ``COPY FROM STDIN`` from a background thread.

    psycopg2 releases the GIL while it sends, so the server parses block n
    while the main thread checks block n+1. The queue holds two blocks at most,
    which bounds memory whatever the file's size.
    """

    def __init__(self, cursor, sql: str, columns: list[str], on_done: Callable[[], None]) -> None:
        self._columns = columns
        self._on_done = on_done
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._cursor = cursor
        self._thread = threading.Thread(target=self._run, args=(sql,), name="import-copy", daemon=True)
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
        table = self._queue.get()
        if table is None:
            return b""
        return csv_bytes(table.select(self._columns))

    def write(self, table: pa.Table) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(table)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._on_done()


class SqliteWriter(Writer):
    unusable_password_sql = "'!' || lower(hex(randomblob(20)))"

    def open_stage(self, spec: FileSpec) -> StageSink:
        self.create_stage(spec)
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
        placeholders = ", ".join(["%s"] * len(self._columns))
        quoted = ", ".join(writer.quote(c) for c in self._columns)
        self._sql = f"INSERT INTO {writer.staging_table(spec)} ({quoted}) VALUES ({placeholders})"

    def write(self, table: pa.Table) -> None:
        columns = []
        for name in self._columns:
            values = table.column(name)
            if pa.types.is_date(values.type) or pa.types.is_decimal(values.type):
                values = pc.cast(values, pa.string())  # the text Django itself stores for these
            columns.append(values.to_pylist())
        with self._writer.connection.cursor() as cursor:
            cursor.executemany(self._sql, list(zip(*columns, strict=True)))


def writer_for(connection: BaseDatabaseWrapper) -> Writer:
    if connection.vendor == "postgresql":
        return PostgresWriter(connection)
    if connection.vendor == "sqlite":
        return SqliteWriter(connection)
    raise NotImplementedError(f"importing into {connection.vendor} is not supported")

