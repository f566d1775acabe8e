"""Celery tasks of the churn engine: thin, take ids or a date, call one service."""

from __future__ import annotations

import datetime as dt

from celery import Task, shared_task
from django.db import DatabaseError
from django.utils import timezone

from churn import services


class _ChunkTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Called once retries are exhausted (or for an error not retried): the chunk is
        recorded as failed in its run, never silently skipped."""
        run_id, first_id, last_id = (list(args) + [None, None, None])[:3]
        run_id = kwargs.get("run_id", run_id)
        first_id = kwargs.get("first_id", first_id)
        last_id = kwargs.get("last_id", last_id)
        if run_id is not None:
            services.nightly_chunk_fail(run_id=run_id, first_id=first_id, last_id=last_id, error=repr(exc))


@shared_task(
    bind=True,
    base=_ChunkTask,
    acks_late=True,
    reject_on_worker_lost=True,
    # Transient trouble (database restart, network) is retried with exponential backoff;
    # a bug in the data or code fails at once and is reported in the run.
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=15 * 60,
    time_limit=20 * 60,
)
def score_chunk_task(self, run_id: int, first_id: int, last_id: int) -> int:
    """Score one id range of a nightly run. Safe to run twice (upserts; a done chunk is skipped)."""
    return services.nightly_chunk_score(run_id=run_id, first_id=first_id, last_id=last_id)


@shared_task(bind=True, acks_late=True, soft_time_limit=10 * 60, time_limit=15 * 60)
def nightly_run_task(self, run_date: str | None = None) -> int | None:
    """Beat entry point: prepare tonight's run and fan the chunks out to the workers
    listening on the queue this task came from."""
    day = dt.date.fromisoformat(run_date) if run_date else timezone.localdate()
    queue = None if self.request.is_eager else (self.request.delivery_info or {}).get("routing_key")
    run = services.nightly_run_dispatch(run_date=day, queue=queue)
    return run.pk if run else None


@shared_task(bind=True, acks_late=True, soft_time_limit=2 * 3600, time_limit=2 * 3600 + 300)
def train_model_task(self, training_run_id: int) -> int | None:
    """Retrain the churn model for a ``TrainingRun`` an analyst started; returns the new version's id."""
    from churn.retraining import training_run_execute

    run = training_run_execute(training_run_id=training_run_id)
    return run.model_version_id if run else None
