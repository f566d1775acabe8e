"""Celery tasks of the churn engine: thin, take ids, call one service.

The tasks module is the layer above the services: it records work and queues it
(``training_run_start``), so that no service has to import the tasks that call it.

The nightly run's tasks (scoring chunks among them) are the ``nightly`` app's:
that chain is what hands scores on to alert raising, which this app knows nothing of.
"""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from audit.services import AuditOrigin
from churn.models import TrainingRun
from churn.retraining import training_run_create, training_run_execute
from config.celery import enqueue


@shared_task(bind=True, acks_late=True, soft_time_limit=2 * 3600, time_limit=2 * 3600 + 300)
def train_model_task(self, training_run_id: int) -> int | None:
    """Retrain the churn model for a ``TrainingRun`` an analyst started; returns the new version's id."""
    run = training_run_execute(training_run_id=training_run_id)
    return run.model_version_id if run else None


def training_run_start(*, user, force: bool = False, origin: AuditOrigin | None = None) -> TrainingRun:
    """Record a retraining and queue its task once the record is committed. Raises
    ``churn.retraining.TrainingBusy`` while another one runs."""
    run = training_run_create(user=user, force=force, origin=origin)
    transaction.on_commit(lambda: enqueue(train_model_task, training_run_id=run.pk))
    return run
