#!/usr/bin/env python
"""Nightly scoring benchmark on PostgreSQL.

    .venv/bin/python benchmarks/nightly_bench.py --customers 100000
    nohup .venv/bin/python benchmarks/nightly_bench.py > var/bench-1m.log 2>&1 &     # 1M x 24, slow

1. creates and migrates its own database (default ``bench_nightly``) and loads
   the demo bank of N customers x M months through the production path:
   ``demo.bank.generate_demo_bank`` writes the interchange CSVs (kept
   in ``var/bench_nightly/<N>x<M>`` for the next run) and
   ``customers.services.bank_data_import`` COPYs and upserts them
   (``--skip-load`` reuses the bank already in the database);
2. trains once on a sample of customers;
3. starts the scoring processes (``--workers``, spawned, Django and scikit-learn
   imported: what a Celery worker has done long before 02:00) and *then* times
   the nightly scoring run end to end: preparing the run and its chunks, and in
   the workers reading, features, predicting, reasons and the upsert of the
   scores, chunk after chunk, until the last chunk closes the run. Alert raising
   (retention) is not part of this timing;
4. times ``COPY (SELECT * FROM customers_monthlybalance) TO STDOUT``;
5. prints both times, their ratio, the peak RSS of the scoring processes and
   where the workers' time went (summed over chunks).

Targets on the 2-core machine: ratio <= 2.0, peak RSS < 2 GB per worker.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import date, timedelta
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


def load_bank(*, customers: int, months: int, end_month: date, today: date, seed: int = 42) -> None:
    """Generate (once, cached on disk) and import the demo bank through the production import."""
    from django.db import connection

    from customers import conf as customers_conf
    from customers.services import bank_data_import
    from demo.bank import generate_demo_bank

    data = ROOT / "var" / "bench_nightly" / f"{customers}x{months}-{end_month:%Y%m}-s{seed}"
    if not (data / "appointments.csv").exists():
        started = time.monotonic()
        counts = generate_demo_bank(data, customers=customers, months=months, seed=seed,
                                    end_month=f"{end_month:%Y-%m}", today=today,
                                    tier_floors=customers_conf.tier_floors())
        print(f"generated {data} in {time.monotonic() - started:.0f}s: {counts}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE churn_churnscore, churn_nightlychunk, churn_nightlyrun, customers_monthlybalance, "
            "customers_holding, customers_survey, customers_appointment, customers_contactlog, "
            "customers_customer RESTART IDENTITY CASCADE"
        )
    started = time.monotonic()
    result = bank_data_import(directory=data, progress=sys.stderr.isatty())
    if not result.ok:
        raise SystemExit(f"import failed: {result.problems[:5]}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"imported in {time.monotonic() - started:.0f}s", flush=True)


def _worker_init(url: str) -> None:
    # The benchmark times scoring (the churn engine's chunks): the nightly chain's later
    # stages (alerts, reasons) are not run here.
    _setup_django(url)


def _ready() -> int:
    time.sleep(0.2)  # long enough that one worker cannot answer for all
    return os.getpid()


def _score_chunk(run_id: int, first_id: int, last_id: int) -> tuple[int, int, dict]:
    from churn import services

    timings: dict[str, float] = {}
    scored = services.nightly_chunk_score(run_id=run_id, first_id=first_id, last_id=last_id, timings=timings)
    return scored, _peak_rss(), timings


def _peak_rss() -> int:
    """This process's peak resident set in bytes (VmHWM). Not ``ru_maxrss``: that survives
    ``exec``, so a spawned worker would report the parent's size at the fork."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--chunk-size", type=int, default=100_000, help="customers per scoring chunk")
    parser.add_argument("--workers", type=int, default=2, help="scoring processes (like Celery workers)")
    parser.add_argument("--train-sample", type=int, default=20_000, help="customers to train on")
    parser.add_argument("--skip-load", action="store_true", help="reuse the bank already in the database")
    parser.add_argument("--load-only", action="store_true", help="load the bank, then stop")
    parser.add_argument("--run-date", type=date.fromisoformat, default=date(2026, 1, 5),
                        help="the data ends with the month before this date's month")
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
        end_month = (args.run_date.replace(day=1) - timedelta(days=1)).replace(day=1)
        load_bank(customers=args.customers, months=args.months, end_month=end_month, today=args.run_date)
        print(f"loaded {args.customers:,} customers x {args.months} months in {time.monotonic() - started:.0f}s")
    if args.load_only:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_monthlybalance")
        monthly_rows = cursor.fetchone()[0]

    print(f"load average before training: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    started = time.monotonic()
    version = services.model_version_train(force=True, sample_customers=args.train_sample)
    print(f"trained model #{version.pk} on {args.train_sample:,} customers in {time.monotonic() - started:.0f}s "
          f"(evaluation ROC AUC {version.metrics['roc_auc']}, PR AUC {version.metrics['pr_auc']})")

    NightlyRun.objects.filter(run_date=args.run_date).delete()
    ChurnScore.objects.filter(scored_on=args.run_date).delete()
    connection.close()

    # --- the workers start (not timed: Celery workers are up long before 02:00) -----------------
    started = time.monotonic()
    # spawn, not fork: a process forked after OpenMP started (training) hangs in its first parallel region.
    pool = ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init, initargs=(args.database_url,),
                               mp_context=multiprocessing.get_context("spawn"))
    pids: set[int] = set()
    while len(pids) < args.workers:  # every worker has run its initializer (a slow one is waited for)
        pids |= {f.result() for f in [pool.submit(_ready) for _ in range(args.workers)]}
    print(f"{len(pids)} workers started in {time.monotonic() - started:.1f}s (not timed)", flush=True)

    # --- the nightly run, end to end -------------------------------------------------------------
    started = time.monotonic()
    with override_settings(CHURN_SCORE_CHUNK_SIZE=args.chunk_size):
        run = services.nightly_run_prepare(run_date=args.run_date)
    chunks = services.nightly_run_pending_chunks(run=run)
    connection.close()
    prepare_seconds = time.monotonic() - started
    scored, peak_rss, worker_timings = 0, 0, {}
    with pool:
        futures = [pool.submit(_score_chunk, run.pk, first, last) for first, last in chunks]
        for future in as_completed(futures):
            n, rss, timings = future.result()
            scored += n
            peak_rss = max(peak_rss, rss)
            for step, seconds in timings.items():
                worker_timings[step] = worker_timings.get(step, 0.0) + seconds
    scoring_seconds = time.monotonic() - started
    services.nightly_scoring_totals(run_id=run.pk)
    run.refresh_from_db()
    with_reasons = ChurnScore.objects.filter(scored_on=args.run_date).exclude(reasons=[]).count()

    # --- the yardstick: just reading the monthly balances out ------------------------------------
    started = time.monotonic()
    with connection.cursor() as cursor, open(os.devnull, "wb") as sink:
        cursor.copy_expert("COPY (SELECT * FROM customers_monthlybalance) TO STDOUT", sink)
    copy_seconds = time.monotonic() - started

    print(f"customers scored:          {scored:,} ({run.customers_skipped:,} skipped; {with_reasons:,} with reasons; "
          f"{len(chunks)} chunks of {args.chunk_size:,}, {args.workers} workers; "
          f"{run.chunks_done}/{run.chunks_total} chunks done)")
    print(f"nightly scoring end to end: {scoring_seconds:8.1f} s")
    print(f"COPY monthly balances out:  {copy_seconds:8.1f} s  ({monthly_rows:,} rows)")
    print(f"ratio scoring / COPY:       {scoring_seconds / copy_seconds:8.2f}  (target <= 2.0)")
    print(f"peak RSS per worker:        {peak_rss / 2**20:8.0f} MiB (target < 2048)")
    print(f"data month {run.data_month}; preparing the run (chunks) {prepare_seconds:.1f} s; worker seconds "
          "summed over chunks: " + ", ".join(f"{step} {seconds:.1f}" for step, seconds in worker_timings.items()))
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
