"""Time ``import_bank_data`` end to end on PostgreSQL, beside a raw COPY of the same files.

    .venv/bin/python benchmarks/import_bench.py --customers 1000000 --months 24

Generates the interchange files for N customers x M months (vectorised numpy,
written in chunks by pyarrow's CSV writer, in a child process so its memory
does not count against the import), drops and re-creates the benchmark
database, migrates it and then, in the same run:

1. the reference: each file's plain ``COPY ... FROM STDIN (FORMAT csv)`` into
   a bare table of the CSV's columns (no key, no index, no constraint), then
   the unique index on its natural key, which is the least any loader that
   refuses duplicate keys must do;
2. the import, timed file by file and phase by phase, wall clock beside the
   CPU of this process (Python, pyarrow, the encoder) and of its PostgreSQL
   backend, and every SQL statement it ran with its time (the PostgreSQL side
   of the profile; the COPYs themselves run inside the staging phases);
3. per file the import's time over the reference's (the ratio), the whole
   bank's time, and the peak memory of each process.

``--data DIR`` times files you already have (e.g. from ``manage.py
make_demo_bank``); ``--reimport`` also times importing the same files a second
time (every row unchanged); ``--next-month`` one more month on top.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_import"
# Never dropped, whatever --database-url says.
PROTECTED_DATABASES = {"postgres", "template0", "template1", "test", "root"}
CHUNK_CUSTOMERS = 50_000
BANK_NAME = "Demo Bank"


# --- data --------------------------------------------------------------------------------------


def _money(cents: np.ndarray) -> pa.Array:
    return pa.array(cents / 100.0).cast(pa.decimal128(18, 2), safe=False)


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"))


def _write(path: Path, table: pa.Table, writer: pacsv.CSVWriter | None) -> pacsv.CSVWriter:
    if writer is None:
        writer = pacsv.CSVWriter(str(path), table.schema, write_options=pacsv.WriteOptions(quoting_style="none"))
    writer.write_table(table)
    return writer


def generate(out: Path, *, customers: int, months: int, order: str, seed: int = 1) -> dict[str, int]:
    """Write a plausible bank of ``customers`` x ``months`` into ``out``; return rows per file."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    branch_count = max(5, customers // 20_000)
    branches = [f"BR{i:04d}" for i in range(branch_count)]
    pacsv.write_csv(pa.table({"branch_code": branches, "name": [f"Branch {b}" for b in branches],
                              "city": ["Hangzhou"] * branch_count}), out / "branches.csv")
    counts["branches.csv"] = branch_count

    rm_count = max(branch_count, customers // 400)
    rms = [f"RM{i:06d}" for i in range(rm_count)]
    others = [(f"H{i:04d}", "head") for i in range(branch_count)]
    others += [(f"L{i:04d}", "lobby") for i in range(branch_count)]
    staff_codes = rms + [code for code, _ in others]
    roles = ["rm"] * rm_count + [role for _, role in others]
    staff_branches = [branches[i % branch_count] for i in range(rm_count)] + [branches[i % branch_count]
                                                                              for i in range(len(others))]
    pacsv.write_csv(pa.table({"staff_code": staff_codes, "name": staff_codes, "branch_code": staff_branches,
                              "role": roles, "email": [f"{c.lower()}@bank.example.com" for c in staff_codes]}),
                    out / "staff.csv")
    counts["staff.csv"] = len(staff_codes)

    kinds = ["deposit", "wealth", "fund", "insurance", "loan", "card"]
    products = [(f"OUR{i:03d}", BANK_NAME, kinds[i % 6]) for i in range(24)]
    products += [(f"CMP{i:03d}", f"Competitor {i % 4}", kinds[i % 2]) for i in range(40)]
    codes = [p[0] for p in products]
    pacsv.write_csv(pa.table({
        "product_code": codes, "provider": [p[1] for p in products], "name": [f"Product {c}" for c in codes],
        "kind": [p[2] for p in products], "yield_pct": [f"{rng.uniform(0.5, 4):.3f}" for _ in products],
        "term_days": ["180" if p[2] in ("deposit", "wealth") else "" for p in products],
    }), out / "products.csv")
    counts["products.csv"] = len(products)

    first_month = np.datetime64("2023-01", "M")
    month_labels = [str(first_month + k) for k in range(months)]
    competitors = [c for c in codes if c.startswith("CMP")]
    pacsv.write_csv(pa.table({
        "product_code": [c for c in competitors for _ in month_labels],
        "month": month_labels * len(competitors),
        "yield_pct": [f"{v:.3f}" for v in rng.uniform(1, 4, len(competitors) * months)],
    }), out / "product_yields.csv")
    counts["product_yields.csv"] = len(competitors) * months

    writers: dict[str, pacsv.CSVWriter] = {}
    for name in ("customers.csv", "monthly.csv", "holdings.csv", "surveys.csv", "appointments.csv"):
        counts[name] = 0
    # Month-major files are written a month at a time, so every customer's
    # level is drawn once up front.
    level = rng.lognormal(10, 1.6, customers)
    try:
        for first in range(0, customers, CHUNK_CUSTOMERS):
            n = min(CHUNK_CUSTOMERS, customers - first)
            numbers = np.arange(first + 1, first + n + 1)
            ids = pa.array(np.char.add("C", np.char.zfill(numbers.astype(str), 9)))
            phone = np.char.add("139", np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8))
            birth = rng.integers(-10_000, 12_000, n)
            table = pa.table({
                "customer_id": ids,
                "name": pa.array(np.char.add("Customer ", numbers.astype(str))),
                "gender": pa.array(np.where(rng.random(n) < 0.5, "M", "F")),
                "birth_date": _dates(birth),
                "id_number": pa.array(np.char.add("3301", np.char.zfill(numbers.astype(str), 14))),
                "phone": pa.array(phone),
                "branch_code": pa.array(np.array(branches)[numbers % branch_count]),
                "rm_code": pa.array(np.array(rms)[numbers % rm_count]),
                "opened_on": _dates(rng.integers(10_000, 19_000, n)),
                "region": pa.array(np.where(rng.random(n) < 0.8, "Hangzhou", "")),
                "annual_income": _money(rng.integers(0, 10**8, n)),
                "credit_score": pa.array(rng.integers(300, 900, n)),
            })
            writers["customers.csv"] = _write(out / "customers.csv", table, writers.get("customers.csv"))
            counts["customers.csv"] += n
            if order == "customer":
                table = _monthly(rng, ids, level[first:first + n], month_labels)
                writers["monthly.csv"] = _write(out / "monthly.csv", table, writers.get("monthly.csv"))
                counts["monthly.csv"] += table.num_rows
            holdings = rng.integers(0, 3, n)
            cust = np.repeat(np.arange(n), holdings)
            product = rng.integers(0, len(codes), len(cust))
            start = rng.integers(18_000, 19_800, len(cust))
            # One holding per customer, product and start date.
            _, unique = np.unique(cust * 10**8 + product * 10**5 + start, return_index=True)
            cust, product, start = cust[unique], product[unique], start[unique]
            table = pa.table({
                "customer_id": ids.take(pa.array(cust)),
                "product_code": pa.array(np.array(codes)[product]),
                "amount": _money(rng.integers(100_000, 10**9, len(cust))),
                "start_on": _dates(start),
                "maturity_on": pa.array((start + 180).astype("datetime64[D]"), mask=rng.random(len(cust)) < 0.5),
            })
            writers["holdings.csv"] = _write(out / "holdings.csv", table, writers.get("holdings.csv"))
            counts["holdings.csv"] += table.num_rows
            surveyed = np.flatnonzero(rng.random(n) < 0.3)
            table = pa.table({
                "customer_id": ids.take(pa.array(surveyed)),
                "surveyed_on": _dates(rng.integers(19_400, 19_900, len(surveyed))),
                "score": pa.array(rng.integers(0, 11, len(surveyed))),
                "channel": pa.array(np.where(rng.random(len(surveyed)) < 0.5, "app", "branch")),
                "comment": pa.array(np.where(rng.random(len(surveyed)) < 0.2, "waited too long", "")),
            })
            writers["surveys.csv"] = _write(out / "surveys.csv", table, writers.get("surveys.csv"))
            counts["surveys.csv"] += table.num_rows
            booked = np.flatnonzero(rng.random(n) < 0.02)
            table = pa.table({
                "customer_id": ids.take(pa.array(booked)),
                "kind": pa.array(np.where(rng.random(len(booked)) < 0.5, "cash_withdrawal", "transfer")),
                "amount": _money(rng.integers(5 * 10**6, 10**8, len(booked))),
                "scheduled_on": _dates(rng.integers(19_900, 19_910, len(booked))),
            })
            writers["appointments.csv"] = _write(out / "appointments.csv", table, writers.get("appointments.csv"))
            counts["appointments.csv"] += table.num_rows
        if order == "month":
            all_ids = np.char.add("C", np.char.zfill(np.arange(1, customers + 1).astype(str), 9))
            for k, label in enumerate(month_labels):
                for first in range(0, customers, 1_000_000):
                    ids = pa.array(all_ids[first:first + 1_000_000])
                    table = _monthly(rng, ids, level[first:first + 1_000_000], [label], month_index=k)
                    writers["monthly.csv"] = _write(out / "monthly.csv", table, writers.get("monthly.csv"))
                    counts["monthly.csv"] += table.num_rows
    finally:
        for writer in writers.values():
            writer.close()
    return counts


def _monthly(rng: np.random.Generator, ids: pa.Array, level: np.ndarray, months: list[str], *,
             month_index: int = 0) -> pa.Table:
    """Rows for ``ids`` x ``months``, customer by customer."""
    n, m = len(ids), len(months)
    drift = np.cumsum(rng.normal(0, 0.05, (n, m)), axis=1) + 0.01 * month_index
    aum = np.round(level[:, None] * np.exp(drift) * 100).astype(np.int64).ravel()
    deposit = aum * rng.integers(20, 90, n * m) // 100
    wealth = (aum - deposit) * rng.integers(0, 100, n * m) // 100
    status = np.where(rng.random(n * m) < 0.002, "closed", "active")
    return pa.table({
        "customer_id": ids.take(pa.array(np.repeat(np.arange(n), m))),
        "month": pa.array(np.tile(np.array(months), n)),
        "aum": _money(aum),
        "deposit_balance": _money(deposit),
        "wealth_balance": _money(wealth),
        "loan_balance": _money(rng.integers(0, 5 * 10**7, n * m) * (rng.random(n * m) < 0.2)),
        "card_spend": _money(rng.integers(0, 2 * 10**6, n * m)),
        "txn_count": pa.array(rng.integers(0, 120, n * m)),
        "digital_logins": pa.array(rng.integers(0, 40, n * m)),
        "products_held": pa.array(rng.integers(1, 9, n * m)),
        "status": pa.array(status),
    })


def _generate_in_child(out: Path, customers: int, months: int, order: str, bank: str,
                       queue: multiprocessing.Queue) -> None:
    started = time.perf_counter()
    if bank == "demo":
        import datetime as dt

        import django

        django.setup()
        from customers import conf
        from demo.bank import generate_demo_bank

        # A fixed calendar, so every run imports the same files.
        counts = generate_demo_bank(out, customers=customers, months=months, seed=1, end_month="2026-10",
                                    today=dt.date(2026, 11, 15), tier_floors=conf.tier_floors(),
                                    bank_name=conf.bank_name())
    else:
        counts = generate(out, customers=customers, months=months, order=order)
    queue.put((counts, time.perf_counter() - started))


# --- database ----------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import dj_database_url
    import psycopg2

    settings = dj_database_url.parse(url)
    name = settings["NAME"]
    if name in PROTECTED_DATABASES:
        sys.exit(f"refusing to drop the database {name!r}; choose another with --database-url")
    maintenance = psycopg2.connect(dbname="postgres", user=settings["USER"], password=settings["PASSWORD"] or None,
                                   host=settings["HOST"] or None, port=settings["PORT"] or None)
    maintenance.autocommit = True
    with maintenance.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    maintenance.close()


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def _backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _process_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a local process (the PostgreSQL backend): the
    machine is shared, so wall time alone says little about the import itself."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure_phases(backend_pid: int, statements: StatementLog) -> dict[str, list[float]]:
    """Make the import's phase timer also record CPU: this process's and the backend's."""
    from customers import services

    cpu: dict[str, list[float]] = {}

    class Timer(services._Timer):
        def __enter__(self) -> None:
            statements.phase = self.phase
            self.cpu_started = (time.process_time(), _process_cpu(backend_pid) or 0.0)
            super().__enter__()

        def __exit__(self, *exc_info: object) -> None:
            super().__exit__(*exc_info)
            used = cpu.setdefault(self.phase, [0.0, 0.0])
            used[0] += time.process_time() - self.cpu_started[0]
            used[1] += (_process_cpu(backend_pid) or 0.0) - self.cpu_started[1]

    services._Timer = Timer
    return cpu


# --- the reference: a raw COPY of the same file, and its unique index ----------------------------


def _reference_types(spec) -> dict[str, str]:
    """SQL type per CSV column, as plain as the CSV allows: codes and months stay text."""
    from customers.importing.schema import Kind

    types = {}
    for column in spec.columns:
        if column.kind is Kind.DATE:
            types[column.name] = "date"
        elif column.kind in (Kind.AMOUNT, Kind.NUMBER):
            types[column.name] = f"numeric({column.max_digits}, {column.decimal_places})"
        elif column.kind is Kind.COUNT:
            types[column.name] = "integer"
        elif column.kind is Kind.BOOLEAN:
            types[column.name] = "boolean"
        elif column.max_length:
            types[column.name] = f"varchar({column.max_length})"
        else:
            types[column.name] = "text"
    return types


def reference_copy(directory: Path) -> dict[str, tuple[float, float, int, float]]:
    """For each interchange file: seconds of ``COPY FROM`` into a bare table, seconds of its
    unique index on the natural key, the backend's peak memory (kB) and the backend's CPU
    seconds for both (on a shared machine the CPU says more than the wall clock)."""
    import csv

    from django.db import connection

    from customers.importing.schema import FILES

    results = {}
    backend = _backend_pid(connection)
    for spec in FILES:
        path = directory / spec.name
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f))
        types = _reference_types(spec)
        table = f"bench_reference_{spec.kind}"
        columns = ", ".join(f'"{name}" {types.get(name, "text")}' for name in header)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} ({columns})")
        # A quoted empty value ("") is NULL too, where the column is not text.
        typed = [f'"{name}"' for name in header if not types.get(name, "text").startswith(("varchar", "text"))]
        force_null = f", FORCE_NULL ({', '.join(typed)})" if typed else ""
        raw = connection.connection
        cpu_started = _process_cpu(backend) or 0.0
        started = time.perf_counter()
        with path.open("rb") as f, raw.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true{force_null})", f,
                               size=1 << 20)
        raw.commit()
        copied = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE UNIQUE INDEX ON {table} ({', '.join(spec.key)})")
            indexed = time.perf_counter()
            cpu = (_process_cpu(backend) or 0.0) - cpu_started
            cursor.execute(f"DROP TABLE {table}")
        results[spec.name] = (copied - started, indexed - copied, _peak_kb(backend), cpu)
    return results


def _peak_kb(pid: int) -> int:
    """A local process's peak resident memory (VmHWM), in kB; 0 if it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- the PostgreSQL side: every statement the import runs, timed --------------------------------


class StatementLog:
    """Django's execute wrapper: seconds per statement, under the phase running it."""

    def __init__(self) -> None:
        self.phase = ""
        self.statements: list[tuple[str, str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((self.phase, " ".join(str(sql).split()), time.perf_counter() - started))

    def report(self, top: int = 15) -> None:
        total = sum(seconds for _, _, seconds in self.statements)
        print(f"\n  SQL statements (PostgreSQL side, COPYs excluded): {len(self.statements)} in {total:.1f} s; "
              f"the {top} longest:")
        for phase, sql, seconds in sorted(self.statements, key=lambda s: -s[2])[:top]:
            print(f"  {seconds:7.2f} s  [{phase}] {sql[:110]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--bank", choices=["demo", "synthetic"], default="demo",
                        help="demo: make_demo_bank's bank (customers join and leave, several holdings and "
                             "surveys each; the default); synthetic: this script's faster, plainer generator")
    parser.add_argument("--order", choices=["customer", "month"], default="customer",
                        help="synthetic bank only: row order of monthly.csv, by customer then month "
                             "(default) or month by month")
    parser.add_argument("--data", type=Path, help="import these files instead of generating them")
    parser.add_argument("--keep-data", action="store_true", help="keep the generated files")
    parser.add_argument("--reimport", action="store_true", help="also time a second import of the same files")
    parser.add_argument("--next-month", action="store_true",
                        help="then also time importing one more month of monthly.csv on top")
    parser.add_argument("--no-reference", action="store_true", help="skip the raw COPY reference")
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DEBUG", "1")  # settings want a SECRET_KEY otherwise
    sys.path.insert(0, str(ROOT))

    data = args.data
    workdir = None
    if data is None:
        workdir = Path(tempfile.mkdtemp(prefix="import_bench_"))
        data = workdir / "data"
        queue: multiprocessing.Queue = multiprocessing.Queue()
        child = multiprocessing.get_context("fork").Process(
            target=_generate_in_child, args=(data, args.customers, args.months, args.order, args.bank, queue))
        child.start()
        counts, seconds = queue.get()
        child.join()
        size = sum(f.stat().st_size for f in data.iterdir()) / 1e9
        print(f"generated {counts['customers.csv']:,} customers, {counts['monthly.csv']:,} monthly rows "
              f"({args.bank} bank), {size:.2f} GB in {seconds:.1f} s")

    import django

    recreate_database(args.database_url)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    connection.close()

    try:
        reference = {} if args.no_reference else reference_copy(data)
        reference_peak = max((peak for _, _, peak, _ in reference.values()), default=0)
        connection.close()  # the import's backend starts afresh, so its peak memory is its own
        backend = _backend_pid(connection)
        for label in ["import", "re-import"] if args.reimport else ["import"]:
            _timed_import(label, data, backend, reference if label == "import" else {})
        if args.next_month:
            next_month = _next_month(Path(tempfile.mkdtemp(prefix="import_bench_next_")))
            try:
                _timed_import("next month", next_month, backend, {})
            finally:
                shutil.rmtree(next_month, ignore_errors=True)
        print(f"\npeak memory (resident): import process {_peak_mb(resource.RUSAGE_SELF):,.0f} MB, "
              f"its PostgreSQL backend {_peak_kb(backend) / 1024:,.0f} MB, the reference's backend "
              f"{reference_peak / 1024:,.0f} MB, generator child {_peak_mb(resource.RUSAGE_CHILDREN):,.0f} MB "
              "(a backend's figure includes the shared buffers it touched)")
    finally:
        if workdir is not None and not args.keep_data:
            shutil.rmtree(workdir, ignore_errors=True)
        elif workdir is not None:
            print(f"data kept in {data}")


def _timed_import(label: str, directory: Path, backend: int,
                  reference: dict[str, tuple[float, float, int, float]]) -> None:
    from django.db import connection

    from customers.services import bank_data_import

    statements = StatementLog()
    phase_cpu = _measure_phases(backend, statements)
    wal_before, checkpoints_before = _wal_and_checkpoints()
    server_before = _process_cpu(backend)
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(statements):
        result = bank_data_import(directory=directory, progress=sys.stderr.isatty())
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server = (_process_cpu(backend) or 0.0) - (server_before or 0.0)
    if not result.ok:
        for problem in result.problems:
            print(problem)
        sys.exit(f"{label} failed with {result.problem_count} problems")
    monthly = next((f for f in result.files if f.name == "monthly.csv"), None)
    print(f"\n{label}: {total:.1f} s total")
    if monthly is not None:
        print(f"  monthly rows: {monthly.rows:,} ({monthly.inserted:,} inserted, {monthly.updated:,} updated)"
              f" -> {monthly.rows / total:,.0f} rows/s end to end")
    print(f"  {'phase':<42} {'wall s':>8} {'python cpu s':>13} {'postgres cpu s':>15}")
    for phase, seconds in result.timings.items():
        python_cpu, server_cpu = phase_cpu.get(phase, (0.0, 0.0))
        print(f"  {phase:<42} {seconds:8.1f} {python_cpu:13.1f} {server_cpu:15.1f}")
    print(f"  {'total':<42} {total:8.1f} {cpu:13.1f} {server:15.1f}")
    _per_file(result, reference, total, phase_cpu, cpu + server)
    statements.report()
    print(f"  load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores, shared); "
          "postgres cpu is the backend only, not parallel index-build workers")
    wal_after, checkpoints_after = _wal_and_checkpoints()
    print(f"  WAL written {(wal_after - wal_before) / 1e9:.1f} GB; checkpoints forced by max_wal_size meanwhile "
          f"(whole server): {checkpoints_after - checkpoints_before}")


def _per_file(result, reference: dict[str, tuple[float, float, int, float]], total: float,
              phase_cpu: dict[str, list[float]], total_cpu: float) -> None:
    """Each file's import (its read/check/stage and write phases) beside its raw COPY
    reference: wall-clock seconds and their ratio, then CPU seconds (Python and
    PostgreSQL backend together against the reference's backend) and theirs."""
    print(f"\n  {'file':<20} {'rows':>11} {'read+check+stage':>17} {'write':>7} {'import':>7} | "
          f"{'ref COPY':>8} {'ref index':>9} {'ref':>7} | {'ratio':>5} | {'cpu':>6} {'ref cpu':>7} {'ratio':>5}")
    in_files = in_files_cpu = ref_total = ref_cpu_total = 0.0
    for summary in result.files:
        phases = [f"read, check, stage: {summary.name}", f"write: {summary.name}"]
        staged, written = (result.timings.get(phase, 0.0) for phase in phases)
        cpu = sum(sum(phase_cpu.get(phase, (0.0, 0.0))) for phase in phases)
        in_files += staged + written
        in_files_cpu += cpu
        line = f"  {summary.name:<20} {summary.rows:>11,} {staged:17.1f} {written:7.1f} {staged + written:7.1f} |"
        if summary.name in reference:
            copied, indexed, _, ref_cpu = reference[summary.name]
            ref_total += copied + indexed
            ref_cpu_total += ref_cpu
            ratio = (staged + written) / (copied + indexed) if copied + indexed else float("nan")
            cpu_ratio = cpu / ref_cpu if ref_cpu else float("nan")
            line += (f" {copied:8.1f} {indexed:9.1f} {copied + indexed:7.1f} | {ratio:5.2f} |"
                     f" {cpu:6.1f} {ref_cpu:7.1f} {cpu_ratio:5.2f}")
        print(line)
    rest = total - in_files
    if ref_total:
        print(f"  {'all files':<20} {'':>11} {'':>17} {'':>7} {in_files:7.1f} | {'':>8} {'':>9} {ref_total:7.1f} |"
              f" {in_files / ref_total:5.2f} | {in_files_cpu:6.1f} {ref_cpu_total:7.1f}"
              f" {in_files_cpu / ref_cpu_total if ref_cpu_total else float('nan'):5.2f}")
    whole = f"whole bank {total:.1f} s" + (f" = {total / ref_total:.2f} x the reference" if ref_total else "")
    whole += f", CPU {total_cpu:.1f} s" + (f" = {total_cpu / ref_cpu_total:.2f} x" if ref_cpu_total else "")
    print(f"  not in a file's phases (references, refresh of the customers, late index rebuilds, commit): "
          f"{rest:.1f} s; {whole}")


def _wal_and_checkpoints() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, checkpoints_req "
                       "FROM pg_stat_bgwriter")
        wal, checkpoints = cursor.fetchone()
    return int(wal), int(checkpoints)


def _next_month(directory: Path) -> Path:
    """monthly.csv for the month after the latest one in the database, for every customer."""
    from django.db.models import Max

    from customers.models import Customer, MonthlyBalance

    last = MonthlyBalance.objects.aggregate(month=Max("month"))["month"]
    month = str(np.datetime64(last, "M") + 1)
    ids = pa.array(list(Customer.objects.order_by("pk").values_list("customer_id", flat=True)), pa.string())
    rng = np.random.default_rng(7)
    directory.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(_monthly(rng, ids, rng.lognormal(10, 1.6, len(ids)), [month]), directory / "monthly.csv",
                    write_options=pacsv.WriteOptions(quoting_style="none"))
    return directory


if __name__ == "__main__":
    main()
