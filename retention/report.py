"""Did the playbooks keep customers? Shown vs held-out cases, per playbook and per branch.

The comparison is intention to treat: **shown** means every case of a customer not held
out, whether or not anyone acted on it, because the held-out customers were drawn (per
customer and period, ``retention.control``) before anyone could choose. The effect is
estimated on shown vs held out. **Worked** (at least one task done or a contact logged)
is reported beside it, never instead of it: comparing only the cases someone acted on
would flatter the playbooks (staff pick the customers easiest to keep), so the worked
figures describe the work, they measure nothing.

A case counts for the playbook of its leading signal (``Case.playbook``) and for its
branch (``Case.branch``), once its outcome is measured at the end of its churn window.

Statistics, 95% two-sided:
- retention rate: difference of two proportions, Newcombe's hybrid score interval (from
  the two Wilson intervals; it stays inside [-1, 1] and does not collapse to a point
  when a small group is all retained or all lost, as the plain normal interval does);
- AUM kept per case: difference of means with Welch's standard error (unequal
  variances) and the normal critical value 1.96. AUM is heavily skewed, so with small
  groups this interval is optimistic; the report gives the group sizes so a reader can
  judge.
An effect is claimed only when the interval excludes zero.

Sums are taken in the database (one grouped query per playbook and branch: counts, sums
and sums of squares), never row by row in Python, so the report costs the same at a
million cases; the rows per playbook and per branch are sums of the same cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, ExpressionWrapper, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from customers.models import Branch
from retention.models import Case, Outcome, Playbook, _in_active_language

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def wilson_interval(*, successes: int, n: int) -> tuple[float, float]:
    """Wilson's 95% score interval for a proportion (n > 0)."""
    p = successes / n
    z2 = Z_95 * Z_95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def proportion_difference_ci(*, successes_a: int, n_a: int, successes_b: int, n_b: int) -> Interval | None:
    """p_a - p_b with Newcombe's 95% hybrid score interval; None if a group is empty."""
    if n_a == 0 or n_b == 0:
        return None
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson_interval(successes=successes_a, n=n_a)
    low_b, high_b = wilson_interval(successes=successes_b, n=n_b)
    diff = p_a - p_b
    low = diff - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)
    high = diff + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)
    return Interval(diff, low, high)


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, var


def welch_interval(*, mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int) -> Interval | None:
    """mean_a - mean_b, Welch standard error, 95% normal interval; None below two per group."""
    if n_a < 2 or n_b < 2:
        return None
    se = math.sqrt(var_a / n_a + var_b / n_b)
    diff = mean_a - mean_b
    return Interval(diff, diff - Z_95 * se, diff + Z_95 * se)


def mean_difference_ci(*, values_a: Sequence[float], values_b: Sequence[float]) -> Interval | None:
    """mean(a) - mean(b), Welch standard error, 95% normal interval; None below two per group."""
    if len(values_a) < 2 or len(values_b) < 2:
        return None
    mean_a, var_a = _mean_var(values_a)
    mean_b, var_b = _mean_var(values_b)
    return welch_interval(mean_a=mean_a, var_a=var_a, n_a=len(values_a), mean_b=mean_b, var_b=var_b, n_b=len(values_b))


@dataclass
class GroupStats:
    """Measured cases of one group: how many, how many retained, the AUM they kept."""

    n: int = 0
    retained: int = 0
    aum_kept_total: float = 0.0
    aum_kept_sum_of_squares: float = 0.0

    def add(self, *, n: int, retained: int, kept: Decimal | float, kept_squared: Decimal | float) -> None:
        self.n += n
        self.retained += retained
        self.aum_kept_total += float(kept)
        self.aum_kept_sum_of_squares += float(kept_squared)

    def merge(self, other: GroupStats) -> None:
        self.add(n=other.n, retained=other.retained, kept=other.aum_kept_total,
                 kept_squared=other.aum_kept_sum_of_squares)

    @property
    def lost(self) -> int:
        return self.n - self.retained

    @property
    def retention_rate(self) -> float | None:
        return self.retained / self.n if self.n else None

    @property
    def aum_kept_mean(self) -> float | None:
        return self.aum_kept_total / self.n if self.n else None

    @property
    def aum_kept_variance(self) -> float:
        if self.n < 2:
            return 0.0
        mean = self.aum_kept_total / self.n
        return max((self.aum_kept_sum_of_squares - self.n * mean * mean) / (self.n - 1), 0.0)


@dataclass
class ReportRow:
    key: str
    label: str
    # Intention to treat: every measured case of a customer not held out.
    shown: GroupStats
    # Of the shown cases, those someone worked (descriptive only: not the comparison).
    worked: GroupStats
    held_out: GroupStats
    # Shown minus held out.
    retention_difference: Interval | None
    aum_kept_difference: Interval | None

    @property
    def retention_effect(self) -> bool:
        return bool(self.retention_difference and self.retention_difference.excludes_zero)

    @property
    def aum_effect(self) -> bool:
        return bool(self.aum_kept_difference and self.aum_kept_difference.excludes_zero)

    @property
    def verdict(self) -> str:
        if self.retention_difference is None:
            return _("not enough data")
        if not self.retention_effect:
            return _("no measurable effect")
        if self.retention_difference.estimate > 0:
            return _("shown customers kept more than held-out ones")
        return _("shown customers kept fewer than held-out ones")


def measured_cases() -> QuerySet[Case]:
    """Every case with a measured outcome, shown and held out (the command's and tests' default)."""
    return Case.objects.filter(outcome__in=Outcome.values)


GROUPINGS = ("playbook", "branch")


@dataclass
class _Cell:
    shown: GroupStats
    worked: GroupStats
    held_out: GroupStats


def _stats_by_playbook_and_branch(cases: QuerySet[Case]) -> tuple[dict[tuple[str, str], _Cell], dict[str, str],
                                                                      dict[str, str]]:
    """Sums per (playbook key, branch code), shown / worked / held out, from one grouped query
    (no join: the labels of the few playbooks and branches met come after, two small queries)."""
    # Sums in double precision: numeric arithmetic over a branch's history costs several
    # times more, and a sum of squares of amounts below 10^12 loses nothing that matters to a
    # variance at that precision.
    kept = Coalesce(Cast("aum_kept", FloatField()), Value(0.0), output_field=FloatField())
    kept_squared = ExpressionWrapper(kept * kept, output_field=FloatField())
    retained = Q(outcome=Outcome.RETAINED)
    worked = Q(worked_at__isnull=False)
    rows = list(
        cases.filter(outcome__in=Outcome.values)
        .values("playbook_id", "branch_id", "is_control")
        .annotate(
            n=Count("pk"),
            retained=Count("pk", filter=retained),
            kept=Coalesce(Sum(kept), Value(0.0), output_field=FloatField()),
            kept_squared=Coalesce(Sum(kept_squared), Value(0.0), output_field=FloatField()),
            worked_n=Count("pk", filter=worked),
            worked_retained=Count("pk", filter=worked & retained),
            worked_kept=Coalesce(Sum(kept, filter=worked), Value(0.0), output_field=FloatField()),
            worked_kept_squared=Coalesce(Sum(kept_squared, filter=worked), Value(0.0),
                                         output_field=FloatField()),
        )
        .order_by()
    )
    return _cells_from_rows(rows)


def _cells_from_rows(rows: list[dict]) -> tuple[dict[tuple[str, str], _Cell], dict[str, str], dict[str, str]]:
    """The cells of the report from grouped sums (one dict per playbook id, branch id and held
    out: ``n``, ``retained``, ``kept``, ``kept_squared`` and the ``worked_`` ones), however
    many rows a cell has, and the labels of the playbooks and branches met (two queries)."""
    playbook_rows = Playbook.objects.filter(pk__in={r["playbook_id"] for r in rows}).values_list(
        "pk", "key", "name_zh", "name_en")
    playbook_keys = {pk: key for pk, key, _zh, _en in playbook_rows}
    playbook_labels = {key: _in_active_language(zh, en) for _pk, key, zh, en in playbook_rows}
    branch_rows = Branch.objects.filter(pk__in={r["branch_id"] for r in rows}).values_list("pk", "code", "name")
    branch_codes = {pk: code for pk, code, _name in branch_rows}
    branch_labels = {code: name for _pk, code, name in branch_rows}
    cells: dict[tuple[str, str], _Cell] = {}
    for row in rows:
        playbook, branch = playbook_keys[row["playbook_id"]], branch_codes[row["branch_id"]]
        cell = cells.setdefault((playbook, branch), _Cell(GroupStats(), GroupStats(), GroupStats()))
        (cell.held_out if row["is_control"] else cell.shown).add(
            n=row["n"], retained=row["retained"], kept=row["kept"], kept_squared=row["kept_squared"])
        if not row["is_control"]:
            # A held-out case has no tasks and is never worked; were one marked so, it
            # still counts as held out (where it was drawn), and not as work.
            cell.worked.add(n=row["worked_n"], retained=row["worked_retained"], kept=row["worked_kept"],
                            kept_squared=row["worked_kept_squared"])
    return cells, playbook_labels, branch_labels


def _row(key: str, label: str, cells: list[_Cell]) -> ReportRow:
    shown, worked, held_out = GroupStats(), GroupStats(), GroupStats()
    for cell in cells:
        shown.merge(cell.shown)
        worked.merge(cell.worked)
        held_out.merge(cell.held_out)
    return ReportRow(
        key=key,
        label=label,
        shown=shown,
        worked=worked,
        held_out=held_out,
        retention_difference=proportion_difference_ci(
            successes_a=shown.retained, n_a=shown.n, successes_b=held_out.retained, n_b=held_out.n),
        aum_kept_difference=welch_interval(
            mean_a=shown.aum_kept_mean or 0.0, var_a=shown.aum_kept_variance, n_a=shown.n,
            mean_b=held_out.aum_kept_mean or 0.0, var_b=held_out.aum_kept_variance, n_b=held_out.n),
    )


def retention_reports(*, cases: QuerySet[Case] | None = None) -> dict[str, list[ReportRow]]:
    """``{"playbook": rows, "branch": rows}``: one row per playbook of the leading signal and one
    per branch, over the measured cases among ``cases`` (default: all). One grouped query (and
    the labels): both are sums of the same (playbook, branch) cells, so they add up to the same
    totals."""
    return _reports(*_stats_by_playbook_and_branch(cases if cases is not None else measured_cases()))


def retention_reports_from_sums(*, rows: list[dict]) -> dict[str, list[ReportRow]]:
    """The same reports from sums taken ahead (``retention.summary``'s month rows, each a dict
    with ``playbook_id``, ``branch_id``, ``is_control`` and the sums): the labels, two queries."""
    return _reports(*_cells_from_rows(rows))


def _reports(cells: dict[tuple[str, str], _Cell], playbooks: dict[str, str],
             branches: dict[str, str]) -> dict[str, list[ReportRow]]:
    return {
        "playbook": [_row(key, playbooks[key], [c for (p, _b), c in cells.items() if p == key])
                     for key in sorted(playbooks)],
        "branch": [_row(key, branches[key], [c for (_p, b), c in cells.items() if b == key])
                   for key in sorted(branches)],
    }


def retention_report(*, group_by: str, cases: QuerySet[Case] | None = None) -> list[ReportRow]:
    """One row per playbook of the leading signal (``group_by="playbook"``) or per branch
    (``"branch"``), over the measured cases among ``cases`` (default: all). One query."""
    if group_by not in GROUPINGS:
        raise ValueError("group_by must be 'playbook' or 'branch'")
    return retention_reports(cases=cases)[group_by]
