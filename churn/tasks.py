"""Celery tasks of the churn engine: thin, take ids, call one service.

The nightly run's tasks (scoring chunks among them) are the ``nightly`` app's:
that chain is what hands scores on to alert raising, which this app knows nothing of.
"""

from __future__ import annotations

from celery import shared_task

from churn.retraining import training_run_execute


@shared_task(bind=True, acks_late=True, soft_time_limit=2 * 3600, time_limit=2 * 3600 + 300)
def train_model_task(self, training_run_id: int) -> int | None:
    """Retrain the churn model for a ``TrainingRun`` an analyst started; returns the new version's id."""
    run = training_run_execute(training_run_id=training_run_id)
    return run.model_version_id if run else None
