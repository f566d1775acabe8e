"""Reads for the retention pages and API, all scoped through ``customer_scope``.

Held-out (control-group) cases are excluded here, at the root, so no page, list,
export or API can show one by forgetting a filter; aggregates over them (the
retention report) go through ``measured_cases_for_user``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case as DbCase
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin, audit_denied
from core.keyset import Key
from core.months import month_start
from customers.models import (
    ContactLog,
    Customer,
    CustomerStatus,
    Product,
    ProductKind,
    ProductYield,
    Role,
    Survey,
    User,
)
from customers.selectors import MAX_ID, customer_scope, effective_segment_is
from retention import conf
from retention.contactability import case_blocked_expression
from retention.models import (
    OPEN_STATUSES,
    WORKABLE_STATUSES,
    Case,
    CaseEvent,
    Outcome,
    Signal,
    SignalKind,
    Task,
    TaskStatus,
)


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


# The task filters of the list and the daily digest (retention.digest): one definition for both,
# so the digest's count is the list's by construction.
DUE_TODAY, OVERDUE, ESCALATED = "today", "overdue", "escalated"
DUE_FILTERS = (DUE_TODAY, OVERDUE, ESCALATED)


def tasks_due_for_user(*, user: User, today: dt.date, due: str) -> QuerySet[Task]:
    """Open tasks on the cases of the user's list (open or in progress; a snoozed case is put
    off, so its tasks are not due): ``today`` and ``overdue`` are the user's own tasks due
    today / before today; ``escalated`` the tasks of the user's scope handed up to the branch
    head (``retention.escalation``), whoever owns them: the head's (an administrator's: every
    branch's) watch list."""
    if due not in DUE_FILTERS:
        raise ValueError(f"unknown due filter {due!r}")
    tasks = task_scope_for_user(user=user).filter(status=TaskStatus.OPEN, case__status__in=WORKABLE_STATUSES)
    if due == ESCALATED:
        return tasks.filter(escalated_on__isnull=False)
    tasks = tasks.filter(owner_id=user.pk)
    return tasks.filter(due_on=today) if due == DUE_TODAY else tasks.filter(due_on__lt=today)


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


# --- the RM's list, one case, the day's progress ------------------------------------------
# (the pages' and the API's reads of cases; held-out cases never, by case_scope_for_user)

# Time-critical cases first (a task due today or tomorrow, a booked large withdrawal), then
# the expected value of working the case: the order of the nightly ranking, read back here.
LIST_ORDER = (F("urgent").desc(), F("priority").desc(), F("pk").asc())


def _signals_prefetch() -> Prefetch:
    # Active signals first, each group highest expected value first: every reason is shown.
    return Prefetch(
        "signals",
        queryset=Signal.objects.select_related("playbook").order_by("-is_active", "-priority", "pk"),
    )


def _tasks_prefetch() -> Prefetch:
    return Prefetch(
        "tasks",
        queryset=Task.objects.select_related("owner", "done_by", "contact").order_by("due_on", "order", "pk"),
    )


def case_list_for_user(*, user: User, filters: dict | None = None, ranked: bool = True) -> QuerySet[Case]:
    """The RM's daily list (a head's or lobby manager's: the branch's), one row per case.

    Three queries whatever its length (cases, their signals, their tasks). Each row has
    ``list_rank``: its place among the owner's cases *of this list* (time-critical first,
    then expected value), so the ranks are contiguous over what the user is shown; the
    first ``RETENTION_DAILY_BUDGET`` of an owner's unfiltered list are today's budget
    (``case_list_budget``). A case blocked by the customer's wishes (``contact_blocked``)
    comes after the owner's other cases.

    ``filters``: ``status`` (a status or list; default open and in progress), ``kind`` (the
    case's kind), ``signal`` (cases with an active signal of that kind), ``owner_id``,
    ``branch_id``, ``customer_id``, ``urgent`` (bool), ``segment`` (the customer's effective
    segment, the RM's override winning), ``risk_band`` (the band of the case's active model
    risk signal), ``due`` (cases with a task of ``tasks_due_for_user``: ``today``, ``overdue``,
    ``escalated``; with ``today``, the day it is due on).

    ``ranked=False``: no ``list_rank`` (a window over the whole list, read by every request
    whatever the page): the branch-wide lists page by keyset (``LIST_KEYS``) and rank only
    the page's rows (``case_list_ranks``), the API orders by expected value.
    """
    filters = dict(filters or {})
    status = filters.pop("status", None) or list(WORKABLE_STATUSES)
    cases = case_scope_for_user(user=user).filter(status__in=[status] if isinstance(status, str) else status)
    for key in ("kind", "owner_id", "branch_id", "customer_id", "urgent"):
        if filters.get(key) not in (None, ""):
            cases = cases.filter(**{key: filters[key]})
    if filters.get("signal"):
        cases = cases.filter(Exists(Signal.objects.filter(case_id=OuterRef("pk"), is_active=True,
                                                          kind=filters["signal"])))
    if filters.get("segment"):
        cases = cases.filter(effective_segment_is(filters["segment"], through="customer__"))
    if filters.get("due"):
        today = filters.get("today") or timezone.localdate()
        cases = cases.filter(pk__in=tasks_due_for_user(user=user, today=today, due=filters["due"]).values("case_id"))
    if filters.get("risk_band"):
        cases = cases.filter(Exists(Signal.objects.filter(
            case_id=OuterRef("pk"), is_active=True, kind=SignalKind.MODEL_RISK,
            details__risk_band=filters["risk_band"])))
    # A case the customer's wishes block today (retention.contactability) sinks to the end,
    # as the night's ranking leaves it out of the budget.
    # Only the ranked list (an RM's own book) sinks them: the branch-wide lists page by keyset
    # on the night's order (``LIST_KEYS``), in which a blocked case is already not time-critical.
    order: tuple = LIST_ORDER
    if ranked:
        cases = cases.annotate(contact_blocked=case_blocked_expression(today=timezone.localdate()))
        order = (F("contact_blocked").asc(), *LIST_ORDER)
        cases = cases.annotate(list_rank=Window(RowNumber(), partition_by=[F("owner_id")], order_by=list(order)))
    return (
        cases
        .select_related("customer", "playbook", "owner", "branch")
        .prefetch_related(_signals_prefetch(), _tasks_prefetch())
        .order_by(*order)
    )


# The list's order as keyset paging keys (``core.keyset``): the same as ``LIST_ORDER``.
LIST_KEYS = [Key("urgent", descending=True), Key("priority", descending=True), Key("pk")]


def case_list_ranks(*, cases: QuerySet[Case], page: list[Case]) -> None:
    """Set ``list_rank`` on the rows of ``page`` (a page of ``cases``, a list without ranks):
    each row's place among its owner's cases of the whole list, as the window of
    ``case_list_for_user`` numbers them, counted for these rows only. One query."""
    if not page:
        return
    before = (Q(urgent__gt=OuterRef("urgent"))
              | Q(urgent=OuterRef("urgent"), priority__gt=OuterRef("priority"))
              | Q(urgent=OuterRef("urgent"), priority=OuterRef("priority"), pk__lt=OuterRef("pk")))
    ahead = (cases.filter(before, owner_id=OuterRef("owner_id")).order_by().values("owner_id")
             .annotate(n=Count("pk")).values("n"))
    ranks = dict(Case.objects.filter(pk__in=[case.pk for case in page])
                 .annotate(ahead=Subquery(ahead)).values_list("pk", "ahead"))
    for case in page:
        case.list_rank = (ranks.get(case.pk) or 0) + 1  # type: ignore[attr-defined]


def case_list_budget() -> int:
    """How many rows of an owner's list are today's budget."""
    return conf.daily_budget()


def case_get_for_user(*, user: User, case_id: int | str, origin: AuditOrigin | None = None) -> Case:
    """One case with its signals, tasks and history; Http404 outside the user's scope
    (held-out cases included). Given the request's ``origin``, a miss is audited as a
    refused attempt (pages and API alike); without it (a re-read after an action) not."""
    cases = case_scope_for_user(user=user).select_related("customer", "playbook", "owner", "branch", "closed_by")
    cases = cases.prefetch_related(
        _signals_prefetch(),
        _tasks_prefetch(),
        Prefetch("events", queryset=CaseEvent.objects.select_related("actor", "task").order_by("at", "pk")),
    )
    try:
        in_range = 0 < int(case_id) <= MAX_ID
    except (TypeError, ValueError):
        in_range = False
    case = cases.filter(pk=case_id).first() if in_range else None
    if case is None:
        if origin is not None:
            audit_denied(origin=origin, object_type="retention.case", object_id=case_id,
                         reason="not_in_scope_or_missing")
        raise Http404
    return case


def customer_cases_for_user(*, user: User, customer_id: int) -> list[Case]:
    """Every case of one customer the user may see, open ones first, then newest first:
    the customer 360's cases and their timeline (signals, tasks, history). Four queries."""
    return list(
        case_scope_for_user(user=user)
        .filter(customer_id=customer_id)
        .select_related("playbook", "owner", "closed_by")
        .prefetch_related(
            _signals_prefetch(),
            _tasks_prefetch(),
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor", "task").order_by("at", "pk")),
        )
        .order_by(
            DbCase(When(status__in=list(OPEN_STATUSES), then=0), default=1), "-opened_on", "-pk"
        )
    )


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def tasks_done_today(*, user: User, today: dt.date) -> QuerySet[Task]:
    """The tasks ``user`` did on ``today`` (the bank's time zone), on cases still in their scope."""
    start, end = _day_bounds(today)
    return task_scope_for_user(user=user).filter(
        status=TaskStatus.DONE, done_by_id=user.pk, done_at__gte=start, done_at__lt=end
    )


@dataclass(frozen=True)
class Progress:
    """The RM's progress line: "worked today of the day's budget"."""

    cases_worked: int  # distinct cases the user did a task on, logged a contact on or closed today
    tasks_done: int
    budget: int  # the day's budget: RETENTION_DAILY_BUDGET, or fewer cases when fewer are open
    open_cases: int  # workable cases on the user's list now


def progress_for_user(*, user: User, today: dt.date) -> Progress:
    """What the user has done today against the day's budget. Three queries."""
    start, end = _day_bounds(today)
    worked = CaseEvent.objects.filter(
        case__in=case_scope_for_user(user=user).values("pk"), actor_id=user.pk, at__gte=start, at__lt=end,
        action__in=[CaseEvent.Action.TASK_DONE, CaseEvent.Action.CONTACT_LOGGED, CaseEvent.Action.CLOSED,
                    CaseEvent.Action.DISMISSED, CaseEvent.Action.TASK_OUTCOME],
    ).aggregate(cases=Count("case_id", distinct=True))["cases"]
    tasks = tasks_done_today(user=user, today=today).count()
    own = case_scope_for_user(user=user).filter(owner_id=user.pk)
    counts = own.aggregate(
        open_cases=Count("pk", filter=Q(status__in=WORKABLE_STATUSES)),
        closed_today=Count("pk", filter=Q(closed_by_id=user.pk, closed_at__gte=start, closed_at__lt=end)),
    )
    open_cases = counts["open_cases"]
    # Fewer cases than the budget: the day's budget is what there was to do (what is open now
    # and what the user closed today), so "all done" reads as such.
    budget = min(case_list_budget(), open_cases + counts["closed_today"])
    return Progress(cases_worked=worked, tasks_done=tasks, budget=budget, open_cases=open_cases)


def tasks_completed_by_contact(*, contact_id: int) -> list[Task]:
    """The tasks a logged contact completed (``case_services.contact_log``): what a call
    logged from a list row answers with. One query."""
    return list(Task.objects.filter(contact_id=contact_id).order_by("due_on", "order", "pk"))


# --- the customer 360's timeline --------------------------------------------------------------

TIMELINE_PAGE = 50
TIMELINE_MAX = 500


@dataclass(frozen=True)
class TimelineItem:
    """One thing that happened with a customer. ``at`` orders the timeline; ``date_only``
    says the source knows only the day (a case opened, a task created, a survey), which is
    then placed at the start of that day. ``kind``: case_opened, case_closed, case_outcome,
    task_created, task_done, contact, survey, reveal; ``obj`` the row it comes from."""

    at: dt.datetime
    date_only: bool
    kind: str
    obj: object
    # Orders entries of the same moment, newest first: a case's tasks above its opening.
    sequence: int = 0


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def customer_timeline(*, user: User, customer: Customer, limit: int = TIMELINE_PAGE) -> tuple[list[TimelineItem], bool]:
    """Everything that happened with ``customer`` that ``user`` may see, newest first: cases
    opened, closed and measured, tasks created and done, contacts, surveys, and reveals of
    the customer's masked data (from the audit trail). The newest ``limit`` (at most
    ``TIMELINE_MAX``) and whether there is more. Five queries whatever the history: each
    source gives at most its newest ``limit`` + 1 rows, which is all the merged top can hold."""
    limit = max(1, min(limit, TIMELINE_MAX))
    fetch = limit + 1  # one more than shown: whether there is more
    items: list[TimelineItem] = []
    cases = list(
        case_scope_for_user(user=user).filter(customer_id=customer.pk).select_related("closed_by")
        .order_by("-opened_on", "-pk")[:fetch]
    )
    for case in cases:
        items.append(TimelineItem(_start_of(case.opened_on), True, "case_opened", case))
        if case.closed_at is not None:
            items.append(TimelineItem(case.closed_at, False, "case_closed", case))
        if case.outcome and case.outcome_measured_on is not None:
            items.append(TimelineItem(_start_of(case.outcome_measured_on), True, "case_outcome", case, 2))
    # The tasks of the cases the user may see (held-out cases have none), created and done.
    tasks = Task.objects.filter(case__in=case_scope_for_user(user=user).filter(customer_id=customer.pk))
    for task in tasks.order_by("-created_on", "-pk")[:fetch]:
        items.append(TimelineItem(_start_of(task.created_on), True, "task_created", task, 1))
    done = tasks.filter(status=TaskStatus.DONE, done_at__isnull=False).select_related("done_by")
    for task in done.order_by("-done_at", "-pk")[:fetch]:
        assert task.done_at is not None  # by the filter
        items.append(TimelineItem(task.done_at, False, "task_done", task))
    for contact in ContactLog.objects.filter(customer=customer).select_related("staff").order_by(
            "-contacted_at", "-pk")[:fetch]:
        items.append(TimelineItem(contact.contacted_at, False, "contact", contact))
    for survey in Survey.objects.filter(customer=customer).order_by("-surveyed_on", "-pk")[:fetch]:
        items.append(TimelineItem(_start_of(survey.surveyed_on), True, "survey", survey))
    for event in AuditEvent.objects.filter(customer=customer, action=AuditAction.REVEAL).select_related(
            "actor").order_by("-at", "-pk")[:fetch]:
        items.append(TimelineItem(event.at, False, "reveal", event))
    items.sort(key=lambda item: (item.at, item.sequence), reverse=True)
    return items[:limit], len(items) > limit
