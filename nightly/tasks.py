"""Celery tasks of the nightly chain: thin, take ids or a date, call one service, own their retries.

``nightly_run_task`` (beat, the pages' start button, the API) prepares the run and
fans the chunks out as a group; each ``score_chunk_task`` scores one id range and
then asks ``nightly_scoring_advance`` whether the score stage is complete, which
sends ``nightly_stage_task`` for the next stage exactly once (why not a chord:
``nightly.services``). Every task sends what follows it to the queue it came from,
so a set of workers on a queue of their own runs the whole chain.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import Task, group, shared_task
from django.db import DatabaseError, InterfaceError, connection
from django.utils import timezone

from audit.services import AuditOrigin
from churn import services as churn_services
from churn.models import NightlyRun
from config.celery import enqueue
from nightly import conf, services
from nightly.lease import LeaseBusy, nightly_lease
from nightly.models import StageName

logger = logging.getLogger(__name__)

# Transient trouble (a database restart, a dropped connection, the network) is retried
# with a doubling delay; a bug in the data or code fails at once and is reported in the run.
TRANSIENT = (DatabaseError, InterfaceError, OSError)
MAX_RETRIES = 3


def _connection_lost() -> bool:
    """Whether this process's database connection died (and, if so, drop it so the next
    query opens a new one)."""
    if connection.connection is None:
        return False
    if connection.is_usable():
        return False
    connection.close()
    return True


def _is_transient(exc: BaseException) -> bool:
    """A transient error, or any error raised while the connection died under the task:
    the driver does not always say so (psycopg2 raised SystemError from a COPY whose
    connection the server had terminated)."""
    lost = _connection_lost()
    return lost or isinstance(exc, TRANSIENT)


def _queue_of(task: Task) -> str | None:
    if task.request.is_eager:
        return None
    return (task.request.delivery_info or {}).get("routing_key")


def _dispatcher(queue: str | None) -> services.Dispatch:
    options: dict[str, Any] = {"queue": queue} if queue else {}

    def dispatch(run_id: int, name: str) -> None:
        nightly_stage_task.apply_async(args=(run_id, name), **options)

    return dispatch


def nightly_run_start(*, run_date: dt.date, origin: AuditOrigin) -> services.RunStartAnswer:
    """Start the night of ``run_date`` now, for a person (page or API): audited, then queued
    (without a broker it runs on a background thread of this process, see config.celery)
    unless it is under way or done already. Returns what it did, for the page to say."""
    answer = services.nightly_run_requested(run_date=run_date, origin=origin)
    if answer.starts:
        enqueue(nightly_run_task, run_date=run_date.isoformat())
    return answer


@shared_task(bind=True, acks_late=True, soft_time_limit=10 * 60, time_limit=15 * 60)
def nightly_run_task(self, run_date: str | None = None) -> int | None:
    """Beat entry point: prepare the night (default today), resume it at its first stage not
    done, and fan the chunks out to the workers of the queue this task came from.
    Without a broker (eager), the whole night runs here, in this process."""
    day = dt.date.fromisoformat(run_date) if run_date else timezone.localdate()
    try:
        if self.request.is_eager:
            run = services.nightly_run(run_date=day)
            return run.pk if run else None
        queue = _queue_of(self)
        dispatch = _dispatcher(queue)
        with nightly_lease(run_date=day):
            run = services.nightly_run_begin(run_date=day)
            if run is None or run.status == NightlyRun.Status.DONE:
                return run.pk if run else None
            name = services.nightly_stage_next(run_id=run.pk)
            if name == StageName.SCORE:
                chunks = services.nightly_scoring_begin(run_id=run.pk)
                if chunks:
                    options: dict[str, Any] = {"queue": queue} if queue else {}
                    group(score_chunk_task.s(run.pk, first_id, last_id) for first_id, last_id in chunks
                          ).apply_async(**options)
                else:
                    services.nightly_scoring_advance(run_id=run.pk, dispatch=dispatch)
            elif name is not None:
                services.nightly_stage_claim(run_id=run.pk, name=name)
                dispatch(run.pk, name)
            return run.pk
    except LeaseBusy as exc:
        logger.warning("%s: not started", exc)
        return None


class _ChunkTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Called once retries are exhausted (or for an error not retried): the chunk is
        recorded as failed in its run, never silently skipped, and the chain moves on
        (to a failed score stage) if it was the last."""
        _connection_lost()  # the failure may have been a dead connection: record it on a new one
        run_id, first_id, last_id = (list(args) + [None, None, None])[:3]
        run_id = kwargs.get("run_id", run_id)
        first_id = kwargs.get("first_id", first_id)
        last_id = kwargs.get("last_id", last_id)
        if run_id is not None:
            churn_services.nightly_chunk_fail(run_id=run_id, first_id=first_id, last_id=last_id, error=repr(exc))
            services.nightly_scoring_advance(run_id=run_id, dispatch=_dispatcher(_queue_of(self)))


@shared_task(
    bind=True,
    base=_ChunkTask,
    acks_late=True,
    # A worker killed mid-chunk: the message goes back to the queue (or, if the whole worker
    # died, Redis redelivers it after its visibility timeout; a rerun of the date does not wait).
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=15 * 60,
    time_limit=20 * 60,
)
def score_chunk_task(self, run_id: int, first_id: int, last_id: int) -> int:
    """Score one id range of a nightly run, then advance the chain if it was the last.
    Safe to run twice (upserts; a done chunk is skipped; the next stage starts once)."""
    try:
        scored = services.nightly_chunk_run(run_id=run_id, first_id=first_id, last_id=last_id)
        services.nightly_scoring_advance(run_id=run_id, dispatch=_dispatcher(_queue_of(self)))
    except Exception as exc:
        if not _is_transient(exc):
            raise
        raise self.retry(exc=exc, countdown=conf.retry_delay(attempt=self.request.retries)) from exc
    return scored


class _StageTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries exhausted (or an error not retried): the stage and the run are failed, with the error."""
        _connection_lost()
        run_id, name = (list(args) + [None, None])[:2]
        run_id = kwargs.get("run_id", run_id)
        name = kwargs.get("name", name)
        if run_id is not None and name is not None:
            services.nightly_stage_fail(run_id=run_id, name=name, error=repr(exc))


@shared_task(bind=True, base=_StageTask, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES,
             soft_time_limit=60 * 60, time_limit=65 * 60)
def nightly_stage_task(self, run_id: int, name: str) -> str | None:
    """Run one stage after scoring (alerts, reasons) under the date's lease; returns the stage
    started next. Busy lease (a rerun preparing the date): tried again shortly."""
    run = NightlyRun.objects.filter(pk=run_id).only("run_date").first()
    if run is None:
        return None  # the run was deleted: nothing to do
    try:
        with nightly_lease(run_date=run.run_date):
            return services.nightly_stage_execute(run_id=run_id, name=name, dispatch=_dispatcher(_queue_of(self)))
    except LeaseBusy as exc:
        if self.request.retries >= self.max_retries:
            logger.warning("%s: stage %s left to its holder", exc, name)
            return None
        raise self.retry(exc=exc, countdown=conf.retry_delay(attempt=self.request.retries)) from exc
    except Exception as exc:
        if not _is_transient(exc):
            raise
        raise self.retry(exc=exc, countdown=conf.retry_delay(attempt=self.request.retries)) from exc
