"""What a night leaves behind, to compare a faulted-then-rerun night with a clean one."""

from __future__ import annotations

import hashlib
import time
from datetime import date

from churn.models import ChurnScore, ModelDrift, ModelPerformance, ModelWarning, NightlyRun
from retention.models import Case, CaseEvent, Signal, Task


def night_snapshot(*, run_date: date) -> dict:
    """Row counts and a checksum of the night's scores, cases, signals, tasks and events: everything
    but primary keys and clock times, which differ between two equal nights."""
    scores = list(ChurnScore.objects.filter(scored_on=run_date).order_by("customer_id").values_list(
        "customer_id", "model_version_id", "probability", "risk_band", "aum", "expected_aum_at_risk", "reasons",
        "is_month_end"))
    cases = sorted(Case.objects.values_list(
        "customer_id", "kind", "leading_kind", "playbook_id", "owner_id", "status", "opened_on", "last_signal_on",
        "probability", "aum_at_risk", "expected_aum_at_risk", "priority", "is_control", "control_draw", "rank",
        "in_budget", "urgent", "outcome"), key=repr)
    signals = sorted(Signal.objects.values_list(
        "customer_id", "kind", "is_active", "first_seen_on", "last_seen_on", "seen_count", "event_on", "priority",
        "clear_reason"), key=repr)
    tasks = sorted(Task.objects.values_list(
        "case__customer_id", "signal__kind", "order", "owner_id", "channel", "due_on", "status"), key=repr)
    events = sorted(CaseEvent.objects.values_list("case__customer_id", "action", "to_status", "note"), key=repr)

    def checksum(rows: list) -> str:
        return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]

    return {
        "scores": len(scores), "cases": len(cases), "signals": len(signals), "tasks": len(tasks),
        "events": len(events), "scores_sha": checksum(scores), "cases_sha": checksum(cases),
        "signals_sha": checksum(signals), "tasks_sha": checksum(tasks), "events_sha": checksum(events),
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
    """Remove what the night wrote (its run, stages, chunks, scores, and every case), so the
    same date can be run again from scratch on the same bank."""
    CaseEvent.objects.all().delete()
    Task.objects.all().delete()
    Signal.objects.all().delete()
    Case.objects.all().delete()
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
    """The playbooks come from data migrations; a transactional test (every worker test)
    empties every table afterwards, so put them back the same way."""
    from tests.retention.factories import playbooks_ensure as ensure

    ensure()
