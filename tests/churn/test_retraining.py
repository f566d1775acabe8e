"""Retraining started by an analyst: the run row reports each stage, links the version it
produced, refuses a second retraining while one runs, and records a failure instead of hiding it."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.utils import timezone

from churn.models import ModelVersion, TrainingRun
from churn.progress import TrainingStep
from churn.retraining import TrainingBusy, _Reporter, training_run_execute, training_step_label
from churn.tasks import training_run_start
from config.celery import enqueue
from tests.churn.helpers import load_bank, small_bank


@pytest.fixture
def eager():
    """Run the task in this process even where a broker is configured (the real worker has its own test)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.mark.django_db
def test_a_retraining_trains_a_version_and_links_it(model_dir, eager, django_capture_on_commit_callbacks):
    load_bank(small_bank(customers=300))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = training_run_start(user=None)
    assert len(callbacks) == 1  # the task is queued only once the run row is committed
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.stage == TrainingRun.Stage.FINISHED and run.percent == 100
    version = ModelVersion.objects.get()
    assert run.model_version == version and version.is_active  # the first model is always activated
    assert run.finished_at is not None and run.error == ""


@pytest.mark.django_db
def test_the_reported_stages_move_forward_only():
    run = TrainingRun.objects.create()
    reporter = _Reporter(run.pk)
    seen = []

    def record():
        run.refresh_from_db()
        seen.append((run.stage, run.percent))

    reporter(TrainingStep.READING, 0, 1)
    record()
    for month in range(6):
        reporter(TrainingStep.FEATURES, month, 6)
        record()
    for trees in (25, 50, 200):
        reporter(TrainingStep.FITTING, trees, 200)
        record()
    for done in range(3):
        reporter(TrainingStep.EVALUATING, done, 3)
        record()
    reporter(TrainingStep.SAVING, 0, 1)
    record()
    stages = [stage for stage, _ in seen]
    percents = [percent for _, percent in seen]
    assert stages[0] == "reading" and stages[-1] == "saving"
    assert percents == sorted(percents) and percents[-1] < 100  # 100 only when the version is stored
    order = [s.value for s in TrainingRun.Stage]
    assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)


@pytest.mark.django_db
def test_a_second_retraining_waits_for_the_first_unless_the_first_is_lost():
    running = TrainingRun.objects.create()
    with pytest.raises(TrainingBusy) as busy:
        training_run_start(user=None)
    assert busy.value.run == running
    # A run silent for more than three hours died with its worker: it is marked failed, not left blocking.
    TrainingRun.objects.filter(pk=running.pk).update(started_at=timezone.now() - dt.timedelta(hours=4))
    fresh = training_run_start(user=None)
    running.refresh_from_db()
    assert running.status == TrainingRun.Status.FAILED and "presumed lost" in running.error
    assert fresh.status == TrainingRun.Status.RUNNING


@pytest.mark.django_db
def test_a_failed_retraining_says_why(model_dir):
    run = TrainingRun.objects.create()
    result = training_run_execute(training_run_id=run.pk)  # an empty bank: nothing to train on
    assert result.status == TrainingRun.Status.FAILED
    assert result.error == "无法训练：尚无客户或月度余额。请先导入本行数据文件。"  # one sentence, the site's language
    assert result.model_version is None and not ModelVersion.objects.exists()
    # Delivered again (acks_late), a closed run is not trained a second time.
    assert training_run_execute(training_run_id=run.pk).status == TrainingRun.Status.FAILED
    # A run deleted while its task waited: the task ends quietly.
    run.delete()
    assert training_run_execute(training_run_id=run.pk) is None


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_task_runs_on_a_background_thread(model_dir, eager, settings):
    if connection.vendor == "sqlite":
        pytest.skip("a second connection cannot see SQLite's in-memory test database")
    settings.CELERY_EAGER_BACKGROUND = True
    from churn.tasks import train_model_task

    load_bank(small_bank(customers=200))
    run = TrainingRun.objects.create()
    started = time.monotonic()
    thread = enqueue(train_model_task, training_run_id=run.pk)
    assert thread is not None, "eager mode without a broker must hand the task to a thread"
    assert time.monotonic() - started < 1.0  # the caller does not wait for the training
    thread.join(timeout=300)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.model_version is not None


def test_a_training_step_is_worded_for_people_from_its_numbers_not_from_a_message():
    assert training_step_label(TrainingStep.FITTING, 50, 200).endswith(": 50/200")
    assert training_step_label(TrainingStep.FEATURES, 3, 12).endswith(": 3/12")
    assert training_step_label(TrainingStep.READING, 0, 1) == str(TrainingRun.Stage.READING.label)
    assert training_step_label(TrainingStep.EVALUATING, 1, 3) == ""  # said once, when the stage starts
