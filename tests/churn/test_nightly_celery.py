"""The nightly job through a real Celery worker on Redis and PostgreSQL (skipped without them)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from churn import services
from churn.models import ChurnScore, NightlyRun
from tests.churn.helpers import load_bank, small_bank

pytestmark = pytest.mark.celery_worker


def test_nightly_run_through_a_real_worker(celery_worker_process, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the model file path is stored absolute, so the worker finds it
    settings.CHURN_SCORE_CHUNK_SIZE = 100
    load_bank(small_bank(customers=250))
    services.model_version_train(force=True)
    run_date = date(2026, 1, 5)
    from churn.tasks import nightly_run_task

    # Chunks are cut here (the worker does not see this test's settings); the worker's
    # nightly task picks the prepared run up, fans the chunks out and the last one closes it.
    services.nightly_run_prepare(run_date=run_date)
    nightly_run_task.delay(run_date.isoformat())
    deadline = time.monotonic() + 180
    run = None
    while time.monotonic() < deadline:
        run = NightlyRun.objects.filter(run_date=run_date).first()
        if run and run.status != NightlyRun.Status.RUNNING:
            break
        time.sleep(0.5)
    assert run is not None and run.status == NightlyRun.Status.DONE, run and run.errors
    assert run.chunks_total >= 2 and run.chunks_done == run.chunks_total
    assert ChurnScore.objects.filter(scored_on=run_date).count() == run.customers_scored > 0


def test_retraining_through_a_real_worker(celery_worker_process, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    load_bank(small_bank(customers=250))
    from churn.models import TrainingRun
    from churn.retraining import training_run_start

    run = training_run_start(user=None)  # autocommit: the task is sent at once, through Redis
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status != TrainingRun.Status.RUNNING:
            break
        time.sleep(0.5)
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.percent == 100 and run.model_version is not None and run.model_version.is_active
