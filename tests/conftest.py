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


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    missing = _real_services_missing()
    if missing:
        if os.environ.get("REQUIRE_REAL_SERVICES") == "1":
            pytest.fail(f"real Celery worker test {missing}")
        pytest.skip(missing)

    from config.celery import app

    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env.setdefault("DEBUG", "1")
    # A queue of its own, so a worker left over from a developer's shell cannot steal the tasks.
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING",
         "-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT,
        env=env,
    )
    app.conf.task_always_eager = False
    previous_default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"Celery worker exited with status {proc.returncode}")
            replies = app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1.0)
            if replies:
                break
        else:
            pytest.fail("Celery worker did not answer within 60 s")
        yield queue
    finally:
        app.conf.task_default_queue = previous_default_queue
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# Generated-input tests count their requests; the counts are printed at the end of the run.
CASE_COUNTING_MODULES = ["tests.api.test_schemathesis", "tests.pages.test_query_parameters"]


def pytest_terminal_summary(terminalreporter):
    for name in CASE_COUNTING_MODULES:
        module = sys.modules.get(name)
        summary = module.case_count_summary() if module else ""
        for line in summary.splitlines():
            terminalreporter.write_line(line)
