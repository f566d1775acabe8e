"""Reads of customer data, scoped to what the asking user may see."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.http import Http404

from audit.services import AuditOrigin, audit_denied, audit_list_viewed
from customers.models import (
    ContactChannel,
    ContactConsent,
    ContactLog,
    Customer,
    CustomerStatus,
    Holding,
    Role,
    Survey,
    User,
)

# Largest primary key a database column holds; a larger id cannot exist (and would overflow
# SQLite's integer conversion), so it is simply not found.
MAX_ID = 2**63 - 1


def customer_scope(*, user: User, aggregate: bool = False) -> QuerySet[Customer]:
    """The one place that decides which customers a user may see.

    An RM sees their own customers; lobby managers and branch heads their
    branch; administrators every customer. Analysts read aggregate data only
    (model evaluation, retention report), never an individual customer's record.
    Pages, API, exports and search all start from this queryset, so a rule
    changes in one place.

    ``aggregate=True`` asks for the customers whose figures may be summed into a
    total (dashboards, reports), never shown one by one: for analysts that is
    every customer; for everyone else it is the same as their record scope.
    """
    customers = Customer.objects.all()
    if not user.is_authenticated or not user.is_active:
        return customers.none()
    if user.is_superuser or user.role == Role.ADMIN:
        return customers
    if user.role == Role.ANALYST:
        return customers if aggregate else customers.none()
    if user.role == Role.RM:
        return customers.filter(rm_id=user.pk)
    if user.role in (Role.LOBBY, Role.HEAD) and user.branch_id:
        return customers.filter(branch_id=user.branch_id)
    return customers.none()


def customer_get_for_user_or_404(*, user: User, pk: int | str, origin: AuditOrigin) -> Customer:
    """The customer ``pk`` if ``user`` may see it; otherwise Http404 — the same answer
    whether it does not exist or is not theirs — and a ``denied`` audit event, so that
    probing shows in the trail from the pages as from the API."""
    scope = customer_scope(user=user).select_related("branch", "rm")
    try:
        in_range = 0 < int(pk) <= MAX_ID
    except (TypeError, ValueError):
        in_range = False
    customer = scope.filter(pk=pk).first() if in_range else None
    if customer is None:
        audit_denied(origin=origin, object_type="customers.customer", object_id=pk,
                     reason="not_in_scope_or_missing")
        raise Http404
    return customer


def effective_segment_is(segment: str, *, through: str = "") -> Q:
    """A filter for customers whose effective segment is ``segment``: the RM's override wins
    over the rules' segment, as in ``Customer.effective_segment``. ``through`` is the path
    to the customer from the model filtered (``"customer__"`` for alerts)."""
    return Q(**{f"{through}segment_override": segment}) | Q(
        **{f"{through}segment_override": "", f"{through}segment": segment})


def contact_follow_ups_due(*, user: User, today: dt.date, days_back: int = 7, limit: int = 10) -> list[ContactLog]:
    """Contacts on the user's customers whose next step fell due in the last ``days_back``
    days up to ``today``, earliest first: the "follow-ups due" box of the RM's list. One query."""
    return list(
        ContactLog.objects.filter(
            customer__in=customer_scope(user=user).values("pk"),
            next_step_on__gte=today - dt.timedelta(days=days_back),
            next_step_on__lte=today,
        )
        .select_related("customer", "staff")
        .order_by("next_step_on", "-contacted_at")[:limit]
    )


def survey_history(*, customer_ids: list[int], per_customer: int = 5) -> dict[int, list[Survey]]:
    """customer id -> their latest ``per_customer`` surveys, newest first. One query; the
    caller passes customers already in the user's scope (a page of the callback queue)."""
    history: dict[int, list[Survey]] = defaultdict(list)
    for survey in Survey.objects.filter(customer_id__in=customer_ids).order_by("customer_id", "-surveyed_on"):
        if len(history[survey.customer_id]) < per_customer:
            history[survey.customer_id].append(survey)
    return history


def customer_balance_history(*, customer: Customer, months: int) -> list[dict]:
    """The customer's last ``months`` monthly balances, oldest first: month, AUM and its
    breakdown (deposits, wealth products, loans). One query."""
    rows: list[dict] = [dict(row) for row in customer.balances.order_by("-month").values(
        "month", "aum", "deposit_balance", "wealth_balance", "loan_balance"
    )[:months]]
    rows.reverse()
    return rows


def customer_holdings_by_maturity(*, customer: Customer, today: dt.date) -> list[Holding]:
    """What the customer holds, ours and competitors', each with ``days_to_maturity`` (None:
    open-ended): what matures next first, then open-ended holdings, then those already
    matured (latest first). One query."""
    holdings = list(customer.holdings.select_related("product").order_by("maturity_on", "-amount"))
    for holding in holdings:
        holding.days_to_maturity = (holding.maturity_on - today).days if holding.maturity_on else None
    holdings.sort(key=lambda h: (
        0 if h.days_to_maturity is not None and h.days_to_maturity >= 0 else 1 if h.maturity_on is None else 2,
        abs(h.days_to_maturity or 0),
    ))
    return holdings


def customer_recent_surveys(*, customer: Customer, limit: int = 10) -> list[Survey]:
    return list(customer.surveys.all()[:limit])


def customer_recent_contacts(*, customer: Customer, limit: int = 20) -> list[ContactLog]:
    return list(customer.contacts.select_related("staff")[:limit])


def walkin_matches(*, user: User, query: str) -> QuerySet[Customer]:
    """Customers the user may see that match a name prefix, or the last four
    digits of the phone or ID number (both indexed columns)."""
    query = (query or "").strip()
    customers = customer_scope(user=user).filter(status=CustomerStatus.ACTIVE)
    if not query:
        return customers.none()
    tail = query.upper()
    if len(tail) == 4 and tail[:3].isdigit() and (tail[3].isdigit() or tail[3] == "X"):
        customers = customers.filter(Q(phone_tail=tail) | Q(id_tail=tail))
    elif query.isdigit():
        # Only the last four digits are looked up: a longer number is not searched at all.
        return customers.none()
    else:
        customers = customers.filter(name__startswith=query)
    return customers.select_related("rm").only(
        "name", "customer_id", "phone_tail", "id_tail", "segment", "segment_override", "tier", "latest_aum",
        "branch_id", "rm__display_name", "rm__username", "rm__first_name", "rm__last_name",
    ).order_by("name", "pk")


def walkin_lookup(*, user: User, query: str, limit: int, origin: AuditOrigin) -> tuple[list[Customer], bool]:
    """The first ``limit`` walk-in matches (see ``walkin_matches``) and whether there are
    more; the lookup is audited with the customers it showed. The query itself is kept
    out of the trail (it may be a name); its kind is recorded."""
    query = (query or "").strip()
    if not query:
        return [], False
    matches = list(walkin_matches(user=user, query=query)[: limit + 1])
    more = len(matches) > limit
    matches = matches[:limit]
    kind = "tail" if query.isdigit() or (len(query) == 4 and query[:3].isdigit()) else "name"
    audit_list_viewed(origin=origin, what="lookup", filters={"query": kind}, rows=len(matches),
                      customer_ids=[customer.customer_id for customer in matches])
    return matches, more


def branch_staff(*, roles: Iterable[str], branch_ids: Iterable[int] | None = None) -> dict[int, dict[str, User]]:
    """branch id -> role -> the branch's first active member of staff in that role (lowest
    id): who takes that role's work in a branch, for the nightly job's alert owners and the
    lobby's hand-overs alike. One query; ``branch_ids`` None means every branch."""
    users = User.objects.filter(is_active=True, role__in=roles, branch__isnull=False)
    if branch_ids is not None:
        users = users.filter(branch_id__in=set(branch_ids))
    staff: dict[int, dict[str, User]] = {}
    for user in users.order_by("pk").only(
        "pk", "branch_id", "role", "username", "display_name", "first_name", "last_name"
    ):
        if user.branch_id is not None:  # always, by the filter above; this tells the type checker
            staff.setdefault(user.branch_id, {}).setdefault(user.role, user)
    return staff


def branch_heads(*, branch_ids: Iterable[int]) -> dict[int, User]:
    """branch id -> its branch head (see ``branch_staff``)."""
    return {branch: by_role[Role.HEAD] for branch, by_role in branch_staff(roles=[Role.HEAD],
                                                                           branch_ids=branch_ids).items()}


def customer_handover_recipients(*, customers: list[Customer]) -> dict[int, User | None]:
    """customer pk -> whom the lobby hands them over to: the customer's RM; for a customer
    not assigned to an RM, the branch head, who also owns that customer's alerts
    (``retention.raising._owner_for``); None when the branch has no head either. One
    query, and only when one of the customers has no RM."""
    unassigned = {customer.branch_id for customer in customers if customer.rm_id is None}
    heads = branch_heads(branch_ids=unassigned) if unassigned else {}
    return {customer.pk: customer.rm if customer.rm_id is not None else heads.get(customer.branch_id)
            for customer in customers}


def customer_handover_recipient(*, customer: Customer) -> User | None:
    """Whom the lobby hands one walk-in over to (see ``customer_handover_recipients``)."""
    return customer_handover_recipients(customers=[customer])[customer.pk]


def customer_consents(*, customer: Customer) -> list[ContactConsent]:
    """The customer's contact preferences, one per channel that has one, in the channels'
    order (a cleared flag too: it says who cleared it and when). One query."""
    order = {channel: i for i, channel in enumerate(ContactChannel.values)}
    consents = list(ContactConsent.objects.filter(customer=customer).select_related("set_by"))
    return sorted(consents, key=lambda consent: order.get(consent.channel, len(order)))
