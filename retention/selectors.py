"""Reads for the retention pages and API, all scoped through ``customer_scope``.

Held-out (control-group) alerts are excluded here, at the root, so no page can
show one by forgetting a filter.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from audit.services import AuditOrigin, audit_denied
from churn.models import ChurnScore, RiskBand
from core.months import add_months, month_start
from customers.models import Customer, CustomerStatus, Product, ProductKind, ProductYield, Role, User
from customers.selectors import MAX_ID, customer_scope, effective_segment_is
from retention import conf
from retention.models import (
    CALLBACK_KINDS,
    OPEN_STATUSES,
    WORKABLE_STATUSES,
    Alert,
    AlertEvent,
    AlertKind,
    AlertStep,
    Outcome,
    OwnerRole,
    Playbook,
)
from retention.report import retention_report


def alert_scope_for_user(*, user: User, aggregate: bool = False) -> QuerySet[Alert]:
    """Alerts ``user`` may see: on customers in their scope, never held-out ones;
    an RM only the alerts they own. ``aggregate=True``: alerts that may be summed
    into totals (an analyst's dashboard), never listed one by one."""
    alerts = Alert.objects.filter(
        customer_id__in=customer_scope(user=user, aggregate=aggregate).values("pk"), is_control=False
    )
    if user.is_authenticated and not user.is_superuser and user.role == Role.RM:
        alerts = alerts.filter(owner_id=user.pk)
    return alerts


def _ordered(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    # Today's budget first, in rank order; the rest below it by expected value.
    return alerts.order_by(F("in_budget").desc(), F("rank").asc(nulls_last=True), "-priority", "pk")


def alert_list_for_user(*, user: User, filters: dict | None = None) -> QuerySet[Alert]:
    """The ranked alert list. Two queries whatever its length (alerts, then their steps).

    ``filters``: ``status`` (a status or list; default open and in progress),
    ``kind``, ``owner_id``, ``branch_id``, ``in_budget`` (bool), ``customer_id``,
    ``segment`` (the customer's effective segment: the RM's override wins over the
    rules' segment, as in ``Customer.effective_segment``), ``risk_band`` (the band
    the alert was raised with).
    """
    filters = dict(filters or {})
    status = filters.pop("status", None) or list(WORKABLE_STATUSES)
    alerts = alert_scope_for_user(user=user).filter(status__in=[status] if isinstance(status, str) else status)
    for key in ("kind", "owner_id", "branch_id", "in_budget", "customer_id"):
        if filters.get(key) not in (None, ""):
            alerts = alerts.filter(**{key: filters[key]})
    if filters.get("segment"):
        alerts = alerts.filter(effective_segment_is(filters["segment"], through="customer__"))
    if filters.get("risk_band"):
        alerts = alerts.filter(details__risk_band=filters["risk_band"])
    return _ordered(
        alerts.select_related("customer", "playbook", "owner", "branch").prefetch_related(
            Prefetch("steps", queryset=AlertStep.objects.select_related("owner").order_by("order"))
        )
    )


def alert_get_for_user(*, user: User, alert_id: int, origin: AuditOrigin | None = None) -> Alert:
    """One alert with its checklist and history; Http404 outside the user's scope.
    Given the request's ``origin``, a miss is audited as a refused attempt (pages and
    API alike); without it (a re-read after an action) it is not."""
    alerts = alert_scope_for_user(user=user).select_related("customer", "playbook", "owner", "branch")
    alerts = alerts.prefetch_related(
        Prefetch("steps", queryset=AlertStep.objects.select_related("owner", "done_by").order_by("order")),
        Prefetch("events", queryset=AlertEvent.objects.select_related("actor").order_by("at", "pk")),
    )
    try:
        in_range = 0 < int(alert_id) <= MAX_ID
    except (TypeError, ValueError):
        in_range = False
    alert = alerts.filter(pk=alert_id).first() if in_range else None
    if alert is None:
        if origin is not None:
            audit_denied(origin=origin, object_type="retention.alert", object_id=alert_id,
                         reason="not_in_scope_or_missing")
        raise Http404
    return alert


def interception_list(*, user: User, today: dt.date) -> QuerySet[Alert]:
    """Large withdrawals and transfers booked for today or tomorrow, for the lobby manager."""
    until = today + dt.timedelta(days=conf.appointment_days_ahead())
    return (
        alert_scope_for_user(user=user)
        .filter(kind=AlertKind.LARGE_WITHDRAWAL, status__in=OPEN_STATUSES, event_on__gte=today, event_on__lte=until)
        .select_related("customer", "owner")
        .order_by("event_on", "-aum_at_risk", "pk")
    )


def open_alert_kinds_by_customer(*, user: User, customer_ids: list[int]) -> dict[int, list[str]]:
    """customer id -> the kinds (display labels, highest priority first) of their open
    alerts that ``user`` may see: the walk-in lookup's flag. Held-out alerts are never
    shown, not even as a flag. One query."""
    kinds: dict[int, list[str]] = {}
    alerts = (
        alert_scope_for_user(user=user)
        .filter(customer_id__in=customer_ids, status__in=OPEN_STATUSES)
        .order_by("-priority")
    )
    for alert in alerts.only("customer_id", "kind"):
        kinds.setdefault(alert.customer_id, []).append(alert.get_kind_display())
    return kinds


def playbook_talking_points() -> dict[str, list[str]]:
    """segment -> what to say to a walk-in: the active segment playbook's description and
    its first four steps. Two queries."""
    points: dict[str, list[str]] = {}
    for playbook in Playbook.objects.filter(is_active=True).exclude(segment="").prefetch_related("steps"):
        lines = [playbook.description] if playbook.description else []
        lines += [step.text for step in playbook.steps.all()][:4]
        points.setdefault(playbook.segment, lines)
    return points


def callback_queue(*, user: User) -> QuerySet[Alert]:
    """The branch head's calls: satisfaction callbacks and apologies to core customers."""
    return (
        alert_scope_for_user(user=user)
        .filter(
            kind__in=CALLBACK_KINDS,
            owner_role=OwnerRole.HEAD,
            status__in=WORKABLE_STATUSES,
        )
        .select_related("customer", "owner")
        .prefetch_related(Prefetch("steps", queryset=AlertStep.objects.order_by("order")))
        .order_by("event_on", "-priority", "pk")
    )


def branch_dashboard(*, user: User, month: dt.date) -> dict:
    """AUM at risk, alerts raised and worked in ``month``, customers and AUM
    retained vs lost (outcomes measured in ``month``), in total and per owner.
    Three queries."""
    month = month_start(month)
    month_after = add_months(month, 1)
    alerts = alert_scope_for_user(user=user, aggregate=True)
    worked = Exists(AlertEvent.objects.filter(alert_id=OuterRef("pk"), actor__isnull=False))
    zero = Decimal("0")
    measures = {
        "open_alerts": Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        "aum_at_risk": Coalesce(Sum("expected_aum_at_risk", filter=Q(status__in=OPEN_STATUSES)), zero),
        "raised": Count("pk", filter=Q(raised_on__gte=month, raised_on__lt=month_after)),
        "worked": Count("pk", filter=Q(raised_on__gte=month, raised_on__lt=month_after, was_worked=True)),
        "retained_customers": Count(
            "customer", distinct=True,
            filter=Q(outcome=Outcome.RETAINED, outcome_measured_on__gte=month, outcome_measured_on__lt=month_after),
        ),
        "retained_aum": Coalesce(
            Sum("aum_kept", filter=Q(outcome=Outcome.RETAINED, outcome_measured_on__gte=month,
                                     outcome_measured_on__lt=month_after)),
            zero,
        ),
        "lost_customers": Count(
            "customer", distinct=True,
            filter=Q(outcome=Outcome.LOST, outcome_measured_on__gte=month, outcome_measured_on__lt=month_after),
        ),
        "lost_aum": Coalesce(
            Sum("aum_at_window_start", filter=Q(outcome=Outcome.LOST, outcome_measured_on__gte=month,
                                                outcome_measured_on__lt=month_after)),
            zero,
        ),
    }
    annotated = alerts.annotate(was_worked=worked)
    totals = annotated.aggregate(**measures)
    per_owner = list(
        annotated.values("owner_id", "owner__username", "owner__display_name", "owner__role")
        .annotate(**measures)
        .order_by("owner__username")
    )
    return {"month": month, "totals": totals, "per_owner": per_owner}


def dashboard_month(*, requested: dt.date | None, today: dt.date) -> dt.date:
    """The month a dashboard shows: the one asked for (default this month), never a later one."""
    this_month = month_start(today)
    return min(month_start(requested or this_month), this_month)


def measured_alerts_for_user(*, user: User) -> QuerySet[Alert]:
    """Alerts with a measured outcome on the user's customers, *held-out ones included*:
    they are the comparison of the retention report, counted but never listed. So the
    scope is the customers' (``aggregate=True``), not ``alert_scope_for_user``'s."""
    customers = customer_scope(user=user, aggregate=True)
    return Alert.objects.filter(customer__in=customers.values("pk"), outcome__in=Outcome.values)


def expected_aum_at_risk_by_band(*, user: User) -> list[dict]:
    """Expected AUM at risk of the latest nightly scores over the user's customers, one
    entry per risk band (every band, lowest first; 0 where none): ``{band, total}``.
    Empty before the first nightly run. Two queries."""
    latest = ChurnScore.objects.order_by("-scored_on").values_list("scored_on", flat=True).first()
    if latest is None:
        return []
    totals = dict(
        ChurnScore.objects.filter(scored_on=latest,
                                  customer__in=customer_scope(user=user, aggregate=True).values("pk"))
        .values_list("risk_band")
        .annotate(total=Sum("expected_aum_at_risk"))
        .order_by()
    )
    return [{"band": band, "total": float(totals.get(band) or 0)} for band in RiskBand.values]


def dashboard_figures(*, user: User, month: dt.date, trend_months: int) -> dict:
    """Every figure of the branch dashboard for ``month``: ``branch_dashboard``'s totals and
    per-owner rows, the same totals for the ``trend_months`` months ending with ``month``
    (``trend``: ``[{month, totals}]``, oldest first), the expected AUM at risk per band, and
    the retention report over the measured alerts per playbook and per branch."""
    board = branch_dashboard(user=user, month=month)
    trend = []
    for offset in range(trend_months - 1, -1, -1):
        earlier = add_months(board["month"], -offset)
        totals = board["totals"] if offset == 0 else branch_dashboard(user=user, month=earlier)["totals"]
        trend.append({"month": earlier, "totals": totals})
    measured = measured_alerts_for_user(user=user)
    return {
        **board,
        "trend": trend,
        "bands": expected_aum_at_risk_by_band(user=user),
        "report_by_playbook": retention_report(group_by="playbook", alerts=measured),
        "report_by_branch": retention_report(group_by="branch", alerts=measured),
    }


def prize_eligibility_list(*, month: dt.date) -> QuerySet[Customer]:
    """Active customers whose AUM in ``month`` was back to its pre-drop level (recovery alerts).

    Not scoped: the draw is run by an administrator for the whole bank. Held-out
    recovery alerts count too: eligibility is a fact about the customer, and a
    prize draw must not quietly exclude anyone."""
    month = month_start(month)
    recovered = Alert.objects.filter(kind=AlertKind.RECOVERY_ELIGIBLE, event_on=month).values("customer_id")
    return Customer.objects.filter(pk__in=recovered, status=CustomerStatus.ACTIVE).order_by("customer_id")


# Loans and cards are not compared on yield.
YIELD_COMPARED_KINDS: tuple[str, ...] = tuple(
    kind for kind in ProductKind if kind not in (ProductKind.LOAN, ProductKind.CARD)
)


def product_comparison_table(*, kind: str | None = None, since: dt.date | None = None) -> list[dict]:
    """Our products beside competitors' of the same kind (yield, term, yield history since
    ``since``), for the kinds compared on yield (``kind``: only that one).

    Two queries. One group per kind that has products, in ``ProductKind`` order:
    ``{kind, ours: [...], competitors: [...]}``, best yield first, each product
    ``{product_code, name, provider, kind, yield_pct, term_days, is_ours, history:
    [(month, yield_pct)]}``; a competitor's product also has ``beats_ours``: its yield is
    above our best one of the kind."""
    kinds = [value for value in YIELD_COMPARED_KINDS if kind is None or value == kind]
    history = ProductYield.objects.order_by("month")
    if since is not None:
        history = history.filter(month__gte=since)
    products = Product.objects.filter(kind__in=kinds).prefetch_related(Prefetch("yields", queryset=history))
    groups: dict[str, dict] = {}
    for product in products.order_by(F("yield_pct").desc(nulls_last=True), "product_code"):
        group = groups.setdefault(product.kind, {"kind": product.kind, "ours": [], "competitors": []})
        group["ours" if product.is_ours else "competitors"].append(
            {
                "product_code": product.product_code,
                "name": product.name,
                "provider": product.provider,
                "kind": product.kind,
                "yield_pct": product.yield_pct,
                "term_days": product.term_days,
                "is_ours": product.is_ours,
                "history": [(row.month, row.yield_pct) for row in product.yields.all()],
            }
        )
    ordered = [groups[value] for value in kinds if value in groups]
    for group in ordered:
        best_ours = max((p["yield_pct"] for p in group["ours"] if p["yield_pct"] is not None), default=None)
        for product in group["competitors"]:
            product["beats_ours"] = (
                best_ours is not None and product["yield_pct"] is not None and product["yield_pct"] > best_ours
            )
    return ordered


def customer_ids_with_open_alert(*, first_id: int | None = None, last_id: int | None = None) -> set[int]:
    """Customers (pks, within ``first_id..last_id`` if given) with an open, snoozed or in-progress
    alert, held-out ones included: the nightly chain has the churn engine give them reasons
    whatever their risk band. Not scoped to a user: the nightly job's read."""
    alerts = Alert.objects.filter(status__in=OPEN_STATUSES)
    if first_id is not None and last_id is not None:
        alerts = alerts.filter(customer__pk__range=(first_id, last_id))
    return set(alerts.values_list("customer_id", flat=True).distinct())
