"""Writes of the churn engine: training a model version, the nightly scoring run,
reasons on demand, customer segments.

The nightly run is a set of independent id-range chunks recorded in
``NightlyChunk``. Any process may score any chunk (a Celery worker, the
``run_nightly`` command); scores are upserted on (customer, day), so a chunk
scored twice leaves the same rows, and a later run for the same date redoes
only the chunks that are not done. Whoever finishes the last chunk closes the
run (under a row lock, so exactly one does) and hands over to alert raising.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from churn import conf, selectors
from churn.features import BankFrames, build_features, month_end
from churn.labels import labelled_month_ends
from churn.models import ChurnScore, ModelVersion, NightlyChunk, NightlyRun, RiskBand
from churn.reasons import reasons_from_contributions
from churn.segments import assign_segments
from churn.training import (
    ALGORITHM,
    FORMAT_VERSION,
    ChurnModel,
    beats,
    build_training_rows,
    evaluate,
    load_artifact,
    save_artifact,
    train_and_evaluate,
)
from customers.models import Customer

logger = logging.getLogger(__name__)

# --- models ------------------------------------------------------------------------------------

_model_cache: dict[int, tuple[str, ChurnModel]] = {}
_model_cache_lock = threading.Lock()


def model_version_load(*, version: ModelVersion) -> ChurnModel:
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
    progress: Callable[[Iterable], Iterable] = lambda it: it, step: Callable[[str], None] = lambda s: None,
) -> ModelVersion:
    """Train on the bank's history, evaluate on the latest labelled month-end, store a version.

    The new version becomes active only if it beats the active one on the new
    evaluation month (PR AUC, then ROC AUC), unless ``force``.
    """
    bounds = selectors.customer_id_bounds(limit=sample_customers)
    last_month = selectors.latest_data_month()
    if bounds is None or last_month is None:
        raise ValueError("no customers or monthly balances to train on")
    step("reading")
    frames = selectors.bank_frames_for_customers(
        first_id=bounds[0], last_id=bounds[1], as_of=month_end(pd.Timestamp(last_month)), only_active=False,
        months=None,
    )
    window = conf.window_months()
    month_ends = labelled_month_ends(frames.monthly, window_months=window)[conf.training_min_history_months():]
    step("features and labels")
    rows = build_training_rows(
        frames, month_ends=month_ends, window_months=window, aum_drop_ratio=conf.aum_drop_ratio(),
        min_avg_aum=conf.min_avg_aum(), tier_floors=conf.tier_floors(), progress=progress,
    )
    del frames
    rows = _cap_fit_rows(rows, window=window)
    result = train_and_evaluate(rows, window_months=window, progress=step)
    step("saving")
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
    if incumbent is None:
        activate, note = True, "first model"
    elif incumbent_metrics is None:
        activate, note = True, f"active model #{incumbent.pk} could not be evaluated"
    elif beats(result.metrics, incumbent_metrics):
        activate, note = True, (f"beats #{incumbent.pk} on {result.periods.evaluation}: PR AUC "
                                f"{result.metrics['pr_auc']} vs {incumbent_metrics['pr_auc']}")
    else:
        activate, note = force, (f"does not beat #{incumbent.pk} on {result.periods.evaluation}: PR AUC "
                                 f"{result.metrics['pr_auc']} vs {incumbent_metrics['pr_auc']}")
        if force:
            note += "; activated with --force"
    metrics = dict(result.metrics)
    metrics["explainer"] = "path attributions (Saabas) on the calibrated log-odds; top 3 per customer"
    metrics["training_rows"] = int(len(rows))
    if incumbent_metrics is not None:
        metrics["incumbent_on_evaluation"] = {"id": incumbent.pk, "pr_auc": incumbent_metrics["pr_auc"],
                                              "roc_auc": incumbent_metrics["roc_auc"]}
    with transaction.atomic():
        version = ModelVersion.objects.create(
            algorithm=ALGORITHM, parameters=result.params, features=result.model.features,
            train_months=[d.isoformat() for d in [*result.periods.fit, result.periods.calibration]],
            evaluation_month=result.periods.evaluation, metrics=metrics, baselines=result.baselines,
            artifact_path=str(path), artifact_sha256=sha256, format_version=FORMAT_VERSION,
            activation_note=note[:300],
        )
        if activate:
            model_version_activate(version=version)
    return version


def _cap_fit_rows(rows: pd.DataFrame, *, window: int) -> pd.DataFrame:
    """Sample non-churners of the fit month-ends down so at most ``training_max_fit_rows`` remain.

    The calibration and evaluation month-ends are left whole: Platt scaling on the
    untouched calibration month undoes the sampling's shift in base rate.
    """
    cap = conf.training_max_fit_rows()
    kept_whole = sorted(rows["as_of"].unique())
    last = kept_whole[-1]
    cutoff = pd.Timestamp(last).to_period("M") - window
    calibration = max(d for d in kept_whole if pd.Timestamp(d).to_period("M") <= cutoff)
    fit_mask = rows["as_of"] < calibration
    fit = rows[fit_mask]
    if len(fit) <= cap:
        return rows
    positives = fit[fit["churned"]]
    negatives = fit[~fit["churned"]]
    keep = max(cap - len(positives), 1)
    negatives = negatives.sample(min(keep, len(negatives)), random_state=0)
    return pd.concat([positives, negatives, rows[~fit_mask]], ignore_index=True)


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
    """
    with transaction.atomic():
        run = NightlyRun.objects.select_for_update().filter(run_date=run_date).first()
        if run is None:
            version = selectors.model_version_active()
            if version is None:
                return None
            run = NightlyRun.objects.create(run_date=run_date, model_version=version)
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


def nightly_chunk_score(*, run_id: int, first_id: int, last_id: int) -> int:
    """Score active customers ``first_id..last_id`` for the run's date; returns how many were scored.

    Reads their data (features as of the run date), predicts, explains the
    medium/high band and customers with an open alert, upserts one score per
    customer, marks the chunk done, and closes the run if it was the last.
    """
    run = NightlyRun.objects.select_related("model_version").filter(pk=run_id).first()
    if run is None:
        return 0  # the run was deleted: nothing to do
    chunk = NightlyChunk.objects.filter(run=run, first_id=first_id).first()
    if chunk is not None and chunk.status == NightlyChunk.Status.DONE:
        return chunk.customers_scored
    NightlyChunk.objects.filter(run=run, first_id=first_id).update(attempts=F("attempts") + 1)
    model = model_version_load(version=run.model_version)
    frames = selectors.bank_frames_for_customers(first_id=first_id, last_id=last_id, as_of=run.run_date)
    alerted = selectors.customer_ids_with_open_alerts(first_id=first_id, last_id=last_id)
    scores = score_frames(frames=frames, model=model, as_of=run.run_date, explain_ids=alerted)
    scores_write(scores=scores, run_date=run.run_date, model_version_id=run.model_version_id)
    scored, skipped = len(scores), len(frames.customers) - len(scores)
    NightlyChunk.objects.filter(run=run, first_id=first_id).update(
        status=NightlyChunk.Status.DONE, customers_scored=scored, customers_skipped=skipped, error="",
        finished_at=timezone.now(),
    )
    nightly_run_finish(run_id=run_id)
    return scored


def nightly_chunk_fail(*, run_id: int, first_id: int, last_id: int, error: str) -> None:
    """Record that a chunk gave up (after its retries), so the run reports it instead of skipping it."""
    NightlyChunk.objects.filter(run_id=run_id, first_id=first_id).update(
        status=NightlyChunk.Status.FAILED, error=error[:2000], finished_at=timezone.now(),
    )
    logger.error("nightly run %s: chunk %s-%s failed: %s", run_id, first_id, last_id, error)
    nightly_run_finish(run_id=run_id)


def nightly_run_finish(*, run_id: int) -> NightlyRun | None:
    """Close the run once no chunk is pending, then prune old scores and raise alerts.

    Every chunk calls this; the row lock and the status check make exactly one
    caller (the last chunk) do the closing and the hand-over.
    """
    with transaction.atomic():
        run = NightlyRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != NightlyRun.Status.RUNNING:
            return run
        counts = run.chunks.aggregate(
            pending=Count("pk", filter=Q(status=NightlyChunk.Status.PENDING)),
            done=Count("pk", filter=Q(status=NightlyChunk.Status.DONE)),
            scored=Sum("customers_scored"), skipped=Sum("customers_skipped"),
        )
        if counts["pending"]:
            return run
        failed = list(run.chunks.filter(status=NightlyChunk.Status.FAILED).values("first_id", "last_id", "error"))
        run.chunks_done = counts["done"]
        run.customers_scored = counts["scored"] or 0
        run.customers_skipped = counts["skipped"] or 0
        run.errors = [{"chunk": [c["first_id"], c["last_id"]], "error": c["error"]} for c in failed]
        run.status = NightlyRun.Status.FAILED if failed else NightlyRun.Status.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["chunks_done", "customers_scored", "customers_skipped", "errors", "status",
                                "finished_at"])
    churn_scores_prune(today=run.run_date)
    run.alerts_result = _alerts_hand_over(run_date=run.run_date)
    NightlyRun.objects.filter(pk=run.pk).update(alerts_result=run.alerts_result)
    churn_scores_explain_alerted(run_date=run.run_date)
    return run


def churn_scores_explain_alerted(*, run_date: date) -> int:
    """Reasons for tonight's low-band scores whose customer has an open alert (raised by an
    event rule after scoring, so the chunk could not know): few, so one at a time."""
    from django.apps import apps

    try:
        alert = apps.get_model("retention", "Alert")
    except LookupError:
        return 0
    alerted = alert.objects.filter(status__in=["open", "snoozed", "in_progress"]).values("customer_id")
    scores = ChurnScore.objects.filter(scored_on=run_date, reasons=[], customer_id__in=alerted)
    count = 0
    for score in scores.select_related("model_version").iterator(chunk_size=500):
        score_reasons_ensure(score=score)
        count += 1
    return count


def _alerts_hand_over(*, run_date: date) -> dict | None:
    """Call ``retention.services.alerts_raise_for_date`` when the retention app provides it.

    Looked up at run time, so the churn engine works before (and without) the
    retention app; an import error *inside* retention.services is not hidden.
    """
    if importlib.util.find_spec("retention.services") is None:
        return None
    raise_alerts = getattr(importlib.import_module("retention.services"), "alerts_raise_for_date", None)
    if raise_alerts is None:
        logger.info("retention.services.alerts_raise_for_date not available yet: no alerts raised")
        return None
    result = raise_alerts(run_date=run_date)
    return json.loads(json.dumps(result, default=str)) if result is not None else None


def nightly_run(*, run_date: date, progress: Callable[[Iterable], Iterable] = lambda it: it) -> NightlyRun | None:
    """The nightly job in this process, chunk after chunk (``run_nightly``; Celery eager mode)."""
    run = nightly_run_prepare(run_date=run_date)
    if run is None or run.status == NightlyRun.Status.DONE:
        return run
    for first_id, last_id in progress(nightly_run_pending_chunks(run=run)):
        try:
            nightly_chunk_score(run_id=run.pk, first_id=first_id, last_id=last_id)
        except Exception as exc:
            logger.exception("chunk %s-%s failed", first_id, last_id)
            nightly_chunk_fail(run_id=run.pk, first_id=first_id, last_id=last_id, error=repr(exc))
    nightly_run_finish(run_id=run.pk)  # closes a run with no chunks at all
    run.refresh_from_db()
    return run


def nightly_run_dispatch(*, run_date: date, queue: str | None = None) -> NightlyRun | None:
    """Prepare the run and send one Celery task per pending chunk (a group); workers do the rest.

    ``queue``: where to send the chunks (default: the default queue)."""
    from celery import group

    from churn.tasks import score_chunk_task

    run = nightly_run_prepare(run_date=run_date)
    if run is None or run.status == NightlyRun.Status.DONE:
        return run
    chunks = nightly_run_pending_chunks(run=run)
    if not chunks:
        nightly_run_finish(run_id=run.pk)
        return run
    options = {"queue": queue} if queue else {}
    group(score_chunk_task.s(run.pk, first_id, last_id) for first_id, last_id in chunks).apply_async(**options)
    return run


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
    *, frames: BankFrames, model: ChurnModel, as_of: date, explain_ids: set | None = None,
    explain_all: bool = False,
) -> pd.DataFrame:
    """Scores of the scoreable customers in ``frames`` (pure computation, no writes).

    Columns: customer_id, probability, risk_band, aum, expected_aum_at_risk, reasons (list).
    """
    features = build_features(frames, as_of=as_of, tier_floors=conf.tier_floors())
    scoreable = (features["has_current_month"] & (features["latest_status"] == "active")
                 & (features["aum_avg_3m"] >= conf.min_avg_aum()))
    features = features[scoreable.to_numpy()]
    probability = model.predict_proba(features) if len(features) else np.zeros(0)
    bands = risk_bands(probability)
    aum = features["aum"].to_numpy(dtype=float)
    reasons: list[list[dict]] = [[] for _ in range(len(features))]
    explain = np.ones(len(features), dtype=bool) if explain_all else (bands != RiskBand.LOW.value)
    if explain_ids:
        explain |= features.index.isin(list(explain_ids))
    if explain.any():
        subset = features[explain]
        contributions, _ = model.contributions(subset)
        for position, entry in zip(np.flatnonzero(explain),
                                   reasons_from_contributions(subset, contributions, model.features), strict=True):
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


def scores_write(*, scores: pd.DataFrame, run_date: date, model_version_id: int) -> None:
    """Upsert one score per customer for ``run_date`` (idempotent; the unique constraint forbids duplicates)."""
    if scores.empty:
        return
    is_month_end = (run_date + timedelta(days=1)).day == 1
    if connection.vendor == "postgresql":
        frame = pd.DataFrame({
            "customer_id": scores["customer_id"].astype("int64"),
            "scored_on": run_date.isoformat(),
            "model_version_id": model_version_id,
            "probability": scores["probability"].map(repr),  # repr: the exact float, so a re-run compares equal
            "risk_band": scores["risk_band"],
            "aum": scores["aum"].map("{:.2f}".format),
            "expected_aum_at_risk": scores["expected_aum_at_risk"].map("{:.2f}".format),
            "reasons": [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in scores["reasons"]],
            "is_month_end": "t" if is_month_end else "f",
        })
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False)
        buffer.seek(0)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS churn_score_load (customer_id bigint, scored_on date, "
                "model_version_id bigint, probability double precision, risk_band varchar(8), aum numeric(18,2), "
                "expected_aum_at_risk numeric(18,2), reasons jsonb, is_month_end boolean) ON COMMIT DELETE ROWS"
            )
            cursor.copy_expert("COPY churn_score_load FROM STDIN WITH (FORMAT csv)", buffer)
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
    with the score's own model as of its date, then stored, so the next view is free."""
    if score.reasons:
        return score
    model = model_version_load(version=score.model_version)
    frames = selectors.bank_frames_for_customers(
        first_id=score.customer_id, last_id=score.customer_id, as_of=score.scored_on, only_active=False,
    )
    features = build_features(frames, as_of=score.scored_on, tier_floors=conf.tier_floors())
    if features.empty or not bool(features["has_current_month"].iloc[0]):
        return score
    contributions, _ = model.contributions(features)
    score.reasons = reasons_from_contributions(features, contributions, model.features)[0]
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
