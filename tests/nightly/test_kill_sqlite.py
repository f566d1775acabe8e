"""``run_nightly`` killed with SIGKILL at several moments on SQLite, then run again: the rows
of an uninterrupted night, nothing doubled, nothing lost.

Every step runs as a subprocess against a database file of its own (the test
database of this process lives in its memory, where no other process can see it):
migrate, load a small synthetic bank and train a model once, copy that file, run
the night uninterrupted on one copy (the reference) and, on another, kill it while
scoring, while opening cases, while explaining and while monitoring, rerunning after each kill.
Where the night is at is read from the database file, as an operator would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_DATE = "2026-01-05"

_SETUP = """
import django
django.setup()
from churn import services
from tests.churn.helpers import load_bank, small_bank
load_bank(small_bank(customers=500))
services.model_version_train(force=True)
"""

_SNAPSHOT = f"""
import datetime as dt, json
import django
django.setup()
from tests.nightly.helpers import monitoring_snapshot, night_snapshot
day = dt.date.fromisoformat({RUN_DATE!r})
print(json.dumps({{**night_snapshot(run_date=day), "monitoring": monitoring_snapshot(run_date=day)}}))
"""


def _env(database: Path, var: Path) -> dict[str, str]:
    return {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{database}", "VAR_DIR": str(var),
            "CHURN_SCORE_CHUNK_SIZE": "60", "CHURN_RISK_MEDIUM": "0.05", "CHURN_RISK_HIGH": "0.3",
            "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "ERROR", "CELERY_BROKER_URL": ""}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _snapshot(env: dict[str, str]) -> dict:
    return json.loads(_run(["-c", _SNAPSHOT], env).stdout.strip().splitlines()[-1])


def _stage_status(database: Path) -> dict[str, str]:
    """The night's stages as the database file has them now (what has been committed)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute(
                "SELECT s.name, s.status FROM nightly_nightlystage s JOIN churn_nightlyrun r ON r.id = s.run_id "
                "WHERE r.run_date = ?", [RUN_DATE]).fetchall()
            chunks_done = db.execute(
                "SELECT count(*) FROM churn_nightlychunk c JOIN churn_nightlyrun r ON r.id = c.run_id "
                "WHERE r.run_date = ? AND c.status = 'done'", [RUN_DATE]).fetchone()[0]
            alerts = db.execute("SELECT count(*) FROM retention_case").fetchone()[0]
    except sqlite3.OperationalError:
        return {}  # locked for a moment by the writer's commit, or tables not there yet
    return {**dict(rows), "chunks_done": chunks_done, "cases_rows": alerts}


def _kill_when(database: Path, env: dict[str, str], moment, what: str) -> dict:
    """Start ``run_nightly``, SIGKILL it as soon as ``moment(stages)`` holds; returns the stages seen then."""
    proc = subprocess.Popen([sys.executable, "manage.py", "run_nightly", "--date", RUN_DATE], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            stages = _stage_status(database)
            if moment(stages):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)
                return stages
            if proc.poll() is not None:
                pytest.fail(f"run_nightly finished (status {proc.returncode}) before {what}: {stages}")
            time.sleep(0.005)
        pytest.fail(f"never reached {what}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=20)


def test_run_nightly_killed_in_every_stage_after_prepare_then_rerun_gives_the_same_rows(tmp_path):
    base = tmp_path / "bank.sqlite3"
    env = _env(base, tmp_path / "var")
    _run(["manage.py", "migrate", "--no-input", "-v", "0"], env)
    _run(["-c", _SETUP], env)

    reference_db = tmp_path / "reference.sqlite3"
    shutil.copy(base, reference_db)
    reference_env = _env(reference_db, tmp_path / "var")
    _run(["manage.py", "run_nightly", "--date", RUN_DATE], reference_env)
    reference = _snapshot(reference_env)
    assert reference["scores"] > 350 and reference["cases"] > 0 and reference["tasks"] > 0
    assert reference["monitoring"]["drift"] == 1  # the monitoring stage ran, and is compared below too

    killed_db = tmp_path / "killed.sqlite3"
    shutil.copy(base, killed_db)
    killed_env = _env(killed_db, tmp_path / "var")
    seen = _kill_when(killed_db, killed_env, lambda s: s.get("chunks_done", 0) >= 2 and s.get("score") == "running",
                      "scoring, two chunks done")
    assert seen["score"] == "running"
    seen = _kill_when(killed_db, killed_env, lambda s: s.get("cases") == "running", "the cases stage")
    assert seen["score"] == "done"
    after = _stage_status(killed_db)
    # All or nothing: cases exist only if the stage committed as done before the kill.
    assert (after["cases_rows"] > 0) == (after["cases"] == "done"), after
    seen = _kill_when(killed_db, killed_env, lambda s: s.get("reasons") == "running", "the reasons stage")
    assert seen["cases"] == "done"
    seen = _kill_when(killed_db, killed_env, lambda s: s.get("monitoring") == "running", "the monitoring stage")
    assert seen["reasons"] == "done"

    done = _run(["manage.py", "run_nightly", "--date", RUN_DATE], killed_env)
    assert f"{RUN_DATE}: done" in done.stdout
    assert _snapshot(killed_env) == reference
