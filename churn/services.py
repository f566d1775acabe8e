"""Writes of the churn engine: training a model version, the nightly scoring run,
reasons on demand, customer segments.

The nightly run's scoring is a set of independent id-range chunks recorded in
``NightlyChunk``. Any process may score any chunk (a Celery worker, the
``run_nightly`` command); scores are upserted on (customer, day), so a chunk
scored twice leaves the same rows, and a later run for the same date redoes
only the chunks that are not done. The chain around it (what comes after the
last chunk: alerts, reasons) is the ``nightly`` app's: this app knows nothing of
alerts, and is told which customers to explain.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone, translation
from threadpoolctl import threadpool_limits

from churn import conf, monitoring_services, selectors
from churn.features import BankFrames, build_features, data_month_for
from churn.labels import labelled_month_ends
from churn.models import ChurnScore, ModelVersion, NightlyChunk, NightlyRun, RiskBand
from churn.progress import TrainingProgress, TrainingStep, no_progress
from churn.reasons import activation_sentence, reasons_from_contributions
from churn.segments import assign_segments
from churn.training import (
    FORMAT_VERSION,
    GRADIENT_BOOSTING,
    LOGISTIC,
    RULE,
    ScoringModel,
    TrainingRefused,
    beats,
    build_training_rows,
    evaluate,
    load_artifact,
    plan_periods,
    save_artifact,
    train_and_evaluate,
)
from core.months import month_end
from customers.models import Customer

logger = logging.getLogger(__name__)

# --- models ------------------------------------------------------------------------------------

_model_cache: dict[int, tuple[str, ScoringModel]] = {}
_model_cache_lock = threading.Lock()


def model_version_load(*, version: ModelVersion) -> ScoringModel:
    """The fitted model of ``version``, checksum-verified, cached per process."""
    with _model_cache_lock:
        cached = _model_cache.get(version.pk)
        if cached and cached[0] == version.artifact_sha256:
            return cached[1]
        model = load_artifact(version.artifact_path, sha256=version.artifact_sha256)
        _model_cache[version.pk] = (version.artifact_sha256, model)
        return model


def model_version_train(
    *, force: bool = False, sample_customers: int | None = None,
    progress: TrainingProgress = no_progress,
) -> ModelVersion:
    """Train on the bank's history, evaluate, store a version.

    Evaluated on a later month-end when the history allows, else on customers held out
    of the latest month-end (``training.plan_periods``). What the version scores with is
    the gradient-boosted model only if it beats both baselines; otherwise the best
    baseline (``training.choose_champion``). It becomes active if it is the first, or
    beats the active one on the new evaluation rows (PR AUC, then ROC AUC), or ``force``.
    Raises ``TrainingRefused`` (one sentence saying what is missing) on data that cannot
    be trained on.
    """
    bounds = selectors.customer_id_bounds(limit=sample_customers)
    last_month = selectors.latest_data_month()
    if bounds is None or last_month is None:
        raise TrainingRefused("no_data", "there are no customers or monthly balances to train on")
    progress(TrainingStep.READING, 0, 1)
    frames = selectors.bank_frames_for_customers(
        first_id=bounds[0], last_id=bounds[1], as_of=month_end(pd.Timestamp(last_month)), only_active=False,
        months=None,
    )
    window = conf.window_months()
    months = pd.to_datetime(frames.monthly["month"]).dt.to_period("M")
    span = (months.max() - months.min()).n + 1 if len(months) else 0
    needed = max(conf.min_history_months(), window + 1)
    if span < needed:
        raise TrainingRefused(
            "short_history", "training needs at least %(needed)s months of balances (one month-end and the "
            "%(window)s-month churn window after it), the bank's data has %(have)s", needed=needed, window=window,
            have=span)
    periods = plan_periods(labelled_month_ends(frames.monthly, window_months=window), window_months=window,
                           first_month=months.min().to_timestamp().date())
    month_ends = [*periods.fit, *([periods.calibration] if periods.calibration else []), periods.evaluation]
    rows = build_training_rows(
        frames, month_ends=sorted(set(month_ends)), window_months=window, aum_drop_ratio=conf.aum_drop_ratio(),
        min_avg_aum=conf.min_avg_aum(), tier_floors=conf.tier_floors(), progress=progress,
    )
    del frames
    with threadpool_limits(limits=conf.openmp_threads()):
        result = train_and_evaluate(rows, window_months=window, progress=progress, periods=periods,
                                    max_fit_rows=conf.training_max_fit_rows())
    progress(TrainingStep.SAVING, 0, 1)
    name = f"churn-{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.pkl"
    path, sha256 = save_artifact(result.model, directory=conf.model_dir(), name=name)

    incumbent = selectors.model_version_active()
    incumbent_metrics = None
    if incumbent is not None:
        try:
            incumbent_model = model_version_load(version=incumbent)
            incumbent_metrics = evaluate(
                result.evaluation_rows["churned"].to_numpy(), incumbent_model.predict_proba(result.evaluation_rows)
            )
        except Exception as exc:  # an unreadable incumbent must not block a fresh model
            logger.warning("active model #%s could not be evaluated: %s", incumbent.pk, exc)
    # Why the version is (or is not) active, recorded with it: the pages word it in the
    # reader's language (``churn.reasons.activation_sentence``), the note keeps it in English.
    decision = {"incumbent": incumbent.pk if incumbent else None, "forced": False,
                "evaluation_month": result.periods.evaluation.isoformat(), "pr_auc": result.metrics["pr_auc"],
                "incumbent_pr_auc": incumbent_metrics["pr_auc"] if incumbent_metrics else None,
                "evaluation_method": result.periods.method, "champion": result.model.kind,
                "gate": {key: result.gate[key] for key in ("best_baseline", "model_beats_baselines")},
                "model_pr_auc": result.gate["pr_auc"][GRADIENT_BOOSTING],
                "baseline_pr_auc": result.gate["pr_auc"][result.gate["best_baseline"]],
                "lead_interval": result.gate["lead_interval"][result.gate["best_baseline"]]}
    if incumbent is None:
        activate, decision["reason"] = True, "first"
    elif incumbent_metrics is None:
        activate, decision["reason"] = True, "incumbent_unreadable"
    elif beats(result.metrics, incumbent_metrics):
        activate, decision["reason"] = True, "better"
    else:
        activate, decision["reason"], decision["forced"] = force, "not_better", force
    with translation.override("en"):
        note = activation_sentence(decision)
    metrics = dict(result.metrics)
    metrics["explainer"] = _EXPLAINERS[result.model.kind]
    metrics["training_rows"] = int(len(rows))
    metrics["activation"] = decision
    if incumbent is not None and incumbent_metrics is not None:
        metrics["incumbent_on_evaluation"] = {"id": incumbent.pk, "pr_auc": incumbent_metrics["pr_auc"],
                                              "roc_auc": incumbent_metrics["roc_auc"]}
    train_months = result.periods.fit + ([result.periods.calibration] if result.periods.calibration else [])
    with transaction.atomic():
        version = ModelVersion.objects.create(
            algorithm=result.model.algorithm, parameters=result.params if result.model.kind == GRADIENT_BOOSTING
            else {}, features=result.model.features,
            train_months=[d.isoformat() for d in train_months],
            evaluation_month=result.periods.evaluation, metrics=metrics, baselines=result.baselines,
            artifact_path=str(path), artifact_sha256=sha256, format_version=FORMAT_VERSION,
            activation_note=note[:300],
        )
        if activate:
            model_version_activate(version=version)
    # What drift will be measured against (churn.monitoring): the evaluation month-end's rows, the
    # newest whole month-end of the training data (the fit rows are sampled down). After the commit,
    # so the version's write transaction stays as short as it was (pages poll the training run).
    monitoring_services.model_reference_store(version=version, rows=result.evaluation_rows, model=result.model)
    return version


_EXPLAINERS = {
    GRADIENT_BOOSTING: "path attributions (Saabas) on the calibrated log-odds; top 3 per customer",
    LOGISTIC: "coefficient x standardised value, on the calibrated log-odds; top 3 per customer",
    RULE: "the rule's one feature",
}


def model_version_activate(*, version: ModelVersion) -> None:
    with transaction.atomic():
        # Lock the active row so two activations cannot both pass the one-active constraint check.
        list(ModelVersion.objects.select_for_update().filter(is_active=True))
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True


# --- nightly run -------------------------------------------------------------------------------


def nightly_run_prepare(*, run_date: date) -> NightlyRun | None:
    """Create (or reopen) the run for ``run_date`` and its chunks; None when there is no active model.

    A run already done is returned as is (nothing to redo). A run that died or
    failed half-way is reopened: its chunks that are not done go back to pending,
    and active customers added since get a chunk of their own.

    The run's ``data_month`` is the latest month of balances it scores from: the
    last complete month before ``run_date`` or, while that month's export has not
    arrived, the latest month imported (never a customer skipped for want of it).
    It is fixed when the run is created, so a resumed run scores from the same.
    """
    with transaction.atomic():
        run = NightlyRun.objects.select_for_update().filter(run_date=run_date).first()
        if run is None:
            version = selectors.model_version_active()
            if version is None:
                return None
            data_month = data_month_for(run_date, selectors.latest_data_month(before=run_date))
            run = NightlyRun.objects.create(run_date=run_date, model_version=version,
                                            data_month=data_month.date() if data_month is not None else None)
        elif run.status == NightlyRun.Status.DONE:
            return run
        after_id = run.chunks.order_by("-last_id").values_list("last_id", flat=True).first() or 0
        NightlyChunk.objects.bulk_create([
            NightlyChunk(run=run, first_id=first_id, last_id=last_id)
            for first_id, last_id in selectors.active_customer_id_ranges(chunk_size=conf.chunk_size(),
                                                                         after_id=after_id)
        ])
        run.chunks.exclude(status=NightlyChunk.Status.DONE).update(status=NightlyChunk.Status.PENDING, error="")
        run.status = NightlyRun.Status.RUNNING
        run.finished_at = None
        run.errors = []
        run.chunks_total = run.chunks.count()
        run.save(update_fields=["status", "finished_at", "errors", "chunks_total"])
    return run


def nightly_run_pending_chunks(*, run: NightlyRun) -> list[tuple[int, int]]:
    return list(run.chunks.filter(status=NightlyChunk.Status.PENDING).values_list("first_id", "last_id"))


def nightly_chunk_score(
    *, run_id: int, first_id: int, last_id: int, explain_ids: set[int] | None = None, timings: dict | None = None,
) -> int:
    """Score active customers ``first_id..last_id`` for the run's date; returns how many were scored.

    Reads their data (features as of the run date), predicts, explains the
    medium/high band and ``explain_ids`` (the nightly chain passes the customers
    with an open alert), upserts one score per customer and marks the chunk done.
    What comes after the last chunk is the caller's to decide.
    ``timings``, if given, receives the seconds spent in each step.
    """
    timings = {} if timings is None else timings
    run = NightlyRun.objects.select_related("model_version").filter(pk=run_id).first()
    if run is None:
        return 0  # the run was deleted: nothing to do
    chunk = NightlyChunk.objects.filter(run=run, first_id=first_id).first()
    if chunk is not None and chunk.status == NightlyChunk.Status.DONE:
        return chunk.customers_scored
    NightlyChunk.objects.filter(run=run, first_id=first_id).update(attempts=F("attempts") + 1)
    version = run.model_version
    if version is None:  # preparing a run gives it the active model; without one there is nothing to score with
        raise ValueError(f"nightly run #{run.pk} has no model version")
    with _timed(timings, "load model"):
        model = model_version_load(version=version)
    with _timed(timings, "read"):
        frames = selectors.bank_frames_for_customers(first_id=first_id, last_id=last_id, as_of=run.run_date,
                                                     data_month=run.data_month)
    # Chunks are the unit of parallelism (one per worker process): OpenMP threads inside a
    # chunk only spin against the other workers on the same cores (measured: twice the CPU).
    with threadpool_limits(limits=conf.openmp_threads()):
        scores = score_frames(frames=frames, model=model, as_of=run.run_date, explain_ids=explain_ids,
                              data_month=run.data_month, timings=timings)
    with _timed(timings, "write"):
        scores_write(scores=scores, run_date=run.run_date, model_version_id=version.pk)
    scored, skipped = len(scores), len(frames.customers) - len(scores)
    NightlyChunk.objects.filter(run=run, first_id=first_id).update(
        status=NightlyChunk.Status.DONE, customers_scored=scored, customers_skipped=skipped, error="",
        finished_at=timezone.now(),
    )
    return scored


@contextmanager
def _timed(timings: dict, step: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = timings.get(step, 0.0) + time.perf_counter() - started


def nightly_chunk_fail(*, run_id: int, first_id: int, last_id: int, error: str) -> None:
    """Record that a chunk gave up (after its retries), so the run reports it instead of skipping it.
    A chunk that another attempt finished meanwhile stays done."""
    NightlyChunk.objects.filter(run_id=run_id, first_id=first_id).exclude(status=NightlyChunk.Status.DONE).update(
        status=NightlyChunk.Status.FAILED, error=error[:2000], finished_at=timezone.now(),
    )
    logger.error("nightly run %s: chunk %s-%s failed: %s", run_id, first_id, last_id, error)


def nightly_scoring_totals(*, run_id: int) -> dict | None:
    """The run's scoring totals once no chunk is pending (None while one is, or without the run).

    Stores them, and the failed chunks' errors, on the run and returns
    ``{"chunks_done", "chunks_failed", "customers_scored", "customers_skipped", "errors"}``.
    It only counts: what comes next is the nightly chain's to decide, under its own lock.
    """
    run = NightlyRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    counts = run.chunks.aggregate(
        pending=Count("pk", filter=Q(status=NightlyChunk.Status.PENDING)),
        done=Count("pk", filter=Q(status=NightlyChunk.Status.DONE)),
        scored=Sum("customers_scored"), skipped=Sum("customers_skipped"),
    )
    if counts["pending"]:
        return None
    failed = list(run.chunks.filter(status=NightlyChunk.Status.FAILED).values("first_id", "last_id", "error"))
    totals = {"chunks_done": counts["done"], "chunks_failed": len(failed),
              "customers_scored": counts["scored"] or 0, "customers_skipped": counts["skipped"] or 0,
              "errors": [{"chunk": [c["first_id"], c["last_id"]], "error": c["error"]} for c in failed]}
    NightlyRun.objects.filter(pk=run_id).update(
        chunks_done=totals["chunks_done"], customers_scored=totals["customers_scored"],
        customers_skipped=totals["customers_skipped"], errors=totals["errors"],
    )
    return totals


def nightly_run_close(*, run_id: int, failed: bool, error: dict | None = None) -> None:
    """Mark the run done or failed, with its finishing time; ``error`` (e.g.
    ``{"stage": "alerts", "error": "..."}``) is added to its errors. A run done prunes
    the daily scores past their retention period."""
    with transaction.atomic():
        run = NightlyRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            return
        run.status = NightlyRun.Status.FAILED if failed else NightlyRun.Status.DONE
        run.finished_at = timezone.now()
        if error is not None:
            run.errors = [*run.errors, error]
        run.save(update_fields=["status", "finished_at", "errors"])
    if not failed:
        churn_scores_prune(today=run.run_date)


def churn_scores_explain(*, run_date: date, customer_ids: Iterable[int]) -> int:
    """Reasons for the scores of ``run_date`` that have none, among ``customer_ids``; returns how many.

    The nightly chain passes the customers with an open alert: a low-band score
    whose alert an event rule raised after scoring (so the chunk could not know).
    Grouped by model version and explained a batch at a time (one read, one
    feature build, one attribution and one write per batch), not customer by
    customer: tens of thousands of customers on a million-customer night.
    Idempotent: a score that has its reasons is left alone.
    """
    wanted = sorted(set(customer_ids))
    by_version: dict[int, list[int]] = {}
    for version_id, customer_id in _scores_without_reasons(run_date=run_date, customer_ids=wanted):
        by_version.setdefault(version_id, []).append(customer_id)
    run = selectors.nightly_run_get(run_date=run_date)
    data_month = run.data_month if run is not None else None
    count = 0
    for version_id, ids in by_version.items():
        version = ModelVersion.objects.get(pk=version_id)
        ids.sort()
        for start in range(0, len(ids), conf.chunk_size()):
            batch = ids[start : start + conf.chunk_size()]
            reasons = _reasons_for_customers(customer_ids=batch, version=version, as_of=run_date,
                                             data_month=data_month)
            count += _reasons_write(reasons=reasons, scored_on=run_date)
    return count


def _scores_without_reasons(*, run_date: date, customer_ids: list[int]) -> list[tuple[int, int]]:
    """(model version, customer) of the scores of ``run_date`` without reasons among
    ``customer_ids``. On PostgreSQL one query with the ids as one array parameter (a
    night passes a couple of hundred thousand: as ``IN`` lists of bound values, building
    the queries cost more than running them); on SQLite batches under its limit of
    bound parameters."""
    if not customer_ids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT model_version_id, customer_id FROM churn_churnscore "
                "WHERE scored_on = %s AND reasons = '[]'::jsonb AND customer_id = ANY(%s)",
                [run_date, customer_ids],
            )
            return cursor.fetchall()
    found: list[tuple[int, int]] = []
    for start in range(0, len(customer_ids), 10_000):
        found += (ChurnScore.objects.filter(scored_on=run_date, reasons=[],
                                            customer_id__in=customer_ids[start : start + 10_000])
                  .order_by().values_list("model_version_id", "customer_id"))
    return found


def _reasons_for_customers(
    *, customer_ids: list[int], version: ModelVersion, as_of: date, data_month: date | None,
) -> dict[int, list[dict]]:
    """Reasons of ``customer_ids`` (sorted) with ``version``'s model as of ``as_of``: customer pk -> reasons."""
    model = model_version_load(version=version)
    frames = selectors.bank_frames_for_customers(
        first_id=customer_ids[0], last_id=customer_ids[-1], as_of=as_of, only_active=False,
        data_month=data_month, customer_ids=customer_ids,
    )
    features = build_features(frames, as_of=as_of, tier_floors=conf.tier_floors(), data_month=data_month)
    features = features[features["has_current_month"].to_numpy()]
    if features.empty:
        return {}
    contributions, _ = model.contributions(features)
    reasons = reasons_from_contributions(features, contributions, model.features)
    return {int(pk): entry for pk, entry in zip(features.index, reasons, strict=True) if entry}


def _reasons_write(*, reasons: dict[int, list[dict]], scored_on: date) -> int:
    """Fill in reasons of scores that have none (a concurrent writer's reasons are not overwritten)."""
    if not reasons:
        return 0
    if connection.vendor == "postgresql":
        table = pa.table({
            "customer_id": pa.array(list(reasons), pa.int64()),
            "reasons": pa.array([_json(entry) for entry in reasons.values()], pa.string()),
        })
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS churn_reasons_load (customer_id bigint, reasons jsonb) "
                           "ON COMMIT DELETE ROWS")
            # Empty already unless a caller's outer transaction holds the commit back.
            cursor.execute("DELETE FROM churn_reasons_load")
            cursor.copy_expert("COPY churn_reasons_load FROM STDIN WITH (FORMAT csv)", _csv(table))
            cursor.execute(
                "UPDATE churn_churnscore s SET reasons = l.reasons FROM churn_reasons_load l "
                "WHERE s.customer_id = l.customer_id AND s.scored_on = %s AND s.reasons = '[]'::jsonb",
                [scored_on],
            )
            return cursor.rowcount
    scores = list(ChurnScore.objects.filter(scored_on=scored_on, reasons=[], customer_id__in=list(reasons))
                  .only("pk", "customer_id"))
    for score in scores:
        score.reasons = reasons[score.customer_id]
    ChurnScore.objects.bulk_update(scores, ["reasons"], batch_size=500)
    return len(scores)


def churn_scores_prune(*, today: date) -> int:
    """Delete daily scores older than the retention period; month-end scores are kept for good."""
    cutoff = today - timedelta(days=conf.daily_score_retention_days())
    deleted, _ = ChurnScore.objects.filter(scored_on__lt=cutoff, is_month_end=False).delete()
    return deleted


# --- scoring -----------------------------------------------------------------------------------


def risk_bands(probability: np.ndarray) -> np.ndarray:
    medium, high = conf.band_thresholds()
    return np.where(probability >= high, RiskBand.HIGH.value,
                    np.where(probability >= medium, RiskBand.MEDIUM.value, RiskBand.LOW.value))


def score_frames(
    *, frames: BankFrames, model: ScoringModel, as_of: date, explain_ids: set | None = None,
    explain_all: bool = False, data_month: date | None = None, timings: dict | None = None,
) -> pd.DataFrame:
    """Scores of the scoreable customers in ``frames`` (pure computation, no writes).

    Columns: customer_id, probability, risk_band, aum, expected_aum_at_risk, reasons (list).
    """
    timings = {} if timings is None else timings
    with _timed(timings, "features"):
        features = build_features(frames, as_of=as_of, tier_floors=conf.tier_floors(), data_month=data_month)
    scoreable = (features["has_current_month"] & (features["latest_status"] == "active")
                 & (features["aum_avg_3m"] >= conf.min_avg_aum()))
    features = features[scoreable.to_numpy()]
    with _timed(timings, "predict"):
        probability = model.predict_proba(features) if len(features) else np.zeros(0)
    bands = risk_bands(probability)
    aum = features["aum"].to_numpy(dtype=float)
    reasons: list[list[dict]] = [[] for _ in range(len(features))]
    explain = np.ones(len(features), dtype=bool) if explain_all else (bands != RiskBand.LOW.value)
    if explain_ids:
        explain |= features.index.isin(list(explain_ids))
    if explain.any():
        with _timed(timings, "reasons"):
            subset = features[explain]
            contributions, _ = model.contributions(subset)
            for position, entry in zip(np.flatnonzero(explain),
                                       reasons_from_contributions(subset, contributions, model.features),
                                       strict=True):
                reasons[position] = entry
    return pd.DataFrame({
        "customer_id": features.index.to_numpy(),
        "probability": probability,
        "risk_band": bands,
        "aum": np.round(aum, 2),
        "expected_aum_at_risk": np.round(probability * aum, 2),
        "reasons": reasons,
    })


_UPSERT_SQL = """
    INSERT INTO churn_churnscore (customer_id, scored_on, model_version_id, probability, risk_band, aum,
                                  expected_aum_at_risk, reasons, is_month_end)
    SELECT customer_id, scored_on, model_version_id, probability, risk_band, aum, expected_aum_at_risk,
           reasons, is_month_end FROM churn_score_load
    ON CONFLICT (customer_id, scored_on) DO UPDATE SET
        model_version_id = EXCLUDED.model_version_id,
        probability = EXCLUDED.probability,
        risk_band = EXCLUDED.risk_band,
        aum = EXCLUDED.aum,
        expected_aum_at_risk = EXCLUDED.expected_aum_at_risk,
        -- Reasons added on demand for a low-band customer survive a re-run with the same model.
        reasons = CASE WHEN EXCLUDED.reasons = '[]'::jsonb
                        AND churn_churnscore.model_version_id = EXCLUDED.model_version_id
                       THEN churn_churnscore.reasons ELSE EXCLUDED.reasons END,
        is_month_end = EXCLUDED.is_month_end
    WHERE (churn_churnscore.model_version_id, churn_churnscore.probability, churn_churnscore.risk_band,
           churn_churnscore.aum, churn_churnscore.is_month_end)
          IS DISTINCT FROM
          (EXCLUDED.model_version_id, EXCLUDED.probability, EXCLUDED.risk_band, EXCLUDED.aum,
           EXCLUDED.is_month_end)
       OR (EXCLUDED.reasons <> '[]'::jsonb AND churn_churnscore.reasons IS DISTINCT FROM EXCLUDED.reasons)
"""


def _json(reasons: list[dict]) -> str:
    return json.dumps(reasons, ensure_ascii=False, separators=(",", ":")) if reasons else "[]"


def _csv(table: pa.Table) -> io.BytesIO:
    """``table`` as headerless CSV for ``COPY ... FROM STDIN WITH (FORMAT csv)``.

    pyarrow writes floats in their shortest round-trip form, so a re-run's
    probabilities compare equal to the stored ones (the upsert then skips them).
    """
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=False))
    buffer.seek(0)
    return buffer


def scores_write(*, scores: pd.DataFrame, run_date: date, model_version_id: int) -> None:
    """Upsert one score per customer for ``run_date`` (idempotent; the unique constraint forbids duplicates).

    On PostgreSQL: one COPY into a temporary staging table, then one
    ``INSERT ... ON CONFLICT`` that touches only rows that changed.
    """
    if scores.empty:
        return
    is_month_end = (run_date + timedelta(days=1)).day == 1
    if connection.vendor == "postgresql":
        n = len(scores)
        table = pa.table({
            "customer_id": pa.array(scores["customer_id"].to_numpy(dtype=np.int64)),
            "scored_on": pa.array([run_date] * n, pa.date32()),
            "model_version_id": pa.array(np.full(n, model_version_id, dtype=np.int64)),
            "probability": pa.array(scores["probability"].to_numpy(dtype=np.float64)),
            "risk_band": pa.array(scores["risk_band"].to_numpy(dtype=object), pa.string()),
            # Already rounded to cents; numeric(18, 2) takes the shortest form exactly.
            "aum": pa.array(scores["aum"].to_numpy(dtype=np.float64)),
            "expected_aum_at_risk": pa.array(scores["expected_aum_at_risk"].to_numpy(dtype=np.float64)),
            "reasons": pa.array([_json(entry) for entry in scores["reasons"]], pa.string()),
            "is_month_end": pa.array(np.full(n, is_month_end)),
        })
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS churn_score_load (customer_id bigint, scored_on date, "
                "model_version_id bigint, probability double precision, risk_band varchar(8), aum numeric(18,2), "
                "expected_aum_at_risk numeric(18,2), reasons jsonb, is_month_end boolean) ON COMMIT DELETE ROWS"
            )
            # Empty already unless a caller's outer transaction holds the commit back (a test, or
            # two chunks scored in one transaction): then the last chunk's rows would be upserted twice.
            cursor.execute("DELETE FROM churn_score_load")
            cursor.copy_expert("COPY churn_score_load FROM STDIN WITH (FORMAT csv)", _csv(table))
            cursor.execute(_UPSERT_SQL)
        return
    _scores_write_orm(scores=scores, run_date=run_date, model_version_id=model_version_id,
                      is_month_end=is_month_end)


def _scores_write_orm(*, scores: pd.DataFrame, run_date: date, model_version_id: int, is_month_end: bool) -> None:
    """The portable path (SQLite): bulk upsert, keeping on-demand reasons when tonight has none."""
    objects = [
        ChurnScore(
            customer_id=int(row.customer_id), scored_on=run_date, model_version_id=model_version_id,
            probability=float(row.probability), risk_band=row.risk_band, aum=Decimal(f"{row.aum:.2f}"),
            expected_aum_at_risk=Decimal(f"{row.expected_aum_at_risk:.2f}"), reasons=row.reasons,
            is_month_end=is_month_end,
        )
        for row in scores.itertuples(index=False)
    ]
    fields = ["model_version", "probability", "risk_band", "aum", "expected_aum_at_risk", "is_month_end"]
    with_reasons = [o for o in objects if o.reasons]
    without = [o for o in objects if not o.reasons]
    with transaction.atomic():
        for batch, update_fields in ((with_reasons, [*fields, "reasons"]), (without, fields)):
            if batch:
                ChurnScore.objects.bulk_create(batch, batch_size=2000, update_conflicts=True,
                                               unique_fields=["customer", "scored_on"], update_fields=update_fields)


def score_reasons_ensure(*, score: ChurnScore) -> ChurnScore:
    """Give ``score`` its reasons if the nightly run left it without (low band): computed
    with the score's own model as of its date (and from the same month of balances as
    its run), then stored, so the next view is free."""
    if score.reasons:
        return score
    run = selectors.nightly_run_get(run_date=score.scored_on)
    reasons = _reasons_for_customers(
        customer_ids=[score.customer_id], version=score.model_version, as_of=score.scored_on,
        data_month=run.data_month if run is not None else None,
    )
    if score.customer_id in reasons:
        score.reasons = reasons[score.customer_id]
        ChurnScore.objects.filter(pk=score.pk).update(reasons=score.reasons)
    return score


# --- segments ----------------------------------------------------------------------------------


def customer_segments_assign(*, as_of: date, chunk_size: int = 50_000) -> dict[str, int]:
    """Write each customer's rule-based ``segment`` (set-based, chunk by chunk).

    ``segment_override`` (an RM's choice) is never written here; it wins wherever
    the effective segment is read.
    """
    changed: dict[str, int] = {}
    bounds = selectors.customer_id_bounds()
    if bounds is None:
        return changed
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        first_id, last_id = ids[start], ids[min(start + chunk_size, len(ids)) - 1]
        frames = selectors.bank_frames_for_customers(first_id=first_id, last_id=last_id, as_of=as_of,
                                                     only_active=False)
        segments = assign_segments(frames, as_of=as_of)
        with transaction.atomic():
            for segment, members in segments.groupby(segments).groups.items():
                member_ids = [int(pk) for pk in members]
                for i in range(0, len(member_ids), 5_000):
                    count = (Customer.objects.filter(pk__in=member_ids[i : i + 5_000])
                             .exclude(segment=segment).update(segment=segment))
                    changed[segment] = changed.get(segment, 0) + count
    return changed
