"""Alert rules: each reads the bank's data as of a run date and says which
customers should have an alert of its kind today.

A rule only *finds* triggers; ``services.alerts_raise_for_date`` turns them
into alerts. That split keeps the rules read-only and testable one by one, and
makes "the condition cleared" simply "the rule no longer returns the customer".

Point-in-time: a monthly balance row describes a finished month, so on a run
date only months *before* the run date's month are known. Using the current
month's row in a replay over past dates would be looking ahead.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from django.db.models import Max

from churn.models import ChurnScore
from core.months import add_months, month_start
from customers import tiers
from customers.models import (
    Appointment,
    ContactLog,
    ContactResult,
    Customer,
    CustomerStatus,
    Holding,
    MonthlyBalance,
    Product,
    Survey,
)
from retention import conf
from retention.models import OwnerRole, SignalKind

# --- small tier helper ----------------------------------------------------------


def tier_for_aum(aum: float) -> str:
    """The tier an AUM amount falls in, with the configured floors."""
    return tiers.tier_for_aum(aum, conf.tier_floors())


# --- what a rule returns ---------------------------------------------------------


@dataclass
class Trigger:
    customer_id: int  # Customer primary key
    kind: str
    playbook_key: str
    owner_role: str
    aum_at_risk: Decimal
    reasons: list[dict] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    event_on: dt.date | None = None
    # None: the services fill in the customer's latest model probability (or the prior).
    probability: float | None = None


@dataclass(frozen=True)
class CustomerFacts:
    pk: int
    customer_id: str  # the bank's natural key
    branch_id: int
    rm_id: int | None  # None: not assigned to an RM (see retention.services._owner_for)
    tier: str
    segment: str
    latest_aum: Decimal

    @property
    def is_core(self) -> bool:
        return (self.tier or tier_for_aum(float(self.latest_aum))) in conf.core_tiers()


class RuleContext:
    """Data shared by the rules for one run date, each piece loaded once."""

    def __init__(self, *, run_date: dt.date, data_month: dt.date | None = None):
        self.run_date = run_date
        # Balances before this month are the rules' history. Given the nightly run's month
        # of balances (fixed when the run was created, the month its scores came from), the
        # rules read the same month; with none, the last complete month before the run date.
        self.balance_cutoff = add_months(month_start(data_month), 1) if data_month else month_start(run_date)

    @cached_property
    def customers(self) -> dict[int, CustomerFacts]:
        rows = Customer.objects.filter(status=CustomerStatus.ACTIVE).values_list(
            "pk", "customer_id", "branch_id", "rm_id", "tier", "segment", "segment_override", "latest_aum"
        )
        return {
            pk: CustomerFacts(
                pk=pk, customer_id=natural_key, branch_id=branch_id, rm_id=rm_id, tier=tier,
                segment=override or segment, latest_aum=aum,
            )
            for pk, natural_key, branch_id, rm_id, tier, segment, override, aum in rows.iterator(chunk_size=2000)
        }

    @cached_property
    def balances(self) -> dict[int, list[tuple[dt.date, Decimal]]]:
        """The last three known months per active customer, oldest first, gaps kept out:
        a list is cut at the first missing month so rules compare consecutive months only."""
        first = add_months(self.balance_cutoff, -3)
        rows = (
            MonthlyBalance.objects.filter(
                month__gte=first, month__lt=self.balance_cutoff, customer__status=CustomerStatus.ACTIVE
            )
            .order_by("customer_id", "month")
            .values_list("customer_id", "month", "aum")
        )
        by_customer: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
        for customer_id, month, aum in rows.iterator(chunk_size=5000):
            by_customer[customer_id].append((month, aum))
        result = {}
        for customer_id, months in by_customer.items():
            # Keep the run of consecutive months ending at the latest known month.
            run = [months[-1]]
            for month, aum in reversed(months[:-1]):
                if add_months(month, 1) != run[0][0]:
                    break
                run.insert(0, (month, aum))
            result[customer_id] = run
        return result

    @cached_property
    def latest_score_date(self) -> dt.date | None:
        return ChurnScore.objects.filter(scored_on__lte=self.run_date).aggregate(day=Max("scored_on"))["day"]

    @cached_property
    def latest_scores(self) -> dict[int, ChurnScore]:
        if self.latest_score_date is None:
            return {}
        scores = ChurnScore.objects.filter(scored_on=self.latest_score_date).only(
            "customer_id", "probability", "risk_band", "aum", "expected_aum_at_risk", "reasons", "scored_on"
        )
        return {score.customer_id: score for score in scores.iterator(chunk_size=2000)}

    @cached_property
    def best_own_products(self) -> dict[str, Product]:
        """Our product of each kind with the best yield: the replacement to offer."""
        best: dict[str, Product] = {}
        for product in Product.objects.filter(is_ours=True, yield_pct__isnull=False).order_by(
            "kind", "-yield_pct", "product_code"
        ):
            best.setdefault(product.kind, product)
        return best


def _reason(feature: str, value, **extra) -> dict:
    return {"feature": feature, "contribution": None, "value": value, **extra}


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


# --- the rules ---------------------------------------------------------------------


def rule_model_risk(ctx: RuleContext) -> list[Trigger] | None:
    """High/medium band from tonight's scores -> RM, with the segment's playbook.

    Returns None when there are no scores for the run date at all: a failed
    scoring night must not close every model-risk alert as "cleared"."""
    scores = ChurnScore.objects.filter(scored_on=ctx.run_date)
    if not scores.exists():
        return None
    triggers = []
    selected = scores.filter(
        risk_band__in=conf.risk_bands(),
        probability__gte=conf.risk_min_probability(),
        customer__status=CustomerStatus.ACTIVE,
    ).only("customer_id", "probability", "risk_band", "aum", "expected_aum_at_risk", "reasons")
    for score in selected.iterator(chunk_size=2000):
        facts = ctx.customers.get(score.customer_id)
        segment = facts.segment if facts and facts.segment else "service"
        triggers.append(
            Trigger(
                customer_id=score.customer_id,
                kind=SignalKind.MODEL_RISK,
                playbook_key=f"segment_{segment}",
                owner_role=OwnerRole.RM,
                aum_at_risk=_money(score.aum),
                probability=score.probability,
                reasons=list(score.reasons or []),
                details={"risk_band": score.risk_band},
            )
        )
    return triggers


def _maturing_holdings(ctx: RuleContext, *, ours: bool, days: int):
    return (
        Holding.objects.filter(
            product__is_ours=ours,
            maturity_on__gte=ctx.run_date,
            maturity_on__lte=ctx.run_date + dt.timedelta(days=days),
            customer__status=CustomerStatus.ACTIVE,
        )
        .select_related("product")
        .order_by("customer_id", "maturity_on", "-amount")
    )


def rule_competitor_maturity(ctx: RuleContext) -> list[Trigger]:
    """A competitor's product matures in <= 7 days -> RM call with our best-yield product of that kind."""
    triggers: dict[int, Trigger] = {}
    for holding in _maturing_holdings(ctx, ours=False, days=conf.competitor_maturity_days()):
        if holding.customer_id in triggers:  # earliest maturity wins; one open alert per kind
            continue
        replacement = ctx.best_own_products.get(holding.product.kind)
        details = {
            "holding_id": holding.pk,
            "competitor_product": holding.product.product_code,
            "competitor_product_name": holding.product.name,
            "competitor_provider": holding.product.provider,
            "competitor_yield_pct": str(holding.product.yield_pct) if holding.product.yield_pct is not None else None,
            "amount": str(holding.amount),
            "maturity_on": holding.maturity_on.isoformat(),
            "replacement_product": replacement.product_code if replacement else None,
            "replacement_product_name": replacement.name if replacement else None,
            "replacement_yield_pct": str(replacement.yield_pct) if replacement else None,
        }
        triggers[holding.customer_id] = Trigger(
            customer_id=holding.customer_id,
            kind=SignalKind.COMPETITOR_MATURITY,
            playbook_key="competitor_maturity",
            owner_role=OwnerRole.RM,
            aum_at_risk=_money(holding.amount),
            event_on=holding.maturity_on,
            reasons=[
                _reason(
                    "competitor_product_matures",
                    (holding.maturity_on - ctx.run_date).days,
                    product=holding.product.name,
                    provider=holding.product.provider,
                    maturity_on=holding.maturity_on.isoformat(),
                )
            ],
            details=details,
        )
    return list(triggers.values())


def rule_own_maturity(ctx: RuleContext) -> list[Trigger]:
    """Our product matures in <= 14 days and the customer's latest band is at risk -> RM rollover."""
    at_risk = conf.at_risk_bands()
    triggers: dict[int, Trigger] = {}
    for holding in _maturing_holdings(ctx, ours=True, days=conf.own_maturity_days()):
        score = ctx.latest_scores.get(holding.customer_id)
        if score is None or score.risk_band not in at_risk or holding.customer_id in triggers:
            continue
        rollover = ctx.best_own_products.get(holding.product.kind)
        triggers[holding.customer_id] = Trigger(
            customer_id=holding.customer_id,
            kind=SignalKind.OWN_MATURITY,
            playbook_key="own_maturity",
            owner_role=OwnerRole.RM,
            aum_at_risk=_money(holding.amount),
            probability=score.probability,
            event_on=holding.maturity_on,
            reasons=[
                _reason(
                    "own_product_matures",
                    (holding.maturity_on - ctx.run_date).days,
                    product=holding.product.name,
                    maturity_on=holding.maturity_on.isoformat(),
                ),
                *list(score.reasons or [])[:3],
            ],
            details={
                "holding_id": holding.pk,
                "product": holding.product.product_code,
                "product_name": holding.product.name,
                "amount": str(holding.amount),
                "maturity_on": holding.maturity_on.isoformat(),
                "risk_band": score.risk_band,
                "rollover_product": rollover.product_code if rollover else None,
                "rollover_yield_pct": str(rollover.yield_pct) if rollover else None,
            },
        )
    return list(triggers.values())


def rule_tier_downgrade(ctx: RuleContext) -> list[Trigger]:
    """AUM within the margin above its tier floor and lower than the month before -> RM."""
    floors = conf.tier_floors()
    margin = conf.tier_margin()
    triggers = []
    for customer_id, months in ctx.balances.items():
        if len(months) < 2 or customer_id not in ctx.customers:
            continue
        (_, previous), (month, current) = months[-2], months[-1]
        tier = tier_for_aum(float(current))
        if tier == "mass":
            continue
        floor = floors[tier]
        if not (current < previous and float(current) <= floor * (1 + margin)):
            continue
        triggers.append(
            Trigger(
                customer_id=customer_id,
                kind=SignalKind.TIER_DOWNGRADE,
                playbook_key="tier_downgrade",
                owner_role=OwnerRole.RM,
                aum_at_risk=_money(current),
                event_on=month,
                reasons=[
                    _reason("aum_near_tier_floor", round(float(current) / floor - 1, 4), tier=tier, floor=floor),
                    _reason("aum_change_1m", round(float(current) / float(previous) - 1, 4) if previous else None),
                ],
                details={"tier": tier, "floor": floor, "aum": str(current), "previous_aum": str(previous),
                         "month": month.isoformat()},
            )
        )
    return triggers


def rule_aum_drop(ctx: RuleContext) -> list[Trigger]:
    """AUM fell by RETENTION_AUM_DROP_RATIO (30%) or more from one month to the next -> RM."""
    ratio = conf.aum_drop_ratio()
    triggers = []
    for customer_id, months in ctx.balances.items():
        if len(months) < 2 or customer_id not in ctx.customers:
            continue
        (_, previous), (month, current) = months[-2], months[-1]
        if previous <= 0 or float(current) > float(previous) * (1 - ratio):
            continue
        change = round(float(current) / float(previous) - 1, 4)
        segment = ctx.customers[customer_id].segment
        triggers.append(
            Trigger(
                customer_id=customer_id,
                kind=SignalKind.AUM_DROP,
                playbook_key="aum_drop",
                owner_role=OwnerRole.RM,
                aum_at_risk=_money(current),
                event_on=month,
                reasons=[_reason("aum_change_1m", change, previous_aum=str(previous), aum=str(current))],
                details={"month": month.isoformat(), "aum": str(current), "previous_aum": str(previous),
                         "segment": segment},
            )
        )
    return triggers


def rule_large_withdrawal(ctx: RuleContext) -> list[Trigger]:
    """A large cash withdrawal or transfer booked for today or tomorrow -> RM, and the lobby's list."""
    appointments = (
        Appointment.objects.filter(
            scheduled_on__gte=ctx.run_date,
            scheduled_on__lte=ctx.run_date + dt.timedelta(days=conf.appointment_days_ahead()),
            amount__gte=conf.large_appointment_min_amount(),
            customer__status=CustomerStatus.ACTIVE,
        )
        .order_by("customer_id", "scheduled_on", "-amount")
    )
    triggers: dict[int, Trigger] = {}
    for appointment in appointments:
        if appointment.customer_id in triggers:
            continue
        triggers[appointment.customer_id] = Trigger(
            customer_id=appointment.customer_id,
            kind=SignalKind.LARGE_WITHDRAWAL,
            playbook_key="large_withdrawal",
            owner_role=OwnerRole.RM,
            aum_at_risk=_money(appointment.amount),
            event_on=appointment.scheduled_on,
            reasons=[
                _reason(
                    "large_appointment",
                    str(appointment.amount),
                    appointment_kind=appointment.kind,
                    scheduled_on=appointment.scheduled_on.isoformat(),
                )
            ],
            details={
                "appointment_id": appointment.pk,
                "appointment_kind": appointment.kind,
                "amount": str(appointment.amount),
                "scheduled_on": appointment.scheduled_on.isoformat(),
            },
        )
    return list(triggers.values())


def rule_satisfaction_drop(ctx: RuleContext) -> list[Trigger]:
    """Latest survey <= 6, or down >= 3 points from the one before.
    Core customer -> branch head callback; others -> RM."""
    low = conf.satisfaction_low_score()
    drop = conf.satisfaction_drop_points()
    since = ctx.run_date - dt.timedelta(days=conf.satisfaction_lookback_days())
    # The two latest surveys per customer who was surveyed within the lookback.
    recent_ids = Survey.objects.filter(surveyed_on__gte=since, surveyed_on__lte=ctx.run_date).values("customer_id")
    surveys = (
        Survey.objects.filter(customer_id__in=recent_ids, surveyed_on__lte=ctx.run_date)
        .order_by("customer_id", "-surveyed_on", "-pk")
        .values_list("customer_id", "surveyed_on", "score")
    )
    latest: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for customer_id, surveyed_on, score in surveys:
        if len(latest[customer_id]) < 2:
            latest[customer_id].append((surveyed_on, score))
    triggers = []
    for customer_id, pair in latest.items():
        facts = ctx.customers.get(customer_id)
        if facts is None:
            continue
        surveyed_on, score = pair[0]
        previous = pair[1][1] if len(pair) > 1 else None
        fell = previous is not None and previous - score >= drop
        if not (score <= low or fell):
            continue
        core = facts.is_core
        triggers.append(
            Trigger(
                customer_id=customer_id,
                kind=SignalKind.SATISFACTION_DROP,
                playbook_key="satisfaction_core" if core else "satisfaction_other",
                owner_role=OwnerRole.HEAD if core else OwnerRole.RM,
                aum_at_risk=_money(facts.latest_aum),
                event_on=surveyed_on,
                reasons=[_reason("satisfaction_score", score, previous=previous, surveyed_on=surveyed_on.isoformat())],
                details={"score": score, "previous_score": previous, "surveyed_on": surveyed_on.isoformat(),
                         "core": core},
            )
        )
    return triggers


def rule_service_failure(ctx: RuleContext) -> list[Trigger]:
    """A complaint in the contact log within the lookback. Core customer -> branch head apology;
    others -> the lobby manager's attention (the brief's "after" step for ordinary customers)."""
    since = ctx.run_date - dt.timedelta(days=conf.complaint_lookback_days())
    complaints = (
        ContactLog.objects.filter(
            result=ContactResult.COMPLAINT,
            contacted_at__date__gte=since,
            contacted_at__date__lte=ctx.run_date,
            customer__status=CustomerStatus.ACTIVE,
        )
        .order_by("customer_id", "-contacted_at")
        .values_list("pk", "customer_id", "contacted_at", "note")
    )
    triggers: dict[int, Trigger] = {}
    for pk, customer_id, contacted_at, note in complaints:
        facts = ctx.customers.get(customer_id)
        if facts is None or customer_id in triggers:
            continue
        core = facts.is_core
        triggers[customer_id] = Trigger(
            customer_id=customer_id,
            kind=SignalKind.SERVICE_FAILURE,
            playbook_key="service_failure_core" if core else "service_failure_other",
            owner_role=OwnerRole.HEAD if core else OwnerRole.LOBBY,
            aum_at_risk=_money(facts.latest_aum),
            event_on=contacted_at.date(),
            reasons=[_reason("complaint_logged", contacted_at.date().isoformat(), note=note[:200])],
            details={"contact_id": pk, "complained_on": contacted_at.date().isoformat(), "core": core},
        )
    return list(triggers.values())


def rule_recovery_eligible(ctx: RuleContext) -> list[Trigger]:
    """AUM dropped last month and is back to the level before the drop this month -> prize draw."""
    min_drop = conf.recovery_min_drop_ratio()
    triggers = []
    for customer_id, months in ctx.balances.items():
        if len(months) < 3 or customer_id not in ctx.customers:
            continue
        (_, before_drop), (_, after_drop), (month, current) = months[-3:]
        if before_drop <= 0 or float(after_drop) >= float(before_drop) * (1 - min_drop):
            continue
        if current < before_drop:
            continue
        triggers.append(
            Trigger(
                customer_id=customer_id,
                kind=SignalKind.RECOVERY_ELIGIBLE,
                playbook_key="recovery_campaign",
                owner_role=OwnerRole.RM,
                aum_at_risk=Decimal("0.00"),
                probability=0.0,
                event_on=month,
                reasons=[_reason("aum_recovered", str(current), pre_drop_aum=str(before_drop))],
                details={"month": month.isoformat(), "aum": str(current), "pre_drop_aum": str(before_drop),
                         "dropped_to": str(after_drop)},
            )
        )
    return triggers


RULES: dict[str, Callable[[RuleContext], list[Trigger] | None]] = {
    SignalKind.MODEL_RISK: rule_model_risk,
    SignalKind.COMPETITOR_MATURITY: rule_competitor_maturity,
    SignalKind.OWN_MATURITY: rule_own_maturity,
    SignalKind.TIER_DOWNGRADE: rule_tier_downgrade,
    SignalKind.AUM_DROP: rule_aum_drop,
    SignalKind.LARGE_WITHDRAWAL: rule_large_withdrawal,
    SignalKind.SATISFACTION_DROP: rule_satisfaction_drop,
    SignalKind.SERVICE_FAILURE: rule_service_failure,
    SignalKind.RECOVERY_ELIGIBLE: rule_recovery_eligible,
}
