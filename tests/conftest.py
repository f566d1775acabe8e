"""Shared fixtures.

``celery_worker_process`` starts a real Celery worker in a subprocess against
the configured Redis broker and the test database, so tasks go through the
broker exactly as in production. It needs PostgreSQL (a SQLite test database
lives in this process's memory, invisible to a worker) and CELERY_BROKER_URL.
When those are missing the test is skipped, except under REQUIRE_REAL_SERVICES=1
(set by CI), where a missing service is an error rather than a silent skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _translations_compiled():
    """*.mo files are build products, not committed: compile them once per run,
    so that tests of the Chinese pages see what users see."""
    from django.core.management import call_command

    call_command("compile_translations", verbosity=0)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """API throttling counts in the shared cache (CACHE_URL); database ids repeat from test
    to test, so counts left over would leak into the next test. Redis is emptied around
    each test. The database cache (no CACHE_URL) needs nothing: its rows are written in the
    test's transaction and rolled back with it, and a test without database access never
    reaches it (clearing it here would need database access in every test)."""
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache

    cache = caches["default"]
    if isinstance(cache, DatabaseCache):
        yield
        return
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _eager_tasks_inline(settings):
    """Without a broker, pages start long tasks on a background thread (config.celery.enqueue);
    tests run them inline, inside the test's transaction, unless a test asks for the thread."""
    settings.CELERY_EAGER_BACKGROUND = False


def _real_services_missing() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "needs PostgreSQL (set DATABASE_URL)"
    if not os.environ.get("CELERY_BROKER_URL"):
        return "needs a broker (set CELERY_BROKER_URL)"
    return None


class CeleryWorkers:
    """Start real Celery workers (subprocesses) on one queue of this test's own, and kill them.

    ``start(env=...)`` adds environment variables for the worker (its settings: chunk
    size, retry delay). A worker started after another was killed listens on the same
    queue, as a restarted worker would, and finds the messages the dead one left.
    """

    def __init__(self, *, database_url: str):
        self.database_url = database_url
        # A queue of its own, so a worker left over from a developer's shell cannot steal the tasks.
        self.queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
        self.processes: list[subprocess.Popen] = []

    def start(self, *, env: dict[str, str] | None = None) -> subprocess.Popen:
        from config.celery import app

        full_env = {**os.environ, "DATABASE_URL": self.database_url, **(env or {})}
        full_env.setdefault("DEBUG", "1")
        name = f"{self.queue}-{len(self.processes)}@{os.uname().nodename}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING",
             "-Q", self.queue, "-n", name, "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=full_env,
        )
        self.processes.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"Celery worker exited with status {proc.returncode}")
            if app.control.ping(destination=[name], timeout=1.0):
                return proc
        pytest.fail("Celery worker did not answer within 60 s")

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL: no clean-up, no acknowledgement, as the kernel's OOM killer would."""
        proc.kill()
        proc.wait(timeout=20)

    def stop_all(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=20)


@pytest.fixture
def celery_workers(transactional_db, settings):
    """Real Celery workers against the test database (PostgreSQL) and the configured Redis broker;
    tasks sent from this process go to their queue."""
    missing = _real_services_missing()
    if missing:
        if os.environ.get("REQUIRE_REAL_SERVICES") == "1":
            pytest.fail(f"real Celery worker test {missing}")
        pytest.skip(missing)

    from config.celery import app

    db = settings.DATABASES["default"]
    workers = CeleryWorkers(
        database_url=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    app.conf.task_always_eager = False
    previous_default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = workers.queue
    try:
        yield workers
    finally:
        app.conf.task_default_queue = previous_default_queue
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
        workers.stop_all()


@pytest.fixture
def celery_worker_process(celery_workers):
    """One real Celery worker, started; yields its queue."""
    celery_workers.start()
    return celery_workers.queue


# Generated-input tests count their requests; the counts are printed at the end of the run.
CASE_COUNTING_MODULES = ["tests.api.test_schemathesis", "tests.pages.test_query_parameters"]


def pytest_terminal_summary(terminalreporter):
    for name in CASE_COUNTING_MODULES:
        module = sys.modules.get(name)
        summary = module.case_count_summary() if module else ""
        for line in summary.splitlines():
            terminalreporter.write_line(line)
