"""What a night leaves behind, to compare a faulted-then-rerun night with a clean one."""

from __future__ import annotations

import hashlib
import importlib
import time
from datetime import date

from churn.models import ChurnScore, ModelDrift, ModelPerformance, ModelWarning, NightlyRun
from retention.models import Alert, AlertEvent, AlertStep


def night_snapshot(*, run_date: date) -> dict:
    """Row counts and a checksum of the night's scores, alerts, steps and events: everything
    but primary keys and clock times, which differ between two equal nights."""
    scores = list(ChurnScore.objects.filter(scored_on=run_date).order_by("customer_id").values_list(
        "customer_id", "model_version_id", "probability", "risk_band", "aum", "expected_aum_at_risk", "reasons",
        "is_month_end"))
    alerts = sorted(Alert.objects.values_list(
        "customer_id", "kind", "playbook_id", "owner_id", "status", "raised_on", "last_triggered_on", "probability",
        "aum_at_risk", "expected_aum_at_risk", "priority", "is_control", "control_draw", "rank", "in_budget",
        "trigger_count"), key=repr)
    steps = sorted(AlertStep.objects.values_list(
        "alert__customer_id", "alert__kind", "order", "owner_id", "channel", "due_on"), key=repr)
    events = sorted(AlertEvent.objects.values_list("alert__customer_id", "alert__kind", "action", "to_status"),
                    key=repr)

    def checksum(rows: list) -> str:
        return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]

    return {
        "scores": len(scores), "alerts": len(alerts), "steps": len(steps), "events": len(events),
        "scores_sha": checksum(scores), "alerts_sha": checksum(alerts), "steps_sha": checksum(steps),
        "events_sha": checksum(events),
    }


def monitoring_snapshot(*, run_date: date) -> dict:
    """What the night's monitoring stage wrote: the drift of ``run_date``, every realised-performance
    row and every warning, without primary keys or clock times."""
    drift = sorted(ModelDrift.objects.filter(run_date=run_date).values_list(
        "model_version_id", "score_psi", "features"), key=repr)
    performance = sorted(ModelPerformance.objects.values_list(
        "model_version_id", "month_end", "branch_id", "n", "positives", "roc_auc", "pr_auc", "brier"), key=repr)
    warnings = sorted(ModelWarning.objects.values_list("model_version_id", "kind", "subject", "level"), key=repr)
    return {"drift": len(drift), "performance": len(performance), "warnings": len(warnings),
            "sha": hashlib.sha256(repr([drift, performance, warnings]).encode()).hexdigest()[:16]}


def night_forget(*, run_date: date) -> None:
    """Remove what the night wrote (its run, stages, chunks, scores, and every alert), so the
    same date can be run again from scratch on the same bank."""
    AlertEvent.objects.all().delete()
    AlertStep.objects.all().delete()
    Alert.objects.all().delete()
    ChurnScore.objects.filter(scored_on=run_date).delete()
    NightlyRun.objects.filter(run_date=run_date).delete()


def wait_for(condition, *, timeout: float = 120, interval: float = 0.02, what: str = "condition"):
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def playbooks_ensure() -> None:
    """The playbooks come from a data migration; a transactional test (every worker test)
    empties every table afterwards, so put them back the same way."""
    from django.apps import apps

    importlib.import_module("retention.migrations.0002_playbooks").load_playbooks(apps, None)
