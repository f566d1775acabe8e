"""Priority: rank cases by expected value, not raw probability.

    expected value = probability x AUM at risk x save rate - contact cost

The save rate of a playbook is the share of cases whose outcome the playbook changes:
the retention rate of shown cases minus that of held-out ones, over the measured cases
whose leading signal has that playbook. Shown, not worked: the held-out customers were
drawn before anyone chose whom to call, so only the shown group is comparable with them
(the customers staff chose to work would flatter the playbook, see ``retention.report``).
Until a playbook has outcomes it is the configured prior; as outcomes accumulate the
observed uplift takes over, weighted by how much data backs it (a shrinkage estimate,
so one lucky month cannot send a playbook to the top).
"""

from __future__ import annotations

from django.db.models import Count, Q

from retention import conf
from retention.models import Case, Outcome, Playbook


def expected_value(*, probability: float, aum_at_risk: float, save_rate: float, contact_cost: float) -> float:
    return probability * aum_at_risk * save_rate - contact_cost


def save_rate_estimate(
    *, shown_n: int, shown_retained: int, control_n: int, control_retained: int, prior: float, prior_weight: int
) -> float:
    """Observed uplift (shown minus held-out retention), shrunk towards the prior, within [0, 1]."""
    if shown_n == 0 or control_n == 0:
        return prior
    uplift = shown_retained / shown_n - control_retained / control_n
    # Effective sample size of a difference of two proportions: dominated by the smaller group.
    effective_n = 1 / (1 / shown_n + 1 / control_n)
    estimate = (effective_n * uplift + prior_weight * prior) / (effective_n + prior_weight)
    return min(max(estimate, 0.0), 1.0)


def playbook_save_rates() -> dict[int, float]:
    """Save rate per playbook id, from every measured case, shown vs held out (two queries)."""
    counts: dict[int, dict[bool, tuple[int, int]]] = {}
    rows = (
        Case.objects.filter(outcome__in=Outcome.values)
        .values("playbook_id", "is_control")
        .annotate(n=Count("pk"), retained=Count("pk", filter=Q(outcome=Outcome.RETAINED)))
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["playbook_id"], {})[row["is_control"]] = (row["n"], row["retained"])
    weight = conf.save_rate_prior_weight()
    rates = {}
    for playbook in Playbook.objects.only("pk", "save_rate_prior"):
        prior = playbook.save_rate_prior if playbook.save_rate_prior is not None else conf.save_rate_prior()
        groups = counts.get(playbook.pk, {})
        shown_n, shown_retained = groups.get(False, (0, 0))
        control_n, control_retained = groups.get(True, (0, 0))
        rates[playbook.pk] = save_rate_estimate(
            shown_n=shown_n, shown_retained=shown_retained, control_n=control_n,
            control_retained=control_retained, prior=prior, prior_weight=weight,
        )
    return rates
