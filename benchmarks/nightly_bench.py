#!/usr/bin/env python
"""Nightly scoring benchmark on PostgreSQL.

    .venv/bin/python benchmarks/nightly_bench.py --customers 100000
    nohup .venv/bin/python benchmarks/nightly_bench.py > var/bench-1m.log 2>&1 &     # 1M x 24, slow

1. creates and migrates its own database (default ``bench_nightly``), loads a
   synthetic bank of N customers x M months with COPY (``churn.synthetic``:
   vectorised, writes database keys directly; ``--skip-load`` reuses it);
2. trains once on a sample of customers;
3. times the nightly scoring run end to end (read, features, predict, reasons,
   upsert of the scores) with ``--workers`` processes taking chunks, as Celery
   workers would; alert raising (retention) is not part of this timing;
4. times ``COPY (SELECT * FROM customers_monthlybalance) TO STDOUT``;
5. prints both times, their ratio and the peak RSS of the scoring processes.

Targets on the 2-core machine: ratio <= 2.0, peak RSS < 2 GB per worker.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_nightly"


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _ensure_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if name in {"postgres", "test", "root", "template0", "template1"}:
        raise SystemExit(f"refusing to use database {name!r}: give the benchmark its own")
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                            password=parsed.password, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def _copy(cursor, table: str, columns: list[str], frame) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(frame[columns], preserve_index=False), buffer,
                    write_options=pacsv.WriteOptions(include_header=False))
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)


def load_bank(*, customers: int, months: int, chunk: int, end_month: date) -> None:
    import numpy as np
    import pandas as pd
    from django.db import connection, transaction
    from tqdm import tqdm

    from churn.synthetic import PRODUCTS, generate_bank
    from customers.models import Branch, Product, Role, User

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE churn_churnscore, churn_nightlychunk, churn_nightlyrun, customers_monthlybalance, "
            "customers_holding, customers_survey, customers_appointment, customers_contactlog, "
            "customers_customer RESTART IDENTITY CASCADE"
        )
    branch, _ = Branch.objects.get_or_create(code="B001", defaults={"name": "Bench branch"})
    rm, _ = User.objects.get_or_create(username="bench-rm", defaults={"staff_code": "BRM", "role": Role.RM,
                                                                      "branch": branch})
    for row in PRODUCTS.itertuples():
        Product.objects.get_or_create(product_code=row.product_code, defaults={
            "provider": row.provider, "is_ours": bool(row.is_ours), "name": row.product_code, "kind": row.kind,
            "yield_pct": None if pd.isna(row.yield_pct) else row.yield_pct,
            "term_days": None if pd.isna(row.term_days) else int(row.term_days)})
    product_pk = dict(Product.objects.values_list("product_code", "pk"))
    for start in tqdm(range(0, customers, chunk), desc="loading", unit="chunk"):
        size = min(chunk, customers - start)
        frames = generate_bank(customers=size, months=months, end_month=end_month, seed=0, first_number=start + 1)
        pk = {cid: start + 1 + i for i, cid in enumerate(frames.customers["customer_id"])}
        c = frames.customers.copy()
        latest = frames.monthly.sort_values("month").drop_duplicates("customer_id", keep="last")
        status = latest.set_index("customer_id")["status"]
        c["id"] = c["customer_id"].map(pk)
        c["name"] = "Customer " + c["customer_id"]
        c["id_number"] = "330100199001011234"
        c["phone"] = "13800001234"
        c["phone_tail"] = "1234"
        c["id_tail"] = "1234"
        c["branch_id"] = branch.pk
        c["rm_id"] = rm.pk
        c["segment"] = c["segment"]
        c["segment_override"] = ""
        c["segment_override_reason"] = ""
        c["tier"] = ""
        c["status"] = c["customer_id"].map(status).fillna("active")
        c["latest_aum"] = 0
        c["birth_date"] = c["birth_date"].dt.date
        c["opened_on"] = c["opened_on"].dt.date
        m = frames.monthly.copy()
        m["customer_id"] = m["customer_id"].map(pk)
        m["month"] = m["month"].dt.date
        h = frames.holdings.copy()
        h["customer_id"] = h["customer_id"].map(pk)
        h["product_id"] = h["product_code"].map(product_pk)
        h["start_on"] = h["start_on"].dt.date
        h["maturity_on"] = h["maturity_on"].dt.date
        s = frames.surveys.copy()
        s["customer_id"] = s["customer_id"].map(pk)
        s["surveyed_on"] = s["surveyed_on"].dt.date
        s["channel"] = "branch"
        s["comment"] = ""
        a = frames.appointments.copy()
        a["customer_id"] = a["customer_id"].map(pk)
        a["scheduled_on"] = a["scheduled_on"].dt.date
        a = a.drop_duplicates(["customer_id", "kind", "scheduled_on"])
        with transaction.atomic(), connection.cursor() as cursor:
            _copy(cursor, "customers_customer", [
                "id", "customer_id", "name", "gender", "birth_date", "id_number", "phone", "phone_tail", "id_tail",
                "branch_id", "rm_id", "opened_on", "region", "annual_income", "credit_score", "segment",
                "segment_override", "segment_override_reason", "tier", "status", "latest_aum"], c)
            _copy(cursor, "customers_monthlybalance", [
                "customer_id", "month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend",
                "txn_count", "digital_logins", "products_held", "status"], m)
            _copy(cursor, "customers_holding", ["customer_id", "product_id", "amount", "start_on", "maturity_on"],
                  h.drop_duplicates(["customer_id", "product_id", "start_on"]))
            _copy(cursor, "customers_survey", ["customer_id", "surveyed_on", "score", "channel", "comment"],
                  s.drop_duplicates(["customer_id", "surveyed_on", "channel"]))
            _copy(cursor, "customers_appointment", ["customer_id", "kind", "amount", "scheduled_on"], a)
        del frames, c, m, h, s, a
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), "
                       "(SELECT max(id) FROM customers_customer))")
        cursor.execute("ANALYZE")
    np.random.seed(0)


def _worker_init(url: str) -> None:
    _setup_django(url)
    from churn import services

    # The benchmark times scoring; alert raising (retention) is timed by its own owner.
    services._alerts_hand_over = lambda **kwargs: None
    services.churn_scores_explain_alerted = lambda **kwargs: 0


def _score_chunk(run_id: int, first_id: int, last_id: int) -> tuple[int, int]:
    from churn import services

    scored = services.nightly_chunk_score(run_id=run_id, first_id=first_id, last_id=last_id)
    return scored, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--chunk-size", type=int, default=100_000, help="customers per scoring chunk")
    parser.add_argument("--workers", type=int, default=2, help="scoring processes (like Celery workers)")
    parser.add_argument("--train-sample", type=int, default=20_000, help="customers to train on")
    parser.add_argument("--skip-load", action="store_true", help="reuse the bank already in the database")
    parser.add_argument("--run-date", type=date.fromisoformat, default=date(2026, 1, 5))
    args = parser.parse_args()

    _ensure_database(args.database_url)
    _setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    from churn import services
    from churn.models import ChurnScore, NightlyRun

    call_command("migrate", verbosity=0)
    if not args.skip_load:
        started = time.monotonic()
        load_bank(customers=args.customers, months=args.months, chunk=50_000, end_month=date(2025, 12, 1))
        print(f"loaded {args.customers:,} customers x {args.months} months in {time.monotonic() - started:.0f}s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_monthlybalance")
        monthly_rows = cursor.fetchone()[0]

    started = time.monotonic()
    version = services.model_version_train(force=True, sample_customers=args.train_sample)
    print(f"trained model #{version.pk} on {args.train_sample:,} customers in {time.monotonic() - started:.0f}s "
          f"(evaluation ROC AUC {version.metrics['roc_auc']}, PR AUC {version.metrics['pr_auc']})")

    NightlyRun.objects.filter(run_date=args.run_date).delete()
    ChurnScore.objects.filter(scored_on=args.run_date).delete()
    connection.close()

    # --- the nightly run, end to end -------------------------------------------------------------
    started = time.monotonic()
    with override_settings(CHURN_SCORE_CHUNK_SIZE=args.chunk_size):
        run = services.nightly_run_prepare(run_date=args.run_date)
    chunks = services.nightly_run_pending_chunks(run=run)
    connection.close()
    scored, peak_rss = 0, 0
    # spawn, not fork: a process forked after OpenMP started (training) hangs in its first parallel region.
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init, initargs=(args.database_url,),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_score_chunk, run.pk, first, last) for first, last in chunks]
        for future in as_completed(futures):
            n, rss = future.result()
            scored += n
            peak_rss = max(peak_rss, rss)
    scoring_seconds = time.monotonic() - started
    run.refresh_from_db()
    with_reasons = ChurnScore.objects.filter(scored_on=args.run_date).exclude(reasons=[]).count()

    # --- the yardstick: just reading the monthly balances out ------------------------------------
    started = time.monotonic()
    with connection.cursor() as cursor, open(os.devnull, "wb") as sink:
        cursor.copy_expert("COPY (SELECT * FROM customers_monthlybalance) TO STDOUT", sink)
    copy_seconds = time.monotonic() - started

    print(f"customers scored:          {scored:,} ({run.customers_skipped:,} skipped; {with_reasons:,} with reasons; "
          f"{len(chunks)} chunks of {args.chunk_size:,}, {args.workers} workers; run status {run.status})")
    print(f"nightly scoring end to end: {scoring_seconds:8.1f} s")
    print(f"COPY monthly balances out:  {copy_seconds:8.1f} s  ({monthly_rows:,} rows)")
    print(f"ratio scoring / COPY:       {scoring_seconds / copy_seconds:8.2f}  (target <= 2.0)")
    print(f"peak RSS per worker:        {peak_rss / 2**20:8.0f} MiB (target < 2048)")


if __name__ == "__main__":
    main()
