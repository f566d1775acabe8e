"""Outcomes at the end of the churn window, measured per case, shown and held out alike.

Retained = not churned by the churn definition over the case's window
(``retention.outcomes``, which feeds ``churn.labels.build_labels``), lost otherwise;
AUM kept. A case still open when its window ends is closed with the measured outcome.
Every case is measured, whatever it became: a retention case whose customer left during
the window (it turned into a win-back case) is measured as lost, in the row of the
playbook it opened with; a case opened as win-back is measured in the win-back row.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.months import add_months
from customers.models import MonthlyBalance
from retention import conf
from retention.models import OPEN_STATUSES, Case, CaseEvent, CaseStatus, Outcome, Signal, Task, TaskStatus
from retention.outcomes import aum_kept, churned_by_customer

BATCH = 500
WINDOW_ENDED = gettext_noop("The churn window has ended.")


def case_outcomes_mark(*, as_of: dt.date) -> dict[str, int]:
    """Measure every retention case whose churn window ended before ``as_of`` and whose
    last window month is in the data. Works in batches grouped by window, one
    transaction per batch, so it can be stopped and rerun."""
    counts = {"retained": 0, "lost": 0, "not_measurable": 0, "waiting_for_data": 0}
    latest_month = MonthlyBalance.objects.aggregate(month=Max("month"))["month"]
    if latest_month is None:
        return counts
    window = conf.churn_window_months()
    pending = Case.objects.filter(outcome="", outcome_measured_on__isnull=True, window_ends_on__lt=as_of)
    anchors = sorted(set(pending.values_list("window_start_month", flat=True)))
    for anchor in anchors:
        if add_months(anchor, window) > latest_month:
            counts["waiting_for_data"] += pending.filter(window_start_month=anchor).count()
            continue
        ids = list(pending.filter(window_start_month=anchor).order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                batch = _mark_batch(case_ids=ids[start:start + BATCH], anchor=anchor, as_of=as_of)
            for key, value in batch.items():
                counts[key] += value
    return counts


def _mark_batch(*, case_ids: list[int], anchor: dt.date, as_of: dt.date) -> dict[str, int]:
    window = conf.churn_window_months()
    cases = list(Case.objects.select_for_update().filter(pk__in=case_ids, outcome="",
                                                         outcome_measured_on__isnull=True))
    customer_ids = {case.customer_id for case in cases}
    last_month = add_months(anchor, window)
    rows = list(
        MonthlyBalance.objects.filter(
            customer_id__in=customer_ids, month__gte=add_months(anchor, -(window - 1)), month__lte=last_month
        ).values_list("customer_id", "month", "aum", "status")
    )
    churned = churned_by_customer(rows=[(c, m, float(a), s) for c, m, a, s in rows], anchor_month=anchor)
    by_key = {(c, m): (a, s) for c, m, a, s in rows}
    counts = {"retained": 0, "lost": 0, "not_measurable": 0}
    now = timezone.now()
    events, closed = [], []
    for case in cases:
        case.outcome_measured_on = as_of
        if case.customer_id not in churned:
            # No active row at the anchor month: the churn definition has nothing to say.
            counts["not_measurable"] += 1
            continue
        start = by_key.get((case.customer_id, anchor))
        end = by_key.get((case.customer_id, last_month))
        case.outcome = Outcome.LOST if churned[case.customer_id] else Outcome.RETAINED
        case.aum_at_window_start = start[0] if start else None
        case.aum_kept = aum_kept(start_aum=start[0] if start else None, end_aum=end[0] if end else None,
                                 end_closed=end is None or end[1] == "closed")
        counts[case.outcome] += 1
        data = {"outcome": case.outcome, "aum_kept": str(case.aum_kept)}
        to_status = case.status
        if case.status in OPEN_STATUSES:
            to_status = CaseStatus.CLOSED_RETAINED if case.outcome == Outcome.RETAINED else CaseStatus.CLOSED_LOST
            case.closed_at, case.close_reason, case.rank, case.in_budget = now, WINDOW_ENDED, None, False
            closed.append(case.pk)
        events.append(CaseEvent(case=case, action=CaseEvent.Action.OUTCOME_MEASURED, from_status=case.status,
                                to_status=to_status, note=WINDOW_ENDED if to_status != case.status else "",
                                data=data))
        case.status = to_status
    Case.objects.bulk_update(cases, ["outcome", "outcome_measured_on", "aum_at_window_start", "aum_kept", "status",
                                     "closed_at", "close_reason", "rank", "in_budget"], batch_size=BATCH)
    if closed:
        case_work_end(case_ids=closed, on=as_of, reason=WINDOW_ENDED)
    CaseEvent.objects.bulk_create(events, batch_size=BATCH)
    return counts


def case_work_end(*, case_ids: list[int], on: dt.date, reason: str) -> None:
    """What closing a case does to its parts: its active signals end (so a later signal of the
    kind opens a new case) and its open tasks are cancelled. Called by every way a case closes."""
    Signal.objects.filter(case_id__in=case_ids, is_active=True).update(is_active=False, cleared_on=on,
                                                                       clear_reason=reason)
    Task.objects.filter(case_id__in=case_ids, status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
