"""The nightly chain through a real Celery worker on Redis and PostgreSQL (skipped without them)."""

from __future__ import annotations

from datetime import date

import pytest

from churn import services as churn_services
from churn.models import ChurnScore, NightlyRun
from nightly.models import STAGE_ORDER, NightlyStage, StageStatus
from nightly.tasks import nightly_run_task
from tests.churn.helpers import load_bank, small_bank
from tests.nightly.helpers import playbooks_ensure, wait_for

pytestmark = pytest.mark.celery_worker


def test_the_night_runs_its_stages_through_a_real_worker(celery_workers, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the model file path is stored absolute, so the worker finds it
    playbooks_ensure()
    load_bank(small_bank(customers=250))
    churn_services.model_version_train(force=True)
    run_date = date(2026, 1, 5)
    celery_workers.start(env={"CHURN_SCORE_CHUNK_SIZE": "100"})

    nightly_run_task.delay(run_date.isoformat())
    wait_for(lambda: NightlyRun.objects.filter(run_date=run_date).exclude(status="running").exists(),
             timeout=180, interval=0.5, what="the run to finish")
    run = NightlyRun.objects.get(run_date=run_date)
    assert run.status == NightlyRun.Status.DONE, run.errors
    assert run.chunks_total >= 2 and run.chunks_done == run.chunks_total
    assert ChurnScore.objects.filter(scored_on=run_date).count() == run.customers_scored > 0
    stages = list(NightlyStage.objects.filter(run=run).order_by("pk"))
    assert [stage.name for stage in stages] == list(STAGE_ORDER)
    assert all(stage.status == StageStatus.DONE and stage.started_at <= stage.finished_at for stage in stages)
    cases = {stage.name: stage for stage in stages}["cases"]
    assert cases.result["opened"] > 0 and cases.result["no_playbook"] == 0
