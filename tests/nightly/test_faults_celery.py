"""Faults in the nightly chain against real Celery workers, Redis and PostgreSQL (skipped without them).

Each test runs the night once cleanly in this process (the reference), forgets it,
runs it through a worker with a fault, then reruns the date, and compares row
counts and checksums of the scores, cases, signals, tasks and events with the reference.
No component is mocked: the worker is killed with SIGKILL, the cases stage fails
because the database refuses a write (a trigger the test installs), the worker's
database connection is cut with ``pg_terminate_backend``.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from churn import services as churn_services
from churn.models import NightlyChunk, NightlyRun
from nightly import services as nightly_services
from nightly.models import STAGE_ORDER, NightlyStage, StageStatus
from nightly.tasks import nightly_run_task
from retention.models import Case, Task
from tests.churn.helpers import load_bank, small_bank
from tests.nightly.helpers import night_forget, night_snapshot, playbooks_ensure, wait_for

pytestmark = pytest.mark.celery_worker

RUN_DATE = date(2026, 1, 5)
CHUNK_SIZE = 60
# The worker's settings: the same chunks and risk bands as this process's, and quick retries.
WORKER_ENV = {"CHURN_SCORE_CHUNK_SIZE": str(CHUNK_SIZE), "CHURN_RISK_MEDIUM": "0.05", "CHURN_RISK_HIGH": "0.3",
              "NIGHTLY_RETRY_DELAY_SECONDS": "0.2"}


@pytest.fixture
def night(celery_workers, settings, tmp_path):
    """A bank with a trained model and the reference: the clean night's snapshot, then forgotten."""
    settings.VAR_DIR = tmp_path  # the model file path is stored absolute, so the workers find it
    settings.CHURN_SCORE_CHUNK_SIZE = CHUNK_SIZE
    settings.CHURN_RISK_BANDS = {"medium": 0.05, "high": 0.3}
    playbooks_ensure()
    load_bank(small_bank(customers=420))
    churn_services.model_version_train(force=True)
    run = nightly_services.nightly_run(run_date=RUN_DATE)
    assert run.status == NightlyRun.Status.DONE
    reference = night_snapshot(run_date=RUN_DATE)
    assert reference["scores"] > 300 and reference["cases"] > 0 and reference["tasks"] > 0
    night_forget(run_date=RUN_DATE)
    return reference


def _run_status() -> str | None:
    return NightlyRun.objects.filter(run_date=RUN_DATE).values_list("status", flat=True).first()


def _finished() -> str | None:
    status = _run_status()
    return status if status in (NightlyRun.Status.DONE, NightlyRun.Status.FAILED) else None


def _chunk_in_progress() -> bool:
    """A chunk has started (its attempt is counted) and is not done: the worker is inside it."""
    return NightlyChunk.objects.filter(run__run_date=RUN_DATE, status=NightlyChunk.Status.PENDING,
                                       attempts__gte=1).exists()


def _rerun_to_done() -> NightlyRun:
    # The task returns once it has reopened the run (or found it done) and sent what follows.
    nightly_run_task.delay(RUN_DATE.isoformat()).get(timeout=60)
    assert wait_for(_finished, what="the rerun to finish") == NightlyRun.Status.DONE, \
        NightlyRun.objects.get(run_date=RUN_DATE).errors
    return NightlyRun.objects.get(run_date=RUN_DATE)


def test_a_worker_killed_in_the_middle_of_a_chunk_then_a_rerun_gives_the_clean_nights_rows(night, celery_workers):
    worker = celery_workers.start(env=WORKER_ENV)
    nightly_run_task.delay(RUN_DATE.isoformat())
    # Let a chunk or two finish first, so the kill lands in a run that has written scores.
    wait_for(lambda: NightlyChunk.objects.filter(run__run_date=RUN_DATE, status="done").count() >= 2
             and _chunk_in_progress(), what="a chunk in progress after two done")
    celery_workers.kill(worker)
    run = NightlyRun.objects.get(run_date=RUN_DATE)
    assert run.status == NightlyRun.Status.RUNNING
    assert run.chunks.filter(status=NightlyChunk.Status.PENDING).exists()
    assert not Case.objects.exists()

    celery_workers.start(env=WORKER_ENV)  # a restarted worker on the same queue
    run = _rerun_to_done()
    statuses = list(NightlyStage.objects.filter(run=run).values_list("status", flat=True))
    assert statuses == [StageStatus.DONE] * len(STAGE_ORDER)
    assert night_snapshot(run_date=RUN_DATE) == night


def test_case_raising_refused_by_the_database_fails_the_run_visibly_and_a_rerun_completes_it(night, celery_workers):
    # The database refuses the Nth task of the night: the cases stage fails half-way
    # through, after it has inserted cases, signals and tasks in its transaction.
    refuse_after = max(night["tasks"] // 2, 1)
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE test_step_refusals")
        cursor.execute(
            "CREATE FUNCTION test_refuse_step() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF nextval('test_step_refusals') > {refuse_after} THEN "
            "RAISE EXCEPTION 'test fault: step insert refused'; END IF; RETURN NEW; END $$"
        )
        cursor.execute("CREATE TRIGGER test_refuse_step BEFORE INSERT ON retention_task "
                       "FOR EACH ROW EXECUTE FUNCTION test_refuse_step()")
    try:
        celery_workers.start(env=WORKER_ENV)
        nightly_run_task.delay(RUN_DATE.isoformat())
        assert wait_for(_finished, what="the run to fail") == NightlyRun.Status.FAILED
        run = NightlyRun.objects.get(run_date=RUN_DATE)
        stages = {stage.name: stage for stage in NightlyStage.objects.filter(run=run)}
        assert stages["score"].status == StageStatus.DONE
        assert stages["cases"].status == StageStatus.FAILED and "step insert refused" in stages["cases"].error
        assert stages["reasons"].status == StageStatus.PENDING
        assert [error["stage"] for error in run.errors if "stage" in error] == ["cases"]
        # All or nothing: the cases and tasks inserted before the refusal were rolled back.
        assert not Case.objects.exists() and not Task.objects.exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS test_refuse_step ON retention_task")
            cursor.execute("DROP FUNCTION IF EXISTS test_refuse_step()")
            cursor.execute("DROP SEQUENCE IF EXISTS test_step_refusals")

    run = _rerun_to_done()
    assert run.errors == []
    assert night_snapshot(run_date=RUN_DATE) == night


def test_the_database_connection_cut_during_a_chunk_is_retried_and_a_rerun_changes_nothing(night, celery_workers):
    celery_workers.start(env=WORKER_ENV)
    nightly_run_task.delay(RUN_DATE.isoformat())
    wait_for(_chunk_in_progress, what="a chunk in progress")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert cursor.fetchone()[0] >= 1  # the worker's connection
    assert wait_for(_finished, what="the run to finish") == NightlyRun.Status.DONE, \
        NightlyRun.objects.get(run_date=RUN_DATE).errors
    run = NightlyRun.objects.get(run_date=RUN_DATE)
    assert run.chunks.filter(attempts__gte=2).exists()  # the chunk hit was retried, not lost
    assert night_snapshot(run_date=RUN_DATE) == night

    _rerun_to_done()
    assert night_snapshot(run_date=RUN_DATE) == night
