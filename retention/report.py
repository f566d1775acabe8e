"""Did the playbooks keep customers? Worked vs held-out alerts, per playbook and per branch.

Comparison is intention-to-treat: "worked" means every alert shown to staff,
whether or not anyone acted on it, because the held-out group was drawn from
the same alerts before anyone could choose. Comparing only the alerts someone
acted on would flatter the playbooks (staff pick the easy customers).

Statistics, 95% two-sided:
- retention rate: difference of two proportions, normal approximation
  (unpooled standard error);
- AUM kept per alert: difference of means with Welch's standard error
  (unequal variances) and the normal critical value 1.96. AUM is heavily
  skewed, so with small groups this interval is optimistic; the report prints
  the group sizes so a reader can judge.
An effect is claimed only when the interval excludes zero.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from retention.models import Alert, Outcome, _in_active_language

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def proportion_difference_ci(*, successes_a: int, n_a: int, successes_b: int, n_b: int) -> Interval | None:
    """p_a - p_b with a normal-approximation 95% interval; None if a group is empty."""
    if n_a == 0 or n_b == 0:
        return None
    p_a, p_b = successes_a / n_a, successes_b / n_b
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    diff = p_a - p_b
    return Interval(diff, diff - Z_95 * se, diff + Z_95 * se)


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, var


def mean_difference_ci(*, values_a: Sequence[float], values_b: Sequence[float]) -> Interval | None:
    """mean(a) - mean(b), Welch standard error, 95% normal interval; None below two per group."""
    if len(values_a) < 2 or len(values_b) < 2:
        return None
    mean_a, var_a = _mean_var(values_a)
    mean_b, var_b = _mean_var(values_b)
    se = math.sqrt(var_a / len(values_a) + var_b / len(values_b))
    diff = mean_a - mean_b
    return Interval(diff, diff - Z_95 * se, diff + Z_95 * se)


@dataclass
class GroupStats:
    n: int = 0
    retained: int = 0
    aum_kept_values: list[float] = field(default_factory=list)

    @property
    def retention_rate(self) -> float | None:
        return self.retained / self.n if self.n else None

    @property
    def aum_kept_total(self) -> float:
        return sum(self.aum_kept_values)

    @property
    def aum_kept_mean(self) -> float | None:
        return self.aum_kept_total / self.n if self.n else None


@dataclass
class ReportRow:
    key: str
    label: str
    worked: GroupStats
    held_out: GroupStats
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
            return _("playbook keeps more customers")
        return _("worked alerts kept fewer customers")


def _measured_alerts() -> QuerySet[Alert]:
    return Alert.objects.filter(outcome__in=Outcome.values)


def retention_report(*, group_by: str, alerts: QuerySet[Alert] | None = None) -> list[ReportRow]:
    """One row per playbook (``group_by="playbook"``) or branch (``"branch"``),
    over alerts with a measured outcome. One query."""
    if group_by not in ("playbook", "branch"):
        raise ValueError("group_by must be 'playbook' or 'branch'")
    alerts = (alerts if alerts is not None else _measured_alerts()).filter(outcome__in=Outcome.values)
    if group_by == "playbook":
        fields = ("playbook__key", "playbook__name_zh", "playbook__name_en")
    else:
        fields = ("branch__code", "branch__name", "branch__name")
    rows = alerts.values_list(*fields, "is_control", "outcome", "aum_kept").order_by()
    groups: dict[str, dict[bool, GroupStats]] = defaultdict(
        lambda: {False: GroupStats(), True: GroupStats()}
    )
    labels: dict[str, str] = {}
    for key, label_zh, label_en, is_control, outcome, kept in rows:
        labels[key] = _in_active_language(label_zh, label_en)
        stats = groups[key][is_control]
        stats.n += 1
        stats.retained += outcome == Outcome.RETAINED
        stats.aum_kept_values.append(float(kept or Decimal(0)))
    report = []
    for key in sorted(groups):
        worked, held_out = groups[key][False], groups[key][True]
        report.append(
            ReportRow(
                key=key,
                label=labels[key],
                worked=worked,
                held_out=held_out,
                retention_difference=proportion_difference_ci(
                    successes_a=worked.retained, n_a=worked.n, successes_b=held_out.retained, n_b=held_out.n
                ),
                aum_kept_difference=mean_difference_ci(
                    values_a=worked.aum_kept_values, values_b=held_out.aum_kept_values
                ),
            )
        )
    return report
