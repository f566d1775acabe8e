"""Every figure of the branch dashboard, from selectors that take the month.

Three groups of cases, each named by the date that puts a case in it, so that a
figure says exactly what it counts and the month changes every one of them:

- **opened in the month** (``opened_on``): opened ≥ shown ≥ worked. *Shown* are the
  cases of customers not held out (the intention-to-treat group); *worked* the shown
  ones someone acted on (a task done or a contact logged: ``worked_at``, so far).
- **churn window ended in the month** (``window_ends_on``): the outcome measured at
  the window's end; retained + lost = measured ≤ cases (a window that ended today is
  measured after the night).
- **open on the as-of day** (the month's last day, today for the current month):
  opened by then and not closed by then, shown cases only (the workload staff had).

The expected AUM at risk is the model's, over every scored customer, from the month's
last nightly scores (month-end scores are kept for good): the risk bands split that
same sum, so the bands add up to the headline by construction.

Per owner: the staff who own shown cases with a figure in the month (the customer's
RM, or the head / lobby manager taking an unassigned customer's work); each column of
the table is a column of the same grouped query as the tile above it, so the rows add
up to the tiles. Held-out cases are counted (opened, held out, outcomes) but never
listed, nor split by the staff who would have worked them.

Counted from the cases (``branch_dashboard_from_cases``: the reference, and the dashboard
of a user with no summary rows): the score date, the bands, cases opened, windows ended,
cases open, the owners' names, the report and its labels: nine queries, each one aggregate
over the branch's cases (``dashboard_cases``: by ``Case.branch``) or, for the bands, over
the night's scores of the customers in ``customer_scope``.

The figures are summed ahead (``retention.summary``): a row per (branch, month, owner)
with the counts above, a row per (branch, window month, playbook, held out) with the report's
sums, and per (night, branch, risk band) the customers and the expected AUM at risk; the
nightly job rewrites them and the staff actions that change a figure rewrite their rows. A
head's or an analyst's dashboard reads a few hundred of those rows, whatever the size of the
bank; only the month under way reads its churn windows from the cases (one month of one
branch, by index), since a window that ends later this month has not ended yet.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from churn.models import ChurnScore, RiskBand
from core.months import add_months, month_end, month_start
from customers.models import User
from customers.permissions import user_can_read_branch_figures, user_can_use_model_pages
from customers.selectors import customer_scope
from retention.models import OPEN_STATUSES, Case, CaseMonthSummary, Outcome, OutcomeMonthSummary, RiskBandSummary
from retention.report import ReportRow, retention_reports, retention_reports_from_sums
from retention.summary import outcome_month_rows

ZERO = Decimal("0")
REPORT_MONTHS = 12
_MONEY: DecimalField = DecimalField(max_digits=20, decimal_places=2)


# The months a dashboard can show: the import accepts dates from 1900 on, and month arithmetic
# (the six-month trend) must never step outside what a date can hold. The page's form and the
# API refuse an earlier month with a message.
EARLIEST_MONTH = dt.date(1900, 1, 1)


def dashboard_month(*, requested: dt.date | None, today: dt.date) -> dt.date:
    """The month a dashboard shows: the one asked for (default this month), never a later one."""
    this_month = month_start(today)
    return min(month_start(requested or this_month), this_month)


def dashboard_as_of(*, month: dt.date, today: dt.date) -> dt.date:
    """The day the month's "open" figures and scores are read on: its last day, or today
    for the month under way."""
    return min(month_end(month), today)


def dashboard_cases(*, user: User) -> QuerySet[Case]:
    """The cases whose figures ``user`` may sum, held-out ones included (counted, never listed).

    A branch head's are the cases of the branch: raised while the customer was the branch's
    (``Case.branch``, kept by the nightly job), so a case worked here stays in this branch's
    figures after the customer moves, and each aggregate reads the branch's rows by index
    instead of joining the branch's tens of thousands of customers. Whoever may sum the whole
    bank (``customer_scope(aggregate=True)`` unfiltered: analysts, administrators) gets every
    case; anyone else (who cannot open the dashboard) the cases of the customers in scope."""
    if user_can_use_model_pages(user):
        return Case.objects.all()
    if user_can_read_branch_figures(user):
        return Case.objects.filter(branch_id=user.branch_id) if user.branch_id else Case.objects.none()
    return Case.objects.filter(customer_id__in=customer_scope(user=user, aggregate=True).values("pk"))


# --- the figures ------------------------------------------------------------------------------


@dataclass
class OwnerFigures:
    """A member of staff's shown cases in the month; also the month's totals (``owner_id`` None)."""

    owner_id: int | None = None
    name: str = ""
    role: str = ""
    role_label: str = ""
    # Shown cases open on the as-of day.
    open_cases: int = 0
    # Cases opened in the month: shown, of which worked.
    shown: int = 0
    worked: int = 0
    # Shown cases whose churn window ended in the month, and their measured outcomes.
    windows_ended: int = 0
    measured: int = 0
    retained: int = 0
    lost: int = 0
    aum_kept: Decimal = ZERO  # AUM kept by the retained customers (capped at window start)
    aum_lost: Decimal = ZERO  # AUM that left with the lost customers (window start - end)

    def add(self, other: OwnerFigures) -> None:
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def has_figures(self) -> bool:
        return any(getattr(self, name) for name in SUMMED)


SUMMED = tuple(f.name for f in fields(OwnerFigures) if f.name not in ("owner_id", "name", "role", "role_label"))


@dataclass
class MonthTotals(OwnerFigures):
    """The tiles: the owners' columns summed, and the figures of held-out cases beside them."""

    # Cases opened in the month, held-out ones included: opened = held_out + shown.
    opened: int = 0
    held_out: int = 0
    # Held-out cases whose churn window ended in the month.
    held_out_windows_ended: int = 0
    held_out_measured: int = 0
    held_out_retained: int = 0
    held_out_lost: int = 0


@dataclass
class BandFigures:
    band: str
    customers: int
    expected_aum_at_risk: Decimal


@dataclass
class RiskFigures:
    """The model's expected AUM at risk over the scored customers, from one night's scores."""

    scored_on: dt.date | None
    bands: list[BandFigures]

    @property
    def expected_aum_at_risk(self) -> Decimal:
        return sum((b.expected_aum_at_risk for b in self.bands), ZERO)

    @property
    def customers(self) -> int:
        return sum(b.customers for b in self.bands)


@dataclass
class TrendPoint:
    month: dt.date
    totals: MonthTotals


@dataclass
class Dashboard:
    month: dt.date
    as_of: dt.date
    totals: MonthTotals
    per_owner: list[OwnerFigures]
    risk: RiskFigures
    trend: list[TrendPoint]
    # Shown vs held out over the cases whose churn window ended from ``report_from`` to ``as_of``.
    report_from: dt.date | None = None
    report_by_playbook: list[ReportRow] = field(default_factory=list)
    report_by_branch: list[ReportRow] = field(default_factory=list)


# --- the selectors ----------------------------------------------------------------------------


def expected_aum_at_risk_by_band(*, user: User, month: dt.date, today: dt.date) -> RiskFigures:
    """The last nightly scores of ``month`` (up to today) over the user's customers, one entry
    per risk band (every band, highest first; 0 where none). No scores that month: no date and
    zeros. Two queries."""
    as_of = dashboard_as_of(month=month, today=today)
    scored_on = ChurnScore.objects.filter(scored_on__gte=month_start(month), scored_on__lte=as_of).aggregate(
        day=Max("scored_on"))["day"]
    rows: dict[str, tuple[int, Decimal]] = {}
    if scored_on is not None:
        scores = ChurnScore.objects.filter(
            scored_on=scored_on, customer_id__in=customer_scope(user=user, aggregate=True).values("pk"))
        for band, customers, total in (scores.values_list("risk_band").annotate(
                customers=Count("pk"), total=Coalesce(Sum("expected_aum_at_risk"), Value(ZERO), output_field=_MONEY))
                .order_by()):
            rows[band] = (customers, total)
    bands = []
    for band in RiskBand.values:
        customers, total = rows.get(band, (0, ZERO))
        bands.append(BandFigures(band=band, customers=customers, expected_aum_at_risk=total))
    return RiskFigures(scored_on=scored_on, bands=bands)


def _opened_by_month(cases: QuerySet[Case], first: dt.date, after: dt.date) -> list[dict]:
    return list(
        cases.filter(opened_on__gte=first, opened_on__lt=after)
        .annotate(month=TruncMonth("opened_on"))
        .values("month", "owner_id")
        .annotate(
            opened=Count("pk"),
            held_out=Count("pk", filter=Q(is_control=True)),
            shown=Count("pk", filter=Q(is_control=False)),
            worked=Count("pk", filter=Q(is_control=False, worked_at__isnull=False)),
        )
        .order_by()
    )


def _windows_by_month(cases: QuerySet[Case], first: dt.date, after: dt.date) -> list[dict]:
    shown, held = Q(is_control=False), Q(is_control=True)
    retained, lost = Q(outcome=Outcome.RETAINED), Q(outcome=Outcome.LOST)
    measured = Q(outcome__in=Outcome.values)
    left = ExpressionWrapper(Coalesce("aum_at_window_start", Value(ZERO)) - Coalesce("aum_kept", Value(ZERO)),
                             output_field=_MONEY)
    return list(
        cases.filter(window_ends_on__gte=first, window_ends_on__lt=after)
        .annotate(month=TruncMonth("window_ends_on"))
        .values("month", "owner_id")
        .annotate(
            windows_ended=Count("pk", filter=shown),
            measured=Count("pk", filter=shown & measured),
            retained=Count("pk", filter=shown & retained),
            lost=Count("pk", filter=shown & lost),
            # Not named after the fields: an annotation would shadow the field ``left`` reads.
            kept_total=Coalesce(Sum("aum_kept", filter=shown & retained), Value(ZERO), output_field=_MONEY),
            left_total=Coalesce(Sum(left, filter=shown & lost), Value(ZERO), output_field=_MONEY),
            held_out_windows_ended=Count("pk", filter=held),
            held_out_measured=Count("pk", filter=held & measured),
            held_out_retained=Count("pk", filter=held & retained),
            held_out_lost=Count("pk", filter=held & lost),
        )
        .order_by()
    )


def open_cases_on(*, cases: QuerySet[Case], day: dt.date) -> dict[int, int]:
    """Shown cases open at the end of ``day``, per owner: opened by then, and still open or
    closed after it. One query."""
    next_midnight = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
    still_open = Q(status__in=OPEN_STATUSES) | Q(closed_at__gte=next_midnight)
    return dict(
        cases.filter(still_open, is_control=False, opened_on__lte=day)
        .values_list("owner_id").annotate(n=Count("pk")).order_by()
    )


def _month_key(value: dt.date | dt.datetime) -> dt.date:
    # TruncMonth on a DateField gives a date; some backends give a datetime.
    return month_start(value.date() if isinstance(value, dt.datetime) else value)


def summary_branch(*, user: User) -> int | None | bool:
    """Which summary rows are the user's figures: every branch's (None: analysts and
    administrators), one branch's (a head's, its id), or none (False: anyone else, whose
    figures are counted from the cases in their scope)."""
    if user_can_use_model_pages(user):
        return None
    if user_can_read_branch_figures(user) and user.branch_id:
        return user.branch_id
    return False


def branch_dashboard(*, user: User, month: dt.date, today: dt.date, trend_months: int = 6) -> Dashboard:
    """Every figure of the dashboard for ``month`` (the tiles, the per-owner table, the risk
    bands, the trend of the ``trend_months`` months ending with it, and the shown vs held-out
    report), over the cases ``user`` may sum: from the summary tables for a head (the branch's
    rows) and for analysts and administrators (every branch's), else counted from the cases.
    A fixed number of queries: seven for a past month, nine for the month under way (its
    windows and report read live), whatever the size of the branch."""
    branch = summary_branch(user=user)
    if branch is False:
        return branch_dashboard_from_cases(user=user, month=month, today=today, trend_months=trend_months)
    return _dashboard_from_summary(user=user, branch_id=branch if isinstance(branch, int) else None,
                                   month=month, today=today, trend_months=trend_months)


def branch_dashboard_from_cases(*, user: User, month: dt.date, today: dt.date, trend_months: int = 6) -> Dashboard:
    """The dashboard counted from the cases themselves (what the summary tables hold, recounted):
    for the users who have no summary rows, and the reference the summaries are tested against.
    A fixed number of queries (nine)."""
    month = month_start(month)
    as_of = dashboard_as_of(month=month, today=today)
    first = add_months(month, -(trend_months - 1))
    after = add_months(month, 1)
    cases = dashboard_cases(user=user)

    by_month: dict[dt.date, dict[int, OwnerFigures]] = defaultdict(dict)
    totals: dict[dt.date, MonthTotals] = {add_months(first, i): MonthTotals() for i in range(trend_months)}

    def owner(m: dt.date, owner_id: int) -> OwnerFigures:
        return by_month[m].setdefault(owner_id, OwnerFigures(owner_id=owner_id))

    for opened in _opened_by_month(cases, first, after):
        m = _month_key(opened["month"])
        figures = owner(m, opened["owner_id"])
        figures.shown += opened["shown"]
        figures.worked += opened["worked"]
        totals[m].opened += opened["opened"]
        totals[m].held_out += opened["held_out"]
    # A churn window has ended once its last day has passed: in the current month, only the
    # windows ended before the as-of day count (the rest end later this month).
    ended_before = after if as_of >= month_end(month) else as_of
    for ended in _windows_by_month(cases, first, ended_before):
        m = _month_key(ended["month"])
        figures = owner(m, ended["owner_id"])
        for name in ("windows_ended", "measured", "retained", "lost"):
            setattr(figures, name, getattr(figures, name) + ended[name])
        figures.aum_kept += ended["kept_total"]
        figures.aum_lost += ended["left_total"]
        for name in ("held_out_windows_ended", "held_out_measured", "held_out_retained", "held_out_lost"):
            setattr(totals[m], name, getattr(totals[m], name) + ended[name])
    # Open cases: on the month's as-of day only (a count per past month-end would be one
    # query a month; the trend shows the flows, not the stock).
    for owner_id, n in open_cases_on(cases=cases, day=as_of).items():
        owner(month, owner_id).open_cases = n

    for m, owners in by_month.items():
        for figures in owners.values():
            totals[m].add(figures)

    # Only staff with a figure: owning held-out cases alone, or none this month, is no row.
    with_figures = {pk: figures for pk, figures in by_month.get(month, {}).items() if figures.has_figures}
    for member in User.objects.filter(pk__in=list(with_figures)).only("pk", "username", "display_name", "role"):
        row = with_figures[member.pk]
        row.name, row.role = member.display_name or member.username, member.role
        row.role_label = member.get_role_display()
    rows = sorted(with_figures.values(), key=lambda r: (r.name, r.owner_id or 0))

    # The report: the windows that ended in the twelve months to the as-of day (a year of
    # outcomes, and a bounded read whatever the length of the branch's history).
    report_from = add_months(month, -(REPORT_MONTHS - 1))
    reports = retention_reports(cases=cases.filter(
        outcome__in=Outcome.values, window_ends_on__gte=report_from, window_ends_on__lte=as_of))
    return Dashboard(
        month=month,
        as_of=as_of,
        totals=totals[month],
        per_owner=rows,
        risk=expected_aum_at_risk_by_band(user=user, month=month, today=today),
        trend=[TrendPoint(month=m, totals=totals[m]) for m in sorted(totals)],
        report_from=report_from,
        report_by_playbook=reports["playbook"],
        report_by_branch=reports["branch"],
    )


# --- from the summary tables (``retention.summary``) -----------------------------------------------

_WINDOW_FIGURES = ("windows_ended", "measured", "retained", "lost")
_HELD_OUT_WINDOW_FIGURES = ("held_out_windows_ended", "held_out_measured", "held_out_retained", "held_out_lost")
_REPORT_SUMS = ("n", "retained", "kept", "kept_squared", "worked_n", "worked_retained", "worked_kept",
                "worked_kept_squared")


def _risk_from_summary(*, branch_id: int | None, month: dt.date, as_of: dt.date) -> RiskFigures:
    """The bands of the month's last night (up to ``as_of``) with a summary. One query."""
    rows = RiskBandSummary.objects.filter(scored_on__gte=month_start(month), scored_on__lte=as_of)
    if branch_id is not None:
        rows = rows.filter(branch_id=branch_id)
    last = rows.aggregate(day=Max("scored_on"))["day"]
    sums: dict[str, tuple[int, Decimal]] = {}
    if last is not None:
        for band, customers, total in (rows.filter(scored_on=last).values_list("risk_band")
                                       .annotate(n=Sum("customers"), total=Sum("expected_aum_at_risk"))
                                       .order_by()):
            sums[band] = (customers, total)
    bands = [BandFigures(band=band, customers=sums.get(band, (0, ZERO))[0],
                         expected_aum_at_risk=sums.get(band, (0, ZERO))[1]) for band in RiskBand.values]
    return RiskFigures(scored_on=last, bands=bands)


def _dashboard_from_summary(*, user: User, branch_id: int | None, month: dt.date, today: dt.date,
                            trend_months: int) -> Dashboard:
    month = month_start(month)
    as_of = dashboard_as_of(month=month, today=today)
    first = add_months(month, -(trend_months - 1))
    after = add_months(month, 1)
    under_way = as_of < month_end(month)
    report_from = add_months(month, -(REPORT_MONTHS - 1))

    def scoped(queryset):
        return queryset if branch_id is None else queryset.filter(branch_id=branch_id)

    by_month: dict[dt.date, dict[int, OwnerFigures]] = defaultdict(dict)
    totals: dict[dt.date, MonthTotals] = {add_months(first, i): MonthTotals() for i in range(trend_months)}

    def owner(m: dt.date, owner_id: int) -> OwnerFigures:
        return by_month[m].setdefault(owner_id, OwnerFigures(owner_id=owner_id))

    for row in scoped(CaseMonthSummary.objects.filter(month__gte=first, month__lt=after)).order_by():
        figures = owner(row.month, row.owner_id)
        figures.shown += row.shown
        figures.worked += row.worked
        totals[row.month].opened += row.opened
        totals[row.month].held_out += row.held_out
        if row.month == month:
            figures.open_cases += row.open_cases
        if under_way and row.month == month:
            continue  # the month's windows: read live below
        for name in _WINDOW_FIGURES:
            setattr(figures, name, getattr(figures, name) + getattr(row, name))
        figures.aum_kept += row.aum_kept
        figures.aum_lost += row.aum_lost
        for name in _HELD_OUT_WINDOW_FIGURES:
            setattr(totals[row.month], name, getattr(totals[row.month], name) + getattr(row, name))
    report_rows = [
        {"playbook_id": r["playbook_id"], "branch_id": r["branch_id"], "is_control": r["is_control"],
         **{name: r[name] for name in _REPORT_SUMS}}
        for r in scoped(OutcomeMonthSummary.objects.filter(
            month__gte=report_from, month__lt=month if under_way else after)).values(
            "playbook_id", "branch_id", "is_control", *_REPORT_SUMS).order_by()
    ]
    if under_way:
        # Only the windows ended before the as-of day have ended; the rest end later this month.
        cases = dashboard_cases(user=user)
        for ended in _windows_by_month(cases, month, as_of):
            figures = owner(month, ended["owner_id"])
            for name in _WINDOW_FIGURES:
                setattr(figures, name, getattr(figures, name) + ended[name])
            figures.aum_kept += ended["kept_total"]
            figures.aum_lost += ended["left_total"]
            for name in _HELD_OUT_WINDOW_FIGURES:
                setattr(totals[month], name, getattr(totals[month], name) + ended[name])
        report_rows += _live_report_rows(cases.filter(window_ends_on__gte=month, window_ends_on__lte=as_of))

    for m, owners in by_month.items():
        for figures in owners.values():
            totals[m].add(figures)
    with_figures = {pk: figures for pk, figures in by_month.get(month, {}).items() if figures.has_figures}
    for member in User.objects.filter(pk__in=list(with_figures)).only("pk", "username", "display_name", "role"):
        row = with_figures[member.pk]
        row.name, row.role = member.display_name or member.username, member.role
        row.role_label = member.get_role_display()
    rows = sorted(with_figures.values(), key=lambda r: (r.name, r.owner_id or 0))
    reports = retention_reports_from_sums(rows=report_rows)
    return Dashboard(
        month=month,
        as_of=as_of,
        totals=totals[month],
        per_owner=rows,
        risk=_risk_from_summary(branch_id=branch_id, month=month, as_of=as_of),
        trend=[TrendPoint(month=m, totals=totals[m]) for m in sorted(totals)],
        report_from=report_from,
        report_by_playbook=reports["playbook"],
        report_by_branch=reports["branch"],
    )


def _live_report_rows(cases: QuerySet[Case]) -> list[dict]:
    """The report's sums of the measured ``cases``, as the summary holds them. One query."""
    return [
        {"playbook_id": r.playbook_id, "branch_id": r.branch_id, "is_control": r.is_control,
         **{name: getattr(r, name) for name in _REPORT_SUMS}}
        for r in outcome_month_rows(cases=cases)
    ]
