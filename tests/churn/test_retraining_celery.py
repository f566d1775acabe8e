"""Retraining through a real Celery worker on Redis and PostgreSQL (skipped without them).

The nightly chain's worker tests are in tests/nightly/."""

from __future__ import annotations

import time

import pytest

from tests.churn.helpers import load_bank, small_bank

pytestmark = pytest.mark.celery_worker


def test_retraining_through_a_real_worker(celery_worker_process, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    load_bank(small_bank(customers=250))
    from churn.models import TrainingRun
    from churn.tasks import training_run_start

    run = training_run_start(user=None)  # autocommit: the task is sent at once, through Redis
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status != TrainingRun.Status.RUNNING:
            break
        time.sleep(0.5)
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.percent == 100 and run.model_version is not None and run.model_version.is_active
