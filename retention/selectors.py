"""Reads for the retention pages and API, all scoped through ``customer_scope``.

Held-out (control-group) cases are excluded here, at the root, so no page, list,
export or API can show one by forgetting a filter; aggregates over them (the
retention report) go through ``measured_cases_for_user``.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Prefetch, QuerySet

from core.months import month_start
from customers.models import Customer, CustomerStatus, Product, ProductKind, ProductYield, Role, User
from customers.selectors import customer_scope
from retention.models import OPEN_STATUSES, Case, Outcome, Signal, SignalKind, Task


def case_scope_for_user(*, user: User, aggregate: bool = False) -> QuerySet[Case]:
    """Cases ``user`` may see: on customers in their scope, never held-out ones; an RM
    only the cases they own. ``aggregate=True``: cases that may be summed into totals (an
    analyst's dashboard), never listed one by one."""
    cases = Case.objects.filter(
        customer_id__in=customer_scope(user=user, aggregate=aggregate).values("pk"), is_control=False
    )
    if user.is_authenticated and not user.is_superuser and user.role == Role.RM:
        cases = cases.filter(owner_id=user.pk)
    return cases


def task_scope_for_user(*, user: User) -> QuerySet[Task]:
    """Tasks ``user`` may see: those of the cases in their scope (never of a held-out case,
    which has none), and an RM's own; a lobby manager or head sees the branch's."""
    tasks = Task.objects.filter(case__in=case_scope_for_user(user=user).values("pk"))
    return tasks


def measured_cases_for_user(*, user: User) -> QuerySet[Case]:
    """Cases with a measured outcome on the user's customers, *held-out ones included*:
    they are the comparison of the retention report, counted but never listed. So the
    scope is the customers' (``aggregate=True``), not ``case_scope_for_user``'s."""
    customers = customer_scope(user=user, aggregate=True)
    return Case.objects.filter(customer__in=customers.values("pk"), outcome__in=Outcome.values)


def customer_ids_with_open_case(*, first_id: int | None = None, last_id: int | None = None) -> set[int]:
    """Customers (pks, within ``first_id..last_id`` if given) with an open case, held-out
    ones included: the nightly chain has the churn engine give them reasons whatever their
    risk band. Not scoped to a user: the nightly job's read."""
    cases = Case.objects.filter(status__in=OPEN_STATUSES)
    if first_id is not None and last_id is not None:
        cases = cases.filter(customer__pk__range=(first_id, last_id))
    return set(cases.values_list("customer_id", flat=True).distinct())


def prize_eligibility_list(*, month: dt.date) -> QuerySet[Customer]:
    """Active customers whose AUM in ``month`` was back to its pre-drop level (recovery signals).

    Not scoped: the draw is run by an administrator for the whole bank. Held-out
    recovery signals count too: eligibility is a fact about the customer, and a
    prize draw must not quietly exclude anyone."""
    month = month_start(month)
    recovered = Signal.objects.filter(kind=SignalKind.RECOVERY_ELIGIBLE, event_on=month).values("customer_id")
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
