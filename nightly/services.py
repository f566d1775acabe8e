"""The nightly chain for a date: prepare → score (chunks, in parallel) → outcomes → cases → reasons →
monitoring → done.

This app is the only one that knows both the churn engine and the retention app:
it hands the run's date and month of balances to the retention cases, and the
customers with an open case to the churn engine's reasons. Each stage is a
``NightlyStage`` row with its status, timing, result or error; a stage that fails
marks the run failed; rerunning the date (``nightly_run`` or the beat task) resumes
at the first stage not done and ends with the rows a clean run gives, because
every stage is idempotent and the cases stage is all or nothing.

How a stage follows the one before (why not a Celery chord): the chunks are a
Celery group, but what comes after them is not a chord callback. On the Redis
result backend a chord counts finished header tasks in a Redis key: a header task
killed with SIGKILL never reports and the body never runs (celery/celery#2911), a
timeout while counting loses the body (celery/celery#3363), and a retried or
redelivered header task can count twice. Here each chunk, after committing its
scores, calls ``nightly_scoring_advance``, which under a row lock on the score
stage counts the chunks in the database (the truth, whoever scored them, however
often), and claims the next stage with a conditional update (pending → running)
that exactly one caller wins; only the winner enqueues it, after commit. A rerun
that finds the stage still pending or running claims it the same way, so nothing
is lost when a message is, and nothing runs twice when one is redelivered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import AuditOrigin, audit_record
from churn import monitoring_services as churn_monitoring_services
from churn import selectors as churn_selectors
from churn import services as churn_services
from churn.models import NightlyRun
from nightly.lease import nightly_lease
from nightly.models import STAGE_ORDER, NightlyStage, StageName, StageStatus
from retention import measuring as retention_measuring
from retention import raising as retention_raising
from retention import selectors as retention_selectors
from retention import summary as retention_summary

logger = logging.getLogger(__name__)

# (run id, stage name) -> start that stage (a Celery task after commit), or None: the
# caller runs it itself (``nightly_run``, in this process).
Dispatch = Callable[[int, str], None]


# --- prepare -----------------------------------------------------------------------------------


def nightly_run_begin(*, run_date: dt.date) -> NightlyRun | None:
    """The prepare stage: create (or reopen) the run of ``run_date`` and its chunks, record its
    stages. None when there is no active model; a run done is returned as is.

    Reopening a run that died or failed puts every stage not done back to pending, so
    the chain resumes at the first of them. The caller holds the date's lease.
    """
    started = timezone.now()
    try:
        run = churn_services.nightly_run_prepare(run_date=run_date)
    except Exception as exc:
        run = NightlyRun.objects.filter(run_date=run_date).first()
        if run is not None:
            _stages_ensure(run_id=run.pk)
            nightly_stage_fail(run_id=run.pk, name=StageName.PREPARE, error=repr(exc))
        raise
    if run is None or run.status == NightlyRun.Status.DONE:
        return run
    with transaction.atomic():
        _stages_ensure(run_id=run.pk)
        NightlyStage.objects.filter(run=run).exclude(status=StageStatus.DONE).update(
            status=StageStatus.PENDING, error="", started_at=None, finished_at=None, result=None,
        )
        NightlyStage.objects.filter(run=run, name=StageName.PREPARE).update(
            status=StageStatus.DONE, started_at=started, finished_at=timezone.now(),
            result={"chunks_total": run.chunks_total, "model_version": run.model_version_id,
                    "data_month": run.data_month.isoformat() if run.data_month else None},
        )
    return run


def _stages_ensure(*, run_id: int) -> None:
    NightlyStage.objects.bulk_create([NightlyStage(run_id=run_id, name=name) for name in STAGE_ORDER],
                                     ignore_conflicts=True)


def nightly_stage_next(*, run_id: int) -> str | None:
    """The first stage of the run not done; None when all are done or one has failed."""
    statuses = dict(NightlyStage.objects.filter(run_id=run_id).values_list("name", "status"))
    for name in STAGE_ORDER:
        status = statuses.get(name, StageStatus.PENDING)
        if status == StageStatus.FAILED:
            return None
        if status != StageStatus.DONE:
            return name
    return None


def nightly_stage_claim(*, run_id: int, name: str) -> bool:
    """Pending → running; True for the one caller whose conditional update changed the row."""
    return NightlyStage.objects.filter(run_id=run_id, name=name, status=StageStatus.PENDING).update(
        status=StageStatus.RUNNING, started_at=timezone.now(),
    ) == 1


# --- score -------------------------------------------------------------------------------------


def nightly_scoring_begin(*, run_id: int) -> list[tuple[int, int]]:
    """Start the score stage; returns the chunks still to score (first id, last id)."""
    nightly_stage_claim(run_id=run_id, name=StageName.SCORE)
    run = NightlyRun.objects.get(pk=run_id)
    return churn_services.nightly_run_pending_chunks(run=run)


def nightly_chunk_run(*, run_id: int, first_id: int, last_id: int, timings: dict | None = None) -> int:
    """Score one chunk; customers with an open case get reasons whatever their band.
    ``timings``, if given, receives the seconds of each step (the nightly benchmark)."""
    with_case = retention_selectors.customer_ids_with_open_case(first_id=first_id, last_id=last_id)
    return churn_services.nightly_chunk_score(run_id=run_id, first_id=first_id, last_id=last_id,
                                              explain_ids=with_case, timings=timings)


def nightly_scoring_advance(*, run_id: int, dispatch: Dispatch | None) -> str | None:
    """Called after each chunk (done or failed): once none is pending, close the score stage
    and start the next. Returns the stage started, if this call started one.

    The row lock on the score stage makes concurrent last chunks take turns; the
    stage's status check makes exactly one of them close it (see the module's note).
    """
    with transaction.atomic():
        stage = NightlyStage.objects.select_for_update().filter(run_id=run_id, name=StageName.SCORE).first()
        if stage is None or stage.status != StageStatus.RUNNING:
            return None
        totals = churn_services.nightly_scoring_totals(run_id=run_id)
        if totals is None:
            return None  # chunks still pending
        if totals["chunks_failed"]:
            first = totals["errors"][0]
            error = f"{totals['chunks_failed']} chunk(s) failed; chunk {first['chunk']}: {first['error']}"
            _stage_failed(stage, error=error, result=_jsonable(totals))
            return None
        _stage_done(stage, result=_jsonable({k: v for k, v in totals.items() if k != "errors"}))
        return _stage_hand_on(run_id=run_id, after=StageName.SCORE, dispatch=dispatch)


# --- outcomes, cases, reasons ------------------------------------------------------------------


def _outcomes_stage(run: NightlyRun) -> dict:
    # Cases whose churn window has ended are measured (and closed) before tonight's cases.
    return retention_measuring.case_outcomes_mark(as_of=run.run_date)


def _cases_stage(run: NightlyRun) -> dict:
    result = retention_raising.cases_raise_for_date(run_date=run.run_date, data_month=run.data_month)
    # Last: the dashboard's summaries, from tonight's cases, outcomes and scores.
    started = time.perf_counter()
    summary = retention_summary.dashboard_summary_refresh(today=run.run_date, score_dates=[run.run_date])
    return {**result, "summary": {**dataclasses.asdict(summary), "seconds": round(time.perf_counter() - started, 3)}}


def _reasons_stage(run: NightlyRun) -> dict:
    with_case = retention_selectors.customer_ids_with_open_case()
    explained = churn_services.churn_scores_explain(run_date=run.run_date, customer_ids=with_case)
    return {"customers_with_open_case": len(with_case), "scores_explained": explained}


def _monitoring_stage(run: NightlyRun) -> dict:
    # Tonight's drift and the realised performance of month-ends closed since (idempotent).
    return churn_monitoring_services.model_monitoring_refresh(run_date=run.run_date, data_month=run.data_month)


_STAGE_WORK: dict[str, Callable[[NightlyRun], dict]] = {
    StageName.OUTCOMES: _outcomes_stage,
    StageName.CASES: _cases_stage,
    StageName.REASONS: _reasons_stage,
    StageName.MONITORING: _monitoring_stage,
}


def nightly_stage_execute(*, run_id: int, name: str, dispatch: Dispatch | None) -> str | None:
    """Do stage ``name`` (outcomes, cases, reasons, monitoring) of the run, if it is not done
    yet, and start the next. Returns the stage started next, if any. An error propagates
    with nothing of the stage committed; the caller retries or calls ``nightly_stage_fail``.

    The stage's work, its "done" and the claim of the next stage commit together in
    one transaction: a process killed half-way leaves the stage as it was (the cases
    stage writes nothing; outcomes are measured in batches that each commit whole and
    are not measured twice; the reasons stage only fills in reasons still missing), and
    a duplicate delivery finds the stage done and does nothing.
    """
    nightly_stage_claim(run_id=run_id, name=name)
    with transaction.atomic():
        stage = NightlyStage.objects.select_for_update().filter(run_id=run_id, name=name).first()
        if stage is None or stage.status != StageStatus.RUNNING:
            return None
        run = NightlyRun.objects.get(pk=run_id)
        result = _STAGE_WORK[name](run)
        _stage_done(stage, result=_jsonable(result))
        return _stage_hand_on(run_id=run_id, after=name, dispatch=dispatch)


def nightly_stage_fail(*, run_id: int, name: str, error: str) -> None:
    """Record that stage ``name`` gave up: the stage and the run are failed, with the error."""
    with transaction.atomic():
        stage = NightlyStage.objects.select_for_update().filter(run_id=run_id, name=name).first()
        if stage is None or stage.status == StageStatus.DONE:
            return
        _stage_failed(stage, error=error, result=stage.result)


# --- shared steps ------------------------------------------------------------------------------


def _stage_done(stage: NightlyStage, *, result: dict | None) -> None:
    stage.status = StageStatus.DONE
    stage.started_at = stage.started_at or timezone.now()
    stage.finished_at = timezone.now()
    stage.error = ""
    stage.result = result
    stage.save(update_fields=["status", "started_at", "finished_at", "error", "result"])


def _stage_failed(stage: NightlyStage, *, error: str, result: dict | None) -> None:
    stage.status = StageStatus.FAILED
    stage.finished_at = timezone.now()
    stage.error = error[:4000]
    stage.result = result
    stage.save(update_fields=["status", "finished_at", "error", "result"])
    logger.error("nightly run %s: stage %s failed: %s", stage.run_id, stage.name, error)
    churn_services.nightly_run_close(run_id=stage.run_id, failed=True,
                                     error={"stage": stage.name, "error": error[:2000]})


def _stage_hand_on(*, run_id: int, after: str, dispatch: Dispatch | None) -> str | None:
    """Start the stage after ``after`` (or close the run when it was the last), inside the
    caller's transaction: the next stage's task is sent only once it commits."""
    position = STAGE_ORDER.index(after)
    if position + 1 == len(STAGE_ORDER):
        churn_services.nightly_run_close(run_id=run_id, failed=False)
        return None
    following = STAGE_ORDER[position + 1]
    if not nightly_stage_claim(run_id=run_id, name=following):
        return None  # another caller started it
    if dispatch is not None:
        transaction.on_commit(lambda: dispatch(run_id, following))
    return following


def _jsonable(value: dict | None) -> dict | None:
    """Results as JSON (dates and decimals as strings)."""
    return json.loads(json.dumps(value, default=str)) if value is not None else None


# --- the whole night in this process -----------------------------------------------------------


def nightly_run(*, run_date: dt.date, progress: Callable[[Iterable], Iterable] = lambda it: it) -> NightlyRun | None:
    """The night of ``run_date`` in this process (``run_nightly``; Celery eager mode), stage after
    stage, resuming at the first stage not done. Raises ``LeaseBusy`` when another process
    runs that date. A failed stage stops the chain: the run is returned failed."""
    with nightly_lease(run_date=run_date) as lease:
        run = nightly_run_begin(run_date=run_date)
        if run is None or run.status == NightlyRun.Status.DONE:
            return run
        previous = None
        while (name := nightly_stage_next(run_id=run.pk)) is not None:
            if name == previous:
                # Every pass finishes its stage (done or failed); one left unfinished means
                # someone changed the run under us (chunks added, a stage reset): stop loudly.
                raise RuntimeError(f"nightly run {run.pk}: stage {name} did not finish")
            previous = name
            if name == StageName.SCORE:
                for first_id, last_id in progress(nightly_scoring_begin(run_id=run.pk)):
                    try:
                        nightly_chunk_run(run_id=run.pk, first_id=first_id, last_id=last_id)
                    except Exception as exc:
                        logger.exception("chunk %s-%s failed", first_id, last_id)
                        churn_services.nightly_chunk_fail(run_id=run.pk, first_id=first_id, last_id=last_id,
                                                          error=repr(exc))
                    lease.renew()
                nightly_scoring_advance(run_id=run.pk, dispatch=None)
            else:
                try:
                    nightly_stage_execute(run_id=run.pk, name=name, dispatch=None)
                except Exception as exc:
                    logger.exception("stage %s failed", name)
                    nightly_stage_fail(run_id=run.pk, name=name, error=repr(exc))
            lease.renew()
        run.refresh_from_db()
        return run


class RunStart(models.TextChoices):
    """What a person's "start the run now" did (``nightly_run_requested``)."""

    STARTED = "started"  # no run for the date yet: the night starts
    RESUMED = "resumed"  # the run had failed: it starts again at its failed stage
    RUNNING = "running"  # the run is under way: nothing more started
    DONE = "done"  # the run is done: nothing to redo (a done night is never run again)
    NO_MODEL = "no_model"  # no active model to score with: nothing started


@dataclass(frozen=True)
class RunStartAnswer:
    """The answer to a start by hand: what it did, the run it found (None: no run yet), and for
    a failed run the stage that failed (the one it resumes at)."""

    outcome: RunStart
    run: NightlyRun | None = None
    failed_stage: NightlyStage | None = None

    @property
    def starts(self) -> bool:
        return self.outcome in (RunStart.STARTED, RunStart.RESUMED)


def nightly_run_requested(*, run_date: dt.date, origin: AuditOrigin) -> RunStartAnswer:
    """A person asks to start the night of ``run_date`` now (page or API): decide what that
    does, and record the request with the answer.

    A run under way is not started a second time (a second chain would reset its running
    stages to pending under the first); a run done is not redone (``nightly_run_begin``
    returns it as is, so "started" would be untrue); a failed run starts again at the stage
    that failed. The caller enqueues the run when ``answer.starts``."""
    run = NightlyRun.objects.filter(run_date=run_date).first()
    if run is None:
        answer = RunStartAnswer(
            outcome=RunStart.STARTED if churn_selectors.model_version_active() is not None else RunStart.NO_MODEL)
    elif run.status == NightlyRun.Status.DONE:
        answer = RunStartAnswer(outcome=RunStart.DONE, run=run)
    elif run.status == NightlyRun.Status.RUNNING:
        answer = RunStartAnswer(outcome=RunStart.RUNNING, run=run)
    else:
        failed = NightlyStage.objects.filter(run=run, status=StageStatus.FAILED).first()
        answer = RunStartAnswer(outcome=RunStart.RESUMED, run=run, failed_stage=failed)
    audit_record(action=AuditAction.CHANGE, origin=origin,
                 detail={"action": "nightly_run_start", "run_date": run_date.isoformat(),
                         "outcome": str(answer.outcome)})
    return answer
