#!/usr/bin/env python
"""The whole nightly chain on PostgreSQL, stage by stage, against a plain COPY.

    .venv/bin/python benchmarks/nightly_bench.py --customers 100000 \
        --celery-broker redis://127.0.0.1:6379/0 --celery-results redis://127.0.0.1:6379/1
    nohup .venv/bin/python benchmarks/nightly_bench.py --skip-load ... > var/bench-1m.log 2>&1 &   # 1M x 24

1. creates and migrates its own database (default ``bench_nightly``) and loads
   the demo bank of N customers x M months through the production path:
   ``demo.bank.generate_demo_bank`` writes the interchange CSVs (kept
   in ``var/bench_nightly/<N>x<M>-...`` for the next run) and
   ``customers.services.bank_data_import`` COPYs and upserts them
   (``--skip-load`` reuses the bank already in the database);
2. trains once on a sample of customers (``--skip-train`` reuses the active model);
3. forgets what earlier benchmark nights left (their runs and scores, every case),
   then starts the processes that will run the night, untimed (they are up long
   before 02:00):

   - with ``--celery-broker``: a real Celery worker as deployed
     (``celery -A config worker --concurrency=<workers>``, prefork) on a queue of
     its own; the night is ``nightly.tasks.nightly_run_task`` sent to that queue,
     and everything after it (the chunks as a group, each later stage as
     ``nightly_stage_task``) is the production chain;
   - without: ``--workers`` spawned scoring processes and one stage process, driven
     by this script through the same ``nightly.services`` calls the tasks make
     (prepare, each chunk then ``nightly_scoring_advance``, each later stage);

4. times ``--nights`` consecutive nights (default 2: the first opens the cases, the
   day after renews and clears them): end to end (sent until the run is done)
   and per stage from the stages' own records (prepare, score, outcomes, cases
   with its steps, reasons, monitoring), while a watcher samples every process
   of the night: the peak resident set (VmHWM, reset at each stage boundary) and
   the CPU each used per stage, so each stage names the process that ran it;
5. times ``COPY (SELECT * FROM customers_monthlybalance) TO STDOUT``, the yardstick,
   in the same run, and prints each night's ratio to it.

Targets on the 2-core machine: night / COPY <= 2.0, peak RSS < 2 GB per process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_nightly"


def _setup_django(url: str, *, broker: str | None = None, results: str | None = None) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.pop("CELERY_RESULT_BACKEND", None)
    if broker:
        os.environ["CELERY_BROKER_URL"] = broker
        if results:
            os.environ["CELERY_RESULT_BACKEND"] = results
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


# --- watching the night's processes ------------------------------------------------------------


def _proc_status(pid: int) -> tuple[int, int]:
    """(peak resident bytes since the last reset (VmHWM), CPU clock ticks used) of ``pid``;
    (0, 0) once it is gone. Not ``ru_maxrss``: that survives ``exec``, so a spawned process
    would report its parent's size at the fork, and it cannot be reset."""
    try:
        with open(f"/proc/{pid}/status") as status:
            hwm = next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")), 0)
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return hwm, int(fields[11]) + int(fields[12])  # utime + stime
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0, 0


def _peak_reset(pid: int) -> None:
    """Start ``pid``'s VmHWM again from its current resident set (Linux's clear_refs, value 5)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def _peak_rss() -> int:
    return _proc_status(os.getpid())[0] or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class StageFigures:
    seconds: float | None = None
    status: str = ""
    result: dict | None = None
    peak: dict[str, int] = field(default_factory=dict)  # process label -> peak bytes in the stage
    cpu: dict[str, float] = field(default_factory=dict)  # process label -> CPU seconds in the stage
    database_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends serving the benchmark's database


@dataclass
class NightFigures:
    run_date: date
    wall_seconds: float = 0.0
    run_status: str = ""
    stages: dict[str, StageFigures] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)  # process label -> peak bytes over the night
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    chunk_timings: dict[str, float] = field(default_factory=dict)


class NightWatch(threading.Thread):
    """Polls the night's stage records and samples the processes running it: at each stage
    boundary it reads every process's peak resident set and CPU since the last boundary and
    resets the peak, so each stage gets the peak of each process while it ran. Stages that
    begin and end between two polls (a few milliseconds) share one interval."""

    INTERVAL = 0.2

    def __init__(self, *, run_date: date, processes: dict[int, str], figures: NightFigures):
        super().__init__(daemon=True)
        self.run_date = run_date
        self.processes = processes
        self.figures = figures
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._ticks = {pid: _proc_status(pid)[1] for pid in processes}
        self._backend_ticks: dict[int, int] = {}
        self._database_ticks = 0
        for pid in processes:
            _peak_reset(pid)

    def _backends(self) -> dict[int, int]:
        """CPU ticks of the PostgreSQL backends of this database (the server runs on this
        machine, so /proc has them), but this watcher's own."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid()")
            return {pid: _proc_status(pid)[1] for (pid,) in cursor.fetchall()}

    def _backends_sample(self) -> None:
        """The database's share of the work, independent of how busy the machine is: CPU of the
        backends since the last poll, added to the current interval. A backend that started
        since counts whole; the last poll's share of one that ended since is missed (a
        connection lives for a task: a chunk, a stage)."""
        backends = self._backends()
        self._database_ticks += sum(max(0, ticks - self._backend_ticks.get(pid, 0))
                                    for pid, ticks in backends.items())
        self._backend_ticks = backends

    def _close_interval(self, stages: set[str]) -> None:
        hertz = os.sysconf("SC_CLK_TCK")
        self._backends_sample()
        for name in stages:
            self.figures.stages.setdefault(name, StageFigures()).database_cpu += self._database_ticks / hertz
        self._database_ticks = 0
        for pid, label in self.processes.items():
            hwm, ticks = _proc_status(pid)
            used = max(0, ticks - self._ticks.get(pid, ticks)) / hertz
            self._ticks[pid] = ticks
            self.figures.peak[label] = max(self.figures.peak.get(label, 0), hwm)
            for name in stages:
                stage = self.figures.stages.setdefault(name, StageFigures())
                stage.peak[label] = max(stage.peak.get(label, 0), hwm)
                stage.cpu[label] = stage.cpu.get(label, 0.0) + used
            _peak_reset(pid)

    def run(self) -> None:
        from django.db import connection

        from churn.models import NightlyRun
        from nightly.models import NightlyStage

        try:
            self._backend_ticks = self._backends()
            interval = {"prepare"}
            finished: set[str] = set()
            while True:
                run = NightlyRun.objects.filter(run_date=self.run_date).values("pk", "status").first()
                rows = dict(NightlyStage.objects.filter(run__run_date=self.run_date).values_list("name", "status"))
                running = {name for name, status in rows.items() if status == "running"}
                ended = {name for name, status in rows.items() if status in ("done", "failed")} - finished
                over = run is not None and run["status"] in (NightlyRun.Status.DONE, NightlyRun.Status.FAILED)
                if ended or over:
                    self._close_interval(interval | ended)
                    finished |= ended
                    interval = set(running)
                else:
                    interval |= running
                    self._backends_sample()
                if over or self.done.is_set():
                    break
                time.sleep(self.INTERVAL)
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            connection.close()


def night_figures_collect(figures: NightFigures, *, sent_at: float) -> None:
    """The stages' own records (times, results) into ``figures``; end to end = from sending
    the night until the run was closed."""
    from churn.models import NightlyRun
    from nightly.models import NightlyStage

    run = NightlyRun.objects.get(run_date=figures.run_date)
    figures.run_status = run.status
    finished = run.finished_at.timestamp() if run.finished_at else time.time()
    figures.wall_seconds = finished - sent_at
    for stage in NightlyStage.objects.filter(run=run):
        entry = figures.stages.setdefault(stage.name, StageFigures())
        entry.status = stage.status
        entry.result = stage.result
        if stage.started_at and stage.finished_at:
            entry.seconds = (stage.finished_at - stage.started_at).total_seconds()


# --- running the night: a real Celery worker ------------------------------------------------------


class CeleryNight:
    """A Celery worker as deployed (prefork, ``--concurrency``) on a queue of its own."""

    def __init__(self, *, database_url: str, broker: str, results: str | None, workers: int, log: Path):
        self.queue = f"nightbench-{os.getpid()}"
        self.name = f"{self.queue}@{os.uname().nodename}"
        # CELERY_SKIP_CHECKS: the worker does not run Django's system checks at start (they import
        # every URLconf and view, nothing the night uses; startup is not timed either way).
        env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker, "CELERY_SKIP_CHECKS": "1"}
        if results:
            env["CELERY_RESULT_BACKEND"] = results
        self.log = open(log, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", f"--concurrency={workers}",
             "--loglevel=WARNING", "-Q", self.queue, "-n", self.name,
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        from config.celery import app

        deadline = time.monotonic() + 120
        while not app.control.ping(destination=[self.name], timeout=1.0):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the Celery worker did not start (see {log})")
        self.processes = {self.process.pid: "celery main"}
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        for number, pid in enumerate(sorted(int(child) for child in children), start=1):
            self.processes[pid] = f"celery child {number}"

    def night(self, *, run_date: date, figures: NightFigures) -> float:
        from nightly.tasks import nightly_run_task

        sent_at = time.time()
        nightly_run_task.apply_async(kwargs={"run_date": run_date.isoformat()}, queue=self.queue)
        return sent_at

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- running the night: spawned processes, driven from here --------------------------------------


def _process_init(url: str) -> None:
    _setup_django(url)
    import nightly.tasks  # noqa: F401  (what a Celery worker imports at start: the services, the model code)


def _ready() -> int:
    time.sleep(0.2)  # long enough that one process cannot answer for all
    return os.getpid()


def _night_prepare(run_date: date) -> tuple[int, list[tuple[int, int]]]:
    """The prepare stage and the score stage's start, as ``nightly_run_task`` does them."""
    from nightly import services

    run = services.nightly_run_begin(run_date=run_date)
    if run is None:
        raise SystemExit("no active model")
    chunks = services.nightly_scoring_begin(run_id=run.pk)
    if not chunks:
        services.nightly_scoring_advance(run_id=run.pk, dispatch=None)
    return run.pk, chunks


def _night_chunk(run_id: int, first_id: int, last_id: int) -> tuple[int, dict]:
    """One chunk, as ``score_chunk_task`` does it: score, then advance the chain."""
    from churn import services as churn_services
    from nightly import services

    timings: dict[str, float] = {}
    try:
        scored = services.nightly_chunk_run(run_id=run_id, first_id=first_id, last_id=last_id, timings=timings)
    except Exception as exc:
        churn_services.nightly_chunk_fail(run_id=run_id, first_id=first_id, last_id=last_id, error=repr(exc))
        scored = 0
    services.nightly_scoring_advance(run_id=run_id, dispatch=None)
    return scored, timings


def _night_stage(run_id: int, name: str) -> str | None:
    """One later stage, as ``nightly_stage_task`` does it; returns the stage claimed next."""
    from nightly import services

    try:
        return services.nightly_stage_execute(run_id=run_id, name=name, dispatch=None)
    except Exception as exc:
        services.nightly_stage_fail(run_id=run_id, name=name, error=repr(exc))
        return None


class ProcessesNight:
    """``workers`` spawned scoring processes and one stage process (prepare and the stages after
    scoring), each with Django and scikit-learn imported before the night starts."""

    def __init__(self, *, database_url: str, workers: int):
        # spawn, not fork: a process forked after OpenMP started (training) hangs in its first parallel region.
        context = multiprocessing.get_context("spawn")
        self.scoring = ProcessPoolExecutor(max_workers=workers, initializer=_process_init,
                                           initargs=(database_url,), mp_context=context)
        self.stages = ProcessPoolExecutor(max_workers=1, initializer=_process_init,
                                          initargs=(database_url,), mp_context=context)
        pids: set[int] = set()
        while len(pids) < workers:  # every worker has run its initializer (a slow one is waited for)
            pids |= {f.result() for f in [self.scoring.submit(_ready) for _ in range(workers)]}
        self.processes = {pid: f"scoring process {n}" for n, pid in enumerate(sorted(pids), start=1)}
        self.processes[self.stages.submit(_ready).result()] = "stage process"

    def night(self, *, run_date: date, figures: NightFigures) -> float:
        sent_at = time.time()
        run_id, chunks = self.stages.submit(_night_prepare, run_date).result()
        futures = [self.scoring.submit(_night_chunk, run_id, first, last) for first, last in chunks]
        for future in as_completed(futures):
            _, timings = future.result()
            for step, seconds in timings.items():
                figures.chunk_timings[step] = figures.chunk_timings.get(step, 0.0) + seconds
        from nightly import services

        name = services.nightly_stage_next(run_id=run_id)
        while name is not None:
            name = self.stages.submit(_night_stage, run_id, name).result()
        return sent_at

    def close(self) -> None:
        self.scoring.shutdown()
        self.stages.shutdown()


# --- the benchmark ---------------------------------------------------------------------------------


def nights_forget(*, dates: list[date]) -> None:
    """What earlier benchmark nights left: their runs (chunks, stages), their scores, and every
    case with its signals, tasks and history, so the first night opens cases again."""
    from django.db import connection

    from churn.models import ChurnScore, NightlyRun
    from retention.models import Case, CaseEvent, Signal, Task

    NightlyRun.objects.filter(run_date__gte=min(dates)).delete()
    ChurnScore.objects.filter(scored_on__gte=min(dates)).delete()
    tables = ", ".join(model._meta.db_table for model in (CaseEvent, Task, Signal, Case))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def _load(values: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in values)


def night_print(figures: NightFigures, *, copy_seconds: float, number: int) -> None:
    labels = sorted(figures.peak)
    print(f"\nnight {number} ({figures.run_date}, {figures.run_status}): {figures.wall_seconds:.1f} s end to end, "
          f"ratio to COPY {figures.wall_seconds / copy_seconds:.2f} (target <= 2.0); "
          f"load average before {_load(figures.load_before)}, after {_load(figures.load_after)}")
    print(f"  {'stage':<11} {'seconds':>8}  {'PG CPU s':>8}  ran in (CPU s)                peak RSS MiB per process ("
          + ", ".join(labels) + ")")
    accounted = 0.0
    for name in ("prepare", "score", "outcomes", "cases", "reasons", "monitoring"):
        stage = figures.stages.get(name, StageFigures())
        accounted += stage.seconds or 0.0
        busy = sorted(stage.cpu.items(), key=lambda item: -item[1])
        ran_in = ", ".join(f"{label} {cpu:.1f}" for label, cpu in busy[:2] if cpu >= 0.05) or "-"
        seconds = f"{stage.seconds:8.1f}" if stage.seconds is not None else "       -"
        print(f"  {name:<11} {seconds}  {stage.database_cpu:8.1f}  {ran_in:<29} "
              + " / ".join(_mib(stage.peak.get(label, 0)) for label in labels)
              + ("" if stage.status == "done" else f"  [{stage.status}]"))
    print(f"  {'(between)':<11} {figures.wall_seconds - accounted:8.1f}  {'':8}  queue hops, lease, polling")
    python_cpu = sum(sum(stage.cpu.values()) for stage in figures.stages.values())
    database_cpu = sum(stage.database_cpu for stage in figures.stages.values())
    print(f"  CPU seconds over the night (whatever the load): the night's processes {python_cpu:.1f}, "
          f"PostgreSQL {database_cpu:.1f}, on {os.cpu_count()} cores")
    print("  peak RSS over the night: " + ", ".join(f"{label} {_mib(figures.peak[label])} MiB" for label in labels)
          + " (target < 2048 each)")
    for name in ("score", "outcomes", "cases", "reasons", "monitoring"):
        result = dict(figures.stages.get(name, StageFigures()).result or {})
        if not result:
            continue
        seconds = result.pop("seconds", None)
        if name == "cases" and seconds:
            print("  cases steps (s): " + ", ".join(f"{step} {value:.1f}" for step, value in seconds.items()))
        print(f"  {name} result: {result}")
    if figures.chunk_timings:
        print("  scoring seconds summed over chunks: "
              + ", ".join(f"{step} {seconds:.1f}" for step, seconds in figures.chunk_timings.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--celery-broker", default=os.environ.get("BENCH_CELERY_BROKER_URL"),
                        help="run the night on a real Celery worker with this broker (else spawned processes)")
    parser.add_argument("--celery-results", default=os.environ.get("BENCH_CELERY_RESULT_BACKEND"),
                        help="the worker's result backend (default: none)")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="customers per scoring chunk (default: the CHURN_SCORE_CHUNK_SIZE setting)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (Celery concurrency)")
    parser.add_argument("--nights", type=int, default=2, help="consecutive nights from --run-date")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds to wait for a night")
    parser.add_argument("--train-sample", type=int, default=20_000, help="customers to train on")
    parser.add_argument("--skip-load", action="store_true", help="reuse the bank already in the database")
    parser.add_argument("--skip-train", action="store_true", help="reuse the active model, if there is one")
    parser.add_argument("--load-only", action="store_true", help="load the bank, then stop")
    parser.add_argument("--run-date", type=date.fromisoformat, default=date(2026, 1, 5),
                        help="the first night; the data ends with the month before this date's month")
    args = parser.parse_args()

    if args.chunk_size:
        os.environ["CHURN_SCORE_CHUNK_SIZE"] = str(args.chunk_size)  # the workers' setting too
    _ensure_database(args.database_url)
    _setup_django(args.database_url, broker=args.celery_broker, results=args.celery_results)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from churn import selectors, services

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
        cursor.execute("SELECT count(*) FROM customers_customer")
        customers = cursor.fetchone()[0]

    version = selectors.model_version_active() if args.skip_train else None
    if version is None:
        print(f"load average before training: {_load(os.getloadavg())}", flush=True)
        started = time.monotonic()
        version = services.model_version_train(force=True, sample_customers=args.train_sample)
        print(f"trained model #{version.pk} on {args.train_sample:,} customers in {time.monotonic() - started:.0f}s "
              f"(evaluation ROC AUC {version.metrics['roc_auc']}, PR AUC {version.metrics['pr_auc']})")
    else:
        print(f"reusing model #{version.pk}")

    dates = [args.run_date + timedelta(days=n) for n in range(args.nights)]
    nights_forget(dates=dates)
    connection.close()

    # --- the processes start (not timed: workers are up long before 02:00) -----------------------
    started = time.monotonic()
    if args.celery_broker:
        executor: CeleryNight | ProcessesNight = CeleryNight(
            database_url=args.database_url, broker=args.celery_broker, results=args.celery_results,
            workers=args.workers, log=ROOT / "var" / "bench-nightly-worker.log")
        how = f"a Celery worker (prefork, concurrency {args.workers}, broker {args.celery_broker})"
    else:
        executor = ProcessesNight(database_url=args.database_url, workers=args.workers)
        how = f"{args.workers} spawned scoring processes and a stage process"
    print(f"{how} started in {time.monotonic() - started:.1f}s (not timed): "
          + ", ".join(f"{label} {pid}" for pid, label in executor.processes.items()), flush=True)

    nights: list[NightFigures] = []
    try:
        for run_date in dates:
            figures = NightFigures(run_date=run_date, load_before=os.getloadavg())
            watch = NightWatch(run_date=run_date, processes=executor.processes, figures=figures)
            watch.start()
            sent_at = executor.night(run_date=run_date, figures=figures)
            watch.join(timeout=max(1.0, sent_at + args.timeout - time.time()))
            if watch.is_alive():
                watch.done.set()
                watch.join()
                print(f"night of {run_date} not done after {args.timeout:.0f} s: stopped waiting", flush=True)
            if watch.error is not None:
                raise watch.error
            figures.load_after = os.getloadavg()
            night_figures_collect(figures, sent_at=sent_at)
            nights.append(figures)
            print(f"night of {run_date}: {figures.run_status} in {figures.wall_seconds:.1f} s", flush=True)
    finally:
        executor.close()

    # --- the yardstick: just reading the monthly balances out ------------------------------------
    load_before_copy = os.getloadavg()
    started = time.monotonic()
    with connection.cursor() as cursor, open(os.devnull, "wb") as sink:
        cursor.copy_expert("COPY (SELECT * FROM customers_monthlybalance) TO STDOUT", sink)
    copy_seconds = time.monotonic() - started

    print(f"\n{customers:,} customers, {monthly_rows:,} monthly rows; chunks of {settings.CHURN_SCORE_CHUNK_SIZE:,}; "
          f"the night ran on {how}")
    print(f"COPY monthly balances out: {copy_seconds:.1f} s (load average before {_load(load_before_copy)})")
    for number, figures in enumerate(nights, start=1):
        night_print(figures, copy_seconds=copy_seconds, number=number)
    print(f"\nthis process (training, watching): peak RSS {_mib(_peak_rss())} MiB; "
          f"load average (1, 5, 15 min) now {_load(os.getloadavg())}")


if __name__ == "__main__":
    main()
