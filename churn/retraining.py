"""Retraining on demand: an analyst starts it from the model page, a Celery task runs
``services.model_version_train`` and reports its stage into a ``TrainingRun`` row,
which the page polls. One retraining at a time."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from audit.models import AuditAction
from audit.services import AuditOrigin, audit_record
from churn import services
from churn.models import TrainingRun
from churn.progress import TrainingStep
from churn.reasons import refusal_sentence
from churn.training import TrainingRefused

logger = logging.getLogger(__name__)

# A retraining still "running" after this long died with its worker; it no longer blocks a new one.
STALE_AFTER = timedelta(hours=3)

Stage = TrainingRun.Stage

# Where each stage of ``model_version_train`` starts and ends on the progress bar (percent).
_SPANS: dict[str, tuple[int, int]] = {
    Stage.READING: (2, 10),
    Stage.FEATURES: (10, 45),
    Stage.FITTING: (45, 80),
    Stage.EVALUATING: (80, 94),
    Stage.SAVING: (94, 99),
}
class TrainingBusy(Exception):
    """Another retraining is running."""

    def __init__(self, run: TrainingRun):
        super().__init__(f"training run #{run.pk} is still running")
        self.run = run


def training_run_create(*, user, force: bool = False, origin: AuditOrigin | None = None) -> TrainingRun:
    """Record a retraining (``churn.tasks.training_run_start`` queues its task) and, when a
    person asked for it (``origin``: who, from where), the audit event. Raises ``TrainingBusy``."""
    stale = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING,
                                       started_at__lt=timezone.now() - STALE_AFTER)
    stale.update(status=TrainingRun.Status.FAILED, finished_at=timezone.now(),
                 error=f"no news from the worker for {STALE_AFTER}; presumed lost")
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(requested_by=user, force=force)
    except IntegrityError:
        running = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).first()
        if running is None:  # finished in between: try once more
            run = TrainingRun.objects.create(requested_by=user, force=force)
        else:
            raise TrainingBusy(running) from None
    if origin is not None:
        audit_record(action=AuditAction.CHANGE, origin=origin,
                     detail={"action": "training_run_start", "training_run": run.pk, "force": force})
    return run


def training_step_label(step: TrainingStep, done: int, total: int) -> str:
    """A step ``model_version_train`` reports, as a line for people (``setup_demo``), in the
    active language: the stage's name when it starts, with the month-ends built and the trees
    grown while building features and fitting; else ""."""
    label = str(Stage(step.value).label)
    if step in (TrainingStep.FEATURES, TrainingStep.FITTING):
        return f"{label}: {done}/{total}"
    return label if done == 0 else ""


class _Reporter:
    """Turns the steps ``model_version_train`` reports into stage and percent on the run row."""

    def __init__(self, run_id: int):
        self.run_id = run_id

    def __call__(self, step: TrainingStep, done: int, total: int) -> None:
        low, high = _SPANS[step.value]
        percent = low + (high - low) * done / max(total, 1)
        detail = f"{done}/{total}" if step in (TrainingStep.FEATURES, TrainingStep.FITTING) else ""
        TrainingRun.objects.filter(pk=self.run_id, status=TrainingRun.Status.RUNNING).update(
            stage=step.value, percent=max(0, min(99, int(percent))), detail=detail)


def training_run_execute(*, training_run_id: int) -> TrainingRun | None:
    """The work of the Celery task: train, link the new version, close the run (done or failed).
    None when the run is gone (deleted in the admin while queued): nothing to do."""
    run = TrainingRun.objects.filter(pk=training_run_id).first()
    if run is None:
        logger.info("training run #%s no longer exists: nothing to train", training_run_id)
        return None
    if run.status != TrainingRun.Status.RUNNING:
        return run  # delivered twice, or marked lost: never train twice for one request
    reporter = _Reporter(run.pk)
    try:
        version = services.model_version_train(force=run.force, progress=reporter)
    except TrainingRefused as exc:
        # Not a failure of the code: the data cannot be trained on yet. One sentence, in the
        # site's language (the row outlives the request), no traceback in the log.
        logger.info("training run #%s refused: %s", run.pk, exc)
        with translation.override(settings.LANGUAGE_CODE):
            sentence = refusal_sentence(exc.code, exc.params)
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.FAILED, finished_at=timezone.now(), error=sentence)
    except Exception as exc:
        logger.exception("training run #%s failed", run.pk)
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000] or repr(exc))
    else:
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.DONE, stage=Stage.FINISHED, percent=100, detail="",
            finished_at=timezone.now(), model_version=version)
    run.refresh_from_db()
    return run
