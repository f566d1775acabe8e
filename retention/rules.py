"""The rules: each reads the bank's data as of a run date and says which
customers have a signal of its kind today.

A rule only *finds* triggers; ``retention.raising.cases_raise_for_date`` turns them
into signals on cases. That split keeps the rules read-only and testable one by one,
and makes "the signal cleared" simply "the rule no longer returns the customer".

Point-in-time: a monthly balance row describes a finished month, so on a run
date only months *before* the run date's month are known. Using the current
month's row in a replay over past dates would be looking ahead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple, overload

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Max

from churn.models import ChurnScore
from core.months import add_months, month_end, month_number, month_start
from customers import tiers
from customers.models import (
    Appointment,
    ContactLog,
    ContactResult,
    Customer,
    CustomerStatus,
    Holding,
    MonthlyBalance,
    Survey,
)
from retention import conf
from retention.models import OwnerRole, SignalKind
from retention.outcomes import churn_labels
from retention.replacement import CatalogueProduct, catalogue_load, replacement_choose

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
    # True: the signal's reasons are tonight's score's (``reasons`` is then empty), joined in
    # SQL when the night stages its rows: a hundred thousand model-risk reasons are not read
    # into Python objects and written back as JSON.
    reasons_from_score: bool = False


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    pk: int
    customer_id: str  # the bank's natural key
    branch_id: int
    rm_id: int | None  # None: not assigned to an RM (see retention.raising._owner_for)
    tier: str
    segment: str
    latest_aum: Decimal

    @property
    def is_core(self) -> bool:
        return (self.tier or tier_for_aum(float(self.latest_aum))) in conf.core_tiers()


class MonthRun(Sequence[tuple[dt.date, Decimal]]):
    """One customer's consecutive months of AUM, oldest first, read as ``(month, aum)`` pairs.

    Stored as the first month and the amounts in cents: three months of a million
    customers as tuples of dates and Decimals were the largest piece of the nightly
    cases stage's memory (about 640 MB), this is about a third of it."""

    __slots__ = ("first", "cents")

    def __init__(self, first: dt.date, cents: tuple[int, ...]):
        self.first = first
        self.cents = cents

    def __len__(self) -> int:
        return len(self.cents)

    @overload
    def __getitem__(self, index: int) -> tuple[dt.date, Decimal]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[dt.date, Decimal]]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self.cents)))]
        position = index + len(self.cents) if index < 0 else index
        if not 0 <= position < len(self.cents):
            raise IndexError(index)
        return add_months(self.first, position), Decimal(self.cents[position]).scaleb(-2)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MonthRun({list(self)!r})"


class LatestScore(NamedTuple):
    """What the rules and the pricing read of a customer's latest score (its reasons are
    read only for the few customers that need them: ``RuleContext.latest_score_reasons``)."""

    customer_id: int
    probability: float
    risk_band: str
    aum: Decimal


class RuleContext:
    """Data shared by the rules for one run date, each piece loaded once.

    Sized for a million customers in one process: per customer it holds plain tuples
    and slotted objects, not model instances, and no JSON (measured at 1M customers:
    model instances with their reasons were the stage's peak memory)."""

    def __init__(self, *, run_date: dt.date, data_month: dt.date | None = None):
        self.run_date = run_date
        # Balances before this month are the rules' history. Given the nightly run's month
        # of balances (fixed when the run was created, the month its scores came from), the
        # rules read the same month; with none, the last complete month before the run date.
        self.balance_cutoff = add_months(month_start(data_month), 1) if data_month else month_start(run_date)
        self._scores_known: dict[int, LatestScore] = {}
        self._scores_absent: set[int] = set()
        self._facts_known: dict[int, CustomerFacts] = {}
        self._facts_absent: set[int] = set()
        self._labels: dict[str, str] = {}  # one string object per tier and segment, not one per customer

    _FACTS = ("pk", "customer_id", "branch_id", "rm_id", "tier", "segment", "segment_override", "latest_aum")

    def _facts(self, rows: Iterable[tuple]) -> Iterable[CustomerFacts]:
        labels = self._labels
        for pk, natural_key, branch_id, rm_id, tier, segment, override, aum in rows:
            yield CustomerFacts(
                pk=pk, customer_id=natural_key, branch_id=branch_id, rm_id=rm_id,
                tier=labels.setdefault(tier, tier), segment=labels.setdefault(override or segment, override or segment),
                latest_aum=aum,
            )

    @cached_property
    def customers(self) -> dict[int, CustomerFacts]:
        """Every active customer's facts. The nightly rules read only the customers they need
        (``customers_for``): a million of these is a few hundred MB."""
        rows = Customer.objects.filter(status=CustomerStatus.ACTIVE).values_list(*self._FACTS)
        return {facts.pk: facts for facts in self._facts(rows.iterator(chunk_size=5000))}

    def customers_for(self, customer_ids: Iterable[int]) -> dict[int, CustomerFacts]:
        """The facts of those of ``customer_ids`` that are active (read once per customer, a batch
        of queries); the mapping returned also holds customers asked for before."""
        known = self._facts_known
        missing = sorted(set(customer_ids) - known.keys() - self._facts_absent)
        for start in range(0, len(missing), 5000):
            batch = missing[start:start + 5000]
            rows = Customer.objects.filter(status=CustomerStatus.ACTIVE, pk__in=batch).values_list(*self._FACTS)
            found = {facts.pk: facts for facts in self._facts(rows)}
            known.update(found)
            self._facts_absent.update(set(batch) - found.keys())
        return known

    @cached_property
    def balances(self) -> dict[int, MonthRun]:
        """The last three known months per active customer, oldest first, gaps kept out:
        a run is cut at the first missing month so rules compare consecutive months only."""
        first = add_months(self.balance_cutoff, -3)
        rows = (
            MonthlyBalance.objects.filter(
                month__gte=first, month__lt=self.balance_cutoff, customer__status=CustomerStatus.ACTIVE
            )
            .order_by("customer_id", "month")
            .values_list("customer_id", "month", "aum")
        )
        numbers: dict[dt.date, int] = {}
        result: dict[int, MonthRun] = {}
        customer: int | None = None
        start, cents, previous = first, list[int](), 0
        for customer_id, month, aum in rows.iterator(chunk_size=5000):
            number = numbers.get(month)
            if number is None:
                number = numbers[month] = month_number(month)
            if customer_id != customer:
                if customer is not None:
                    result[customer] = MonthRun(start, tuple(cents))
                customer, start, cents = customer_id, month, []
            elif number != previous + 1:
                start, cents = month, []  # a missing month: keep only the run ending at the latest
            cents.append(int(aum.scaleb(2)))
            previous = number
        if customer is not None:
            result[customer] = MonthRun(start, tuple(cents))
        return result

    @cached_property
    def balance_candidates(self) -> dict[int, MonthRun]:
        """The runs of ``balances`` (same months, same gaps) of the active customers the
        balance rules could fire for, found in SQL: a one-month fall of at least the AUM-drop
        ratio, a fall to just above a tier floor, a drop and recovery over three months. A
        superset (the thresholds widened by a thousandth): each rule then decides on the
        exact figures, in Python, as before. One aggregate over three months of balances
        instead of three million rows read into Python."""
        m1 = add_months(self.balance_cutoff, -3)
        m2, m3 = add_months(m1, 1), add_months(m1, 2)
        balance, customer = MonthlyBalance._meta.db_table, Customer._meta.db_table
        number = "CAST(%s AS NUMERIC)"
        slack = Decimal("0.001")
        floors = [Decimal(str(floor)) for floor in tiers.floor_values(conf.tier_floors())]
        margin = Decimal(str(conf.tier_margin()))
        near_floor = " OR ".join(
            f"(h.cur >= {number} AND h.cur <= {number})" for _ in floors
        )
        floor_params: list = []
        for floor in floors:
            floor_params += [floor * (1 - slack), floor * (1 + margin) * (1 + slack)]
        drop_keep = (1 - Decimal(str(conf.aum_drop_ratio()))) * (1 + slack)
        recovery_keep = (1 - Decimal(str(conf.recovery_min_drop_ratio()))) * (1 + slack)
        sql = f"""
            SELECT h.customer_id, h.p1, h.p2, h.p3, h.a1, h.a2, h.a3 FROM (
                SELECT p.*, CASE WHEN p.p3 = 1 THEN p.a3 ELSE p.a2 END AS cur,
                       CASE WHEN p.p3 = 1 THEN p.a2 ELSE p.a1 END AS prev
                FROM (
                    SELECT b.customer_id,
                           SUM(CASE WHEN b.month = %s THEN 1 ELSE 0 END) AS p1,
                           SUM(CASE WHEN b.month = %s THEN 1 ELSE 0 END) AS p2,
                           SUM(CASE WHEN b.month = %s THEN 1 ELSE 0 END) AS p3,
                           MAX(CASE WHEN b.month = %s THEN b.aum END) AS a1,
                           MAX(CASE WHEN b.month = %s THEN b.aum END) AS a2,
                           MAX(CASE WHEN b.month = %s THEN b.aum END) AS a3
                    FROM {balance} b WHERE b.month >= %s AND b.month <= %s GROUP BY b.customer_id
                ) p
            ) h JOIN {customer} c ON c.id = h.customer_id
            WHERE c.status = %s AND (
                (h.prev > 0 AND h.cur <= h.prev * {number})
                OR (h.cur < h.prev AND ({near_floor}))
                OR (h.p1 = 1 AND h.p2 = 1 AND h.p3 = 1 AND h.a1 > 0 AND h.a2 <= h.a1 * {number}
                    AND h.a3 >= h.a1 * {number})
            )
            ORDER BY h.customer_id
        """
        params = [m1, m2, m3, m1, m2, m3, m1, m3, CustomerStatus.ACTIVE, drop_keep, *floor_params,
                  recovery_keep, 1 - slack]
        result: dict[int, MonthRun] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for customer_id, p1, p2, p3, *amounts in cursor.fetchall():
                present = (bool(p1), bool(p2), bool(p3))
                # The run ending at the customer's latest month of the three, cut at a gap.
                last = max(i for i, here in enumerate(present) if here)
                first = last
                while first > 0 and present[first - 1]:
                    first -= 1
                cents = tuple(int(Decimal(str(amounts[i])).scaleb(2)) for i in range(first, last + 1))
                result[customer_id] = MonthRun(add_months(m1, first), cents)
        return result

    def balances_release(self) -> None:
        """Forget the balances once the rules have run: at a million customers they are the
        context's largest piece, and pricing does not read them (read again if asked)."""
        self.__dict__.pop("balances", None)

    @cached_property
    def latest_score_date(self) -> dt.date | None:
        return ChurnScore.objects.filter(scored_on__lte=self.run_date).aggregate(day=Max("scored_on"))["day"]

    @cached_property
    def latest_scores(self) -> dict[int, LatestScore]:
        """Every customer's latest score. The nightly rules and pricing read only the customers
        they need (``latest_scores_for``): a million of these is a few hundred MB."""
        return self._scores_read(None)

    def latest_scores_for(self, customer_ids: Iterable[int]) -> dict[int, LatestScore]:
        """The latest scores of ``customer_ids`` (read once per customer, a batch of queries)."""
        known = self._scores_known
        missing = sorted(set(customer_ids) - known.keys() - self._scores_absent)
        for start in range(0, len(missing), 5000):
            batch = missing[start:start + 5000]
            found = self._scores_read(batch)
            known.update(found)
            self._scores_absent.update(set(batch) - found.keys())
        return known

    def _scores_read(self, customer_ids: list[int] | None) -> dict[int, LatestScore]:
        if self.latest_score_date is None:
            return {}
        scores = ChurnScore.objects.filter(scored_on=self.latest_score_date)
        if customer_ids is not None:
            scores = scores.filter(customer_id__in=customer_ids)
        bands: dict[str, str] = {}
        return {
            customer_id: LatestScore(customer_id, probability, bands.setdefault(band, band), aum)
            for customer_id, probability, band, aum in scores.values_list(
                "customer_id", "probability", "risk_band", "aum").iterator(chunk_size=5000)
        }

    def latest_score_reasons(self, customer_ids: Iterable[int]) -> dict[int, list]:
        """The reasons of the latest scores of ``customer_ids`` (a batch of queries, not one per customer)."""
        if self.latest_score_date is None:
            return {}
        wanted = sorted(set(customer_ids))
        reasons: dict[int, list] = {}
        for start in range(0, len(wanted), 5000):
            rows = ChurnScore.objects.filter(
                scored_on=self.latest_score_date, customer_id__in=wanted[start:start + 5000]
            ).values_list("customer_id", "reasons")
            reasons.update((customer_id, list(value or [])) for customer_id, value in rows)
        return reasons

    @cached_property
    def own_catalogue(self) -> list[CatalogueProduct]:
        """Our products, read once: the replacement to offer is chosen from them
        (``retention.replacement.replacement_choose``, the same rule as the pages')."""
        return catalogue_load()

    def replacement_for(self, holding: Holding) -> CatalogueProduct | None:
        term = ((holding.maturity_on - holding.start_on).days if holding.maturity_on and holding.start_on
                else holding.product.term_days)
        return replacement_choose(kind=holding.product.kind, amount=holding.amount, term_days=term,
                                  catalogue=self.own_catalogue)


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
    ).values_list(  # tuples: no model instances, and no reasons (joined in SQL when staged)
        "customer_id", "probability", "risk_band", "aum", "customer__segment", "customer__segment_override")
    for customer_id, probability, risk_band, aum, segment, override in selected.iterator(chunk_size=5000):
        segment = override or segment or "service"
        triggers.append(
            Trigger(
                customer_id=customer_id,
                kind=SignalKind.MODEL_RISK,
                playbook_key=f"segment_{segment}",
                owner_role=OwnerRole.RM,
                aum_at_risk=_money(aum),
                probability=probability,
                reasons_from_score=True,
                details={"risk_band": risk_band},
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
        replacement = ctx.replacement_for(holding)
        details = {
            "holding_id": holding.pk,
            "competitor_product": holding.product.product_code,
            "competitor_product_name": holding.product.name,
            "competitor_provider": holding.product.provider,
            "competitor_yield_pct": str(holding.product.yield_pct) if holding.product.yield_pct is not None else None,
            "amount": str(holding.amount),
            "maturity_on": holding.maturity_on.isoformat(),
            "replacement_product": replacement.code if replacement else None,
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
    if ctx.latest_score_date is None:
        return []
    # Only holdings of customers whose latest band is at risk become objects (a million
    # customers have tens of thousands of maturing products of ours, most not at risk).
    at_risk_customers = ChurnScore.objects.filter(
        scored_on=ctx.latest_score_date, risk_band__in=at_risk).values("customer_id")
    holdings = list(_maturing_holdings(ctx, ours=True, days=conf.own_maturity_days())
                    .filter(customer_id__in=at_risk_customers))
    scores = ctx.latest_scores_for(holding.customer_id for holding in holdings)
    for holding in holdings:
        score = scores.get(holding.customer_id)
        if score is None or score.risk_band not in at_risk or holding.customer_id in triggers:
            continue
        rollover = ctx.replacement_for(holding)
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
            ],
            details={
                "holding_id": holding.pk,
                "product": holding.product.product_code,
                "product_name": holding.product.name,
                "amount": str(holding.amount),
                "maturity_on": holding.maturity_on.isoformat(),
                "risk_band": score.risk_band,
                "rollover_product": rollover.code if rollover else None,
                "rollover_yield_pct": str(rollover.yield_pct) if rollover else None,
            },
        )
    # The score's first reasons after the maturity's: read for these customers only.
    score_reasons = ctx.latest_score_reasons(triggers)
    for trigger in triggers.values():
        trigger.reasons.extend(score_reasons.get(trigger.customer_id, [])[:3])
    return list(triggers.values())


def rule_tier_downgrade(ctx: RuleContext) -> list[Trigger]:
    """AUM within the margin above its tier floor and lower than the month before -> RM."""
    floors = conf.tier_floors()
    margin = conf.tier_margin()
    triggers = []
    for customer_id, months in ctx.balance_candidates.items():
        if len(months) < 2:
            continue
        (_, previous), (month, current) = months[-2], months[-1]
        tier = tiers.tier_for_aum(float(current), floors)  # the floors read once, not per customer
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
    found = []
    for customer_id, months in ctx.balance_candidates.items():
        if len(months) < 2:
            continue
        (_, previous), (month, current) = months[-2], months[-1]
        if previous <= 0 or float(current) > float(previous) * (1 - ratio):
            continue
        found.append((customer_id, month, previous, current))
    facts = ctx.customers_for(customer_id for customer_id, *_ in found)
    for customer_id, month, previous, current in found:
        if customer_id not in facts:
            continue
        change = round(float(current) / float(previous) - 1, 4)
        segment = facts[customer_id].segment
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
    # The latest survey and the one before, of each customer surveyed within the lookback,
    # where the latest is low or fell: in SQL, so only the customers who trigger are read.
    survey = Survey._meta.db_table
    order = "ORDER BY s.surveyed_on DESC, s.id DESC"
    sql = f"""
        SELECT x.customer_id, x.surveyed_on, x.score, x.previous FROM (
            SELECT s.customer_id, s.surveyed_on, s.score,
                   LEAD(s.score) OVER (PARTITION BY s.customer_id {order}) AS previous,
                   ROW_NUMBER() OVER (PARTITION BY s.customer_id {order}) AS position
            FROM {survey} s
            WHERE s.surveyed_on <= %s AND s.customer_id IN (
                SELECT r.customer_id FROM {survey} r WHERE r.surveyed_on >= %s AND r.surveyed_on <= %s)
        ) x
        WHERE x.position = 1 AND (x.score <= %s OR (x.previous IS NOT NULL AND x.previous - x.score >= %s))
        ORDER BY x.customer_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [ctx.run_date, since, ctx.run_date, low, drop])
        latest = cursor.fetchall()
    triggers = []
    known = ctx.customers_for(customer_id for customer_id, *_ in latest)
    for customer_id, surveyed_on, score, previous in latest:
        facts = known.get(customer_id)
        if facts is None:
            continue
        if isinstance(surveyed_on, str):  # SQLite: a raw query's date is its text
            surveyed_on = dt.date.fromisoformat(surveyed_on)
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
    complaints = list(
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
    known = ctx.customers_for(customer_id for _, customer_id, _, _ in complaints)
    for pk, customer_id, contacted_at, note in complaints:
        facts = known.get(customer_id)
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
    for customer_id, months in ctx.balance_candidates.items():
        if len(months) < 3:
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


# --- already lost: a win-back case -------------------------------------------------------


# Candidates whose rows one query reads (well under SQLite's limit of bound parameters).
_CANDIDATE_BATCH = 5000


@dataclass(frozen=True)
class LostCandidates:
    """The balance rows ``rule_already_lost`` reads: every month from ``first_month`` to
    ``last_month`` (the latest known month) of the customers the SQL prefilter let through."""

    first_month: dt.date
    last_month: dt.date
    rows: list[tuple[int, dt.date, float, str]]

    @property
    def customer_count(self) -> int:
        return len({row[0] for row in self.rows})


def already_lost_candidates(ctx: RuleContext) -> LostCandidates | None:
    """The months the rule needs and the rows of the customers who could have left by the
    churn definition: None when no balance is known before the cutoff.

    A customer can only be "already lost" if their latest known month is still down on
    some earlier month of the history read: closed or missing, or AUM below the drop ratio
    times the highest earlier AUM (every baseline average is at most that), or AUM in a
    lower tier than the highest earlier AUM's. The prefilter is that test, in SQL over the
    months read; ``build_labels`` then decides on the few rows that pass it.
    """
    last_month = MonthlyBalance.objects.filter(month__lt=ctx.balance_cutoff).aggregate(last=Max("month"))["last"]
    if last_month is None:
        return None
    window = conf.churn_window_months()
    # Anchors (month-ends the definition is scored at) from lookback + window months back, so
    # a loss just before the look-back is recognised as such, with its true month.
    first_anchor = add_months(last_month, -(conf.win_back_lookback_months() + window))
    first_month = add_months(first_anchor, -(window - 1))
    balance = MonthlyBalance._meta.db_table
    customer = Customer._meta.db_table
    # CAST: the amounts go in as exact decimals, and SQLite compares an aggregate (no column
    # affinity) with a bound text value as text otherwise.
    number = "CAST(%s AS NUMERIC)"
    lower_tier = []
    tier_params: list = []
    for floor in tiers.floor_values(conf.tier_floors()):
        lower_tier.append(f"(h.latest_aum < {number} AND h.earlier_peak >= {number})")
        tier_params += [Decimal(str(floor)), Decimal(str(floor))]
    # One pass over the months read, three figures per customer; the customers table is
    # joined to the few that pass, not to every balance row.
    candidates_sql = f"""
        SELECT h.customer_id FROM (
            SELECT b.customer_id,
                   MAX(CASE WHEN b.month = %s THEN b.aum END) AS latest_aum,
                   SUM(CASE WHEN b.month = %s AND b.status <> %s THEN 1 ELSE 0 END) AS open_latest,
                   MAX(CASE WHEN b.month < %s THEN b.aum END) AS earlier_peak
            FROM {balance} b
            WHERE b.month >= %s AND b.month <= %s
            GROUP BY b.customer_id
        ) h JOIN {customer} c ON c.id = h.customer_id
        WHERE c.status = %s AND h.earlier_peak >= {number}
          AND (h.open_latest = 0 OR h.latest_aum < {number} * h.earlier_peak OR {" OR ".join(lower_tier)})
        ORDER BY h.customer_id
    """
    params = [
        last_month, last_month, CustomerStatus.CLOSED, last_month, first_month, last_month,
        CustomerStatus.ACTIVE, Decimal(str(conf.churn_min_avg_aum())), Decimal(str(conf.churn_aum_drop_ratio())),
        *tier_params,
    ]
    rows: list[tuple[int, dt.date, float, str]] = []
    with connection.cursor() as cursor:
        cursor.execute(candidates_sql, params)
        customer_ids = [customer_id for (customer_id,) in cursor.fetchall()]
        # Then their rows, through the (customer, month) index: a batch of customers per query.
        for start in range(0, len(customer_ids), _CANDIDATE_BATCH):
            batch = customer_ids[start : start + _CANDIDATE_BATCH]
            cursor.execute(
                f"SELECT customer_id, month, aum, status FROM {balance} "
                f"WHERE customer_id IN ({', '.join(['%s'] * len(batch))}) AND month >= %s AND month <= %s "
                f"ORDER BY customer_id, month",
                [*batch, first_month, last_month],
            )
            rows += [(customer_id, month, float(aum), status) for customer_id, month, aum, status in cursor.fetchall()]
    return LostCandidates(first_month=first_month, last_month=last_month, rows=rows)


def _lost_since(candidates: LostCandidates) -> pd.DataFrame:
    """Per candidate who has left by the churn definition and not come back: the month they
    left, the AUM before it, the AUM now, which criterion of the definition they met first.

    ``build_labels`` (the churn definition) says at which month-ends ``t`` of the history a
    customer churned. Of those, a loss counts if it has lasted: from some month of ``t``'s
    window to the latest month, every month is closed, below the drop ratio times ``t``'s
    average, or in a lower tier than at ``t``. The month it left is the first month of that
    run; of several month-ends the earliest such month wins. A customer whose AUM came back
    (a dip, a month-end window dressing) has no run reaching the latest month.
    """
    empty = pd.DataFrame(columns=["customer_id", "lost_month", "aum_before", "aum_now", "criterion", "tier"])
    if not candidates.rows:
        return empty
    window = conf.churn_window_months()
    ratio = conf.churn_aum_drop_ratio()
    floors = conf.tier_floors()
    count = month_number(candidates.last_month) - month_number(candidates.first_month) + 1
    months = [add_months(candidates.first_month, i) for i in range(count)]
    anchors = months[window - 1 : len(months) - window]
    labels = churn_labels(
        rows=candidates.rows, month_ends=[month_end(m) for m in anchors], last_month=candidates.last_month,
        min_avg_aum=conf.churn_min_avg_aum(),
    )
    labels = labels[labels["churned"].astype(bool)]
    if labels.empty:
        return empty

    frame = pd.DataFrame(candidates.rows, columns=["customer_id", "month", "aum", "status"])
    column_of = {month: i for i, month in enumerate(months)}
    customer_index = pd.Index(pd.unique(frame["customer_id"]))
    n, span = len(customer_index), len(months)
    row_pos = customer_index.get_indexer(frame["customer_id"])
    col_pos = frame["month"].map(column_of).to_numpy()
    aum = np.full((n, span), np.nan)
    aum[row_pos, col_pos] = frame["aum"].to_numpy(dtype=float)
    present = np.zeros((n, span), dtype=bool)
    present[row_pos, col_pos] = True
    closed = np.zeros((n, span), dtype=bool)
    closed[row_pos, col_pos] = frame["status"].to_numpy() == CustomerStatus.CLOSED
    # As in the definition: a month with no row after the customer's first row is a closed month.
    gone = closed | (np.maximum.accumulate(present, axis=1) & ~present)
    tier = tiers.tier_codes(aum, floors)

    who = customer_index.get_indexer(labels["customer_id"])
    at = np.array([column_of[month_start(as_of)] for as_of in labels["as_of"]])
    baseline = labels["aum_avg"].to_numpy(dtype=float)
    tier_at = tier[who, at]
    dropped = np.nan_to_num(aum[who], nan=0.0) < ratio * baseline[:, None]
    lower_tier = np.nan_to_num(tier[who], nan=-1.0) < tier_at[:, None]
    down = gone[who] | dropped | lower_tier
    after = np.arange(span)[None, :] > at[:, None]
    up = after & ~down
    # The last month after t that was not down (or t itself): the run of down months starts after it.
    last_up = np.where(up.any(axis=1), span - 1 - np.argmax(up[:, ::-1], axis=1), at)
    start = last_up + 1
    lasting = (start <= at + window) & (start <= span - 1)
    if not lasting.any():
        return empty
    chosen = pd.DataFrame({
        "customer_id": labels["customer_id"].to_numpy()[lasting],
        "start": start[lasting],
        "at": at[lasting],
        "aum_before": baseline[lasting],
        "who": who[lasting],
        "tier_at": tier_at[lasting],
    }).sort_values(["customer_id", "start", "at"]).drop_duplicates("customer_id")
    rows_of, starts = chosen["who"].to_numpy(), chosen["start"].to_numpy()
    baseline = chosen["aum_before"].to_numpy()
    aum_at_start = np.where(gone[rows_of, starts], 0.0, np.nan_to_num(aum[rows_of, starts], nan=0.0))
    criterion = np.where(
        gone[rows_of, starts], "closed", np.where(aum_at_start < ratio * baseline, "aum_drop", "tier_downgrade"),
    )
    # "Before": the definition's baseline, or the month just before the loss if higher (a
    # customer who had come back after a dip and then left took the higher amount with them).
    month_before = np.where(gone[rows_of, starts - 1], 0.0, np.nan_to_num(aum[rows_of, starts - 1], nan=0.0))
    now_gone = gone[rows_of, span - 1]
    return pd.DataFrame({
        "customer_id": chosen["customer_id"].to_numpy(),
        "lost_month": [months[i] for i in starts],
        "aum_before": np.maximum(baseline, month_before),
        "aum_now": np.where(now_gone, 0.0, np.nan_to_num(aum[rows_of, span - 1], nan=0.0)),
        "criterion": criterion,
        "tier": [tiers.TIERS[int(code)] for code in chosen["tier_at"].to_numpy()],
    })


def rule_already_lost(ctx: RuleContext) -> list[Trigger]:
    """A customer who has already left by the churn definition (within the look-back of
    RETENTION_WIN_BACK_LOOKBACK_MONTHS known months) and not come back -> RM win-back.

    Not a risk but a fact: the probability is 1 and the AUM at risk is the AUM that left
    (what a win-back would bring back). Cheap at a million customers: one aggregate query
    keeps the few whose latest month is down on their history, and the definition runs on
    their rows only (``already_lost_candidates``)."""
    candidates = already_lost_candidates(ctx)
    if candidates is None:
        return []
    lookback_start = add_months(candidates.last_month, -(conf.win_back_lookback_months() - 1))
    min_lost = Decimal(str(conf.win_back_min_aum_lost()))
    triggers = []
    for lost in _lost_since(candidates).itertuples():
        if lost.lost_month < lookback_start:
            continue  # left before the look-back: not tonight's news
        before, now = _money(lost.aum_before), _money(lost.aum_now)
        aum_lost = max(before - now, Decimal("0.00"))
        if aum_lost < min_lost:
            continue  # a customer hovering at a tier floor: too little left to win back
        share_lost = round(float(aum_lost / before), 4) if before > 0 else None
        lost_month = lost.lost_month.isoformat()
        triggers.append(
            Trigger(
                customer_id=int(lost.customer_id),
                kind=SignalKind.ALREADY_LOST,
                playbook_key="win_back",
                owner_role=OwnerRole.RM,
                aum_at_risk=aum_lost,
                probability=1.0,
                event_on=lost.lost_month,
                reasons=[
                    _reason("already_lost", share_lost, lost_month=lost_month, criterion=lost.criterion,
                            tier=lost.tier, aum_before=str(before), aum_now=str(now), aum_lost=str(aum_lost))
                ],
                details={"lost_month": lost_month, "aum_lost": str(aum_lost), "aum_before": str(before),
                         "aum_now": str(now), "criterion": lost.criterion, "tier_before": lost.tier},
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
    SignalKind.ALREADY_LOST: rule_already_lost,
}
