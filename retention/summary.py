"""The branch dashboard's figures summed ahead: per branch, month and owner (``CaseMonthSummary``),
per branch, month and playbook for the retention report (``OutcomeMonthSummary``), and per
night, branch and risk band for the scores (``RiskBandSummary``).

Written set-based: each table is a handful of grouped queries over the cases (or one night's
scores), and a few thousand summary rows written at once. The nightly job rewrites them all at
the end of its cases stage (``dashboard_summary_refresh``), after the outcomes are measured and
tonight's cases opened, cleared and reassigned; a staff action that changes a figure (a case
closed or dismissed, its first task done or its last one undone) rewrites the rows of the
case's branch and owner and the report's rows of its window month
(``dashboard_summary_refresh_for_case``), in the action's transaction, so the dashboard never
lags the cases. Both paths run the same code over fewer or more cases: a refresh after an
action equals a full recompute (tested).

What a summary row says is what ``retention.dashboard`` counted live from the cases: the
cases opened in the month (held out, shown, worked), the churn windows ended in the month
(shown and held out, with their outcomes and AUM), and the shown cases open at the end of the
month, which are the shown cases opened by then less those closed by then (a case leaves the
open statuses once, at ``closed_at``; one closed without a date counts as closed when it
opened). For the month under way the dashboard still reads the windows live (only those ended
before the as-of day have ended): one month of one branch, by index.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, TruncMonth

from churn.models import ChurnScore
from core.months import add_months, month_start
from retention.models import (
    OPEN_STATUSES,
    Case,
    CaseMonthSummary,
    Outcome,
    OutcomeMonthSummary,
    RiskBandSummary,
)

ZERO = Decimal("0")
BATCH = 2_000


def _month_of(value: dt.date | dt.datetime) -> dt.date:
    # TruncMonth gives a date on a DateField, a datetime (in the bank's time zone) on a DateTimeField.
    return month_start(value.date() if isinstance(value, dt.datetime) else value)


def _month(value: dt.date | dt.datetime | None) -> dt.date | None:
    return None if value is None else _month_of(value)


def _money() -> DecimalField:
    return DecimalField(max_digits=20, decimal_places=2)


# --- the rows, from the cases ------------------------------------------------------------------


def case_month_rows(*, cases: QuerySet[Case], today: dt.date) -> list[CaseMonthSummary]:
    """The ``CaseMonthSummary`` rows of ``cases`` (unsaved), every (branch, owner) among them
    from its first month to the month of ``today`` (or its last window month). Two queries."""
    shown = Q(is_control=False)
    opened = (
        cases.annotate(om=TruncMonth("opened_on"), cm=TruncMonth("closed_at"))
        .values("branch_id", "owner_id", "om", "cm")
        .annotate(
            opened=Count("pk"),
            held_out=Count("pk", filter=Q(is_control=True)),
            shown=Count("pk", filter=shown),
            worked=Count("pk", filter=shown & Q(worked_at__isnull=False)),
            shown_closed=Count("pk", filter=shown & ~Q(status__in=OPEN_STATUSES)),
        )
        .order_by()
    )
    held, retained, lost = Q(is_control=True), Q(outcome=Outcome.RETAINED), Q(outcome=Outcome.LOST)
    measured = Q(outcome__in=Outcome.values)
    left = ExpressionWrapper(Coalesce("aum_at_window_start", Value(ZERO)) - Coalesce("aum_kept", Value(ZERO)),
                             output_field=_money())
    windows = (
        cases.annotate(wm=TruncMonth("window_ends_on"))
        .values("branch_id", "owner_id", "wm")
        .annotate(
            windows_ended=Count("pk", filter=shown),
            measured=Count("pk", filter=shown & measured),
            retained=Count("pk", filter=shown & retained),
            lost=Count("pk", filter=shown & lost),
            kept_total=Coalesce(Sum("aum_kept", filter=shown & retained), Value(ZERO), output_field=_money()),
            left_total=Coalesce(Sum(left, filter=shown & lost), Value(ZERO), output_field=_money()),
            held_out_windows_ended=Count("pk", filter=held),
            held_out_measured=Count("pk", filter=held & measured),
            held_out_retained=Count("pk", filter=held & retained),
            held_out_lost=Count("pk", filter=held & lost),
        )
        .order_by()
    )
    rows: dict[tuple[int, int, dt.date], CaseMonthSummary] = {}

    def row(branch_id: int, owner_id: int, month: dt.date) -> CaseMonthSummary:
        key = (branch_id, owner_id, month)
        if key not in rows:
            rows[key] = CaseMonthSummary(branch_id=branch_id, owner_id=owner_id, month=month,
                                         aum_kept=ZERO, aum_lost=ZERO)
        return rows[key]

    for group in opened:
        opened_month = _month(group["om"])
        assert opened_month is not None
        target = row(group["branch_id"], group["owner_id"], opened_month)
        for name in ("opened", "held_out", "shown", "worked"):
            setattr(target, name, getattr(target, name) + group[name])
        if group["shown_closed"]:
            # Closed before it opened (or with no date): never open at a month's end.
            closed_month = max(opened_month, _month(group["cm"]) or opened_month)
            row(group["branch_id"], group["owner_id"], closed_month).shown_closed += group["shown_closed"]
    for group in windows:
        window_month = _month(group["wm"])
        assert window_month is not None
        target = row(group["branch_id"], group["owner_id"], window_month)
        for name in ("windows_ended", "measured", "retained", "lost", "held_out_windows_ended",
                     "held_out_measured", "held_out_retained", "held_out_lost"):
            setattr(target, name, getattr(target, name) + group[name])
        target.aum_kept += group["kept_total"]
        target.aum_lost += group["left_total"]

    # Open at each month's end: the shown cases opened by then less those closed by then.
    this_month = month_start(today)
    months_of: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
    for branch_id, owner_id, month in rows:
        months_of[(branch_id, owner_id)].append(month)
    for (branch_id, owner_id), months in months_of.items():
        month, last, open_now = min(months), max(this_month, max(months)), 0
        while month <= last:
            current = rows.get((branch_id, owner_id, month))
            if current is not None:
                open_now += current.shown - current.shown_closed
            if month <= this_month and open_now and current is None:
                current = row(branch_id, owner_id, month)
            if current is not None and month <= this_month:
                current.open_cases = open_now
            month = add_months(month, 1)
    return list(rows.values())


def outcome_month_rows(*, cases: QuerySet[Case]) -> list[OutcomeMonthSummary]:
    """The retention report's cells per (branch, window month, playbook, held out) of the
    measured ``cases`` (unsaved). One query: the sums of ``retention.report``."""
    kept = Coalesce(Cast("aum_kept", FloatField()), Value(0.0), output_field=FloatField())
    kept_squared = ExpressionWrapper(kept * kept, output_field=FloatField())
    retained = Q(outcome=Outcome.RETAINED)
    worked = Q(worked_at__isnull=False)
    groups = (
        cases.filter(outcome__in=Outcome.values)
        .annotate(wm=TruncMonth("window_ends_on"))
        .values("branch_id", "wm", "playbook_id", "is_control")
        .annotate(
            n=Count("pk"),
            retained_n=Count("pk", filter=retained),
            kept_sum=Coalesce(Sum(kept), Value(0.0), output_field=FloatField()),
            kept_squared_sum=Coalesce(Sum(kept_squared), Value(0.0), output_field=FloatField()),
            worked_count=Count("pk", filter=worked),
            worked_retained_n=Count("pk", filter=worked & retained),
            worked_kept_sum=Coalesce(Sum(kept, filter=worked), Value(0.0), output_field=FloatField()),
            worked_kept_squared_sum=Coalesce(Sum(kept_squared, filter=worked), Value(0.0),
                                             output_field=FloatField()),
        )
        .order_by()
    )
    return [
        OutcomeMonthSummary(
            branch_id=g["branch_id"], month=_month_of(g["wm"]), playbook_id=g["playbook_id"],
            is_control=g["is_control"],
            n=g["n"], retained=g["retained_n"], kept=g["kept_sum"], kept_squared=g["kept_squared_sum"],
            worked_n=g["worked_count"], worked_retained=g["worked_retained_n"], worked_kept=g["worked_kept_sum"],
            worked_kept_squared=g["worked_kept_squared_sum"],
        )
        for g in groups
    ]


def risk_band_rows(*, score_dates: Iterable[dt.date] | None) -> list[RiskBandSummary]:
    """Per (night, branch of the customer, risk band): the customers scored and their expected
    AUM at risk, for the nights ``score_dates`` (None: every night with scores). One query."""
    scores = ChurnScore.objects.all()
    if score_dates is not None:
        scores = scores.filter(scored_on__in=list(score_dates))
    groups = (
        scores.values("scored_on", "customer__branch_id", "risk_band")
        .annotate(customers=Count("pk"),
                  total=Coalesce(Sum("expected_aum_at_risk"), Value(ZERO), output_field=_money()))
        .order_by()
    )
    return [
        RiskBandSummary(scored_on=g["scored_on"], branch_id=g["customer__branch_id"], risk_band=g["risk_band"],
                        customers=g["customers"], expected_aum_at_risk=g["total"])
        for g in groups
    ]


# --- the refreshes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryCounts:
    case_rows: int
    outcome_rows: int
    band_rows: int


def dashboard_summary_refresh(*, today: dt.date, score_dates: Iterable[dt.date] | None = None) -> SummaryCounts:
    """Rewrite every summary from the cases (and the scores of ``score_dates``; None: every
    night with scores): the nightly job's refresh, at the end of its cases stage, and the
    ``dashboard_summary_refresh`` command's. One transaction."""
    dates = None if score_dates is None else sorted(set(score_dates))
    with transaction.atomic():
        case_rows = case_month_rows(cases=Case.objects.all(), today=today)
        outcome_rows = outcome_month_rows(cases=Case.objects.all())
        band_rows = risk_band_rows(score_dates=dates)
        CaseMonthSummary.objects.all().delete()
        CaseMonthSummary.objects.bulk_create(case_rows, batch_size=BATCH)
        OutcomeMonthSummary.objects.all().delete()
        OutcomeMonthSummary.objects.bulk_create(outcome_rows, batch_size=BATCH)
        bands = RiskBandSummary.objects.all() if dates is None else RiskBandSummary.objects.filter(scored_on__in=dates)
        bands.delete()
        RiskBandSummary.objects.bulk_create(band_rows, batch_size=BATCH)
    return SummaryCounts(case_rows=len(case_rows), outcome_rows=len(outcome_rows), band_rows=len(band_rows))


def dashboard_summary_refresh_for_case(*, case: Case, today: dt.date, previous_owner_id: int | None = None) -> None:
    """After a staff action on ``case`` (closed, dismissed, first worked or no longer worked,
    handed to another owner: give ``previous_owner_id``): rewrite the summary rows it is in,
    from the cases: those of its branch and owner(s) (every month: the open count runs on to
    today) and the report's rows of its branch and window month. Call inside the action's
    transaction. Six queries."""
    window_month = month_start(case.window_ends_on)
    owners = {case.owner_id} | ({previous_owner_id} if previous_owner_id else set())
    owner_cases = Case.objects.filter(branch_id=case.branch_id, owner_id__in=owners)
    window_cases = Case.objects.filter(branch_id=case.branch_id, window_ends_on__gte=window_month,
                                       window_ends_on__lt=add_months(window_month, 1))
    case_rows = case_month_rows(cases=owner_cases, today=today)
    outcome_rows = outcome_month_rows(cases=window_cases)
    CaseMonthSummary.objects.filter(branch_id=case.branch_id, owner_id__in=owners).delete()
    CaseMonthSummary.objects.bulk_create(case_rows, batch_size=BATCH)
    OutcomeMonthSummary.objects.filter(branch_id=case.branch_id, month=window_month).delete()
    OutcomeMonthSummary.objects.bulk_create(outcome_rows, batch_size=BATCH)
