"""Reads for the branch's own work: the lobby manager's walk-in flags and talking points,
the interception list (the lobby's tasks on booked large withdrawals) and the branch head's
callback queue (the head's tasks on callback signals).

Everything starts from ``case_scope_for_user`` / ``task_scope_for_user``, which leave
held-out (control-group) cases out at the root: a held-out customer is never flagged, has
no talking point and no task on these lists, and looks exactly like a customer with no case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from audit.services import AuditOrigin, audit_denied
from core.keyset import Key
from customers import conf as customers_conf
from customers import tiers
from customers.models import Customer, Role, User
from customers.selectors import MAX_ID
from retention import conf
from retention.models import (
    CALLBACK_KINDS,
    OPEN_STATUSES,
    WORKABLE_STATUSES,
    Case,
    CaseKind,
    OwnerRole,
    Signal,
    SignalKind,
    Task,
    TaskStatus,
)
from retention.replacement import replacements_for_signals
from retention.selectors import case_scope_for_user, task_scope_for_user
from retention.talking_points import CustomerFacts, SignalFacts, TalkingPoint, talking_points

# The lobby's interception tasks are the lobby steps of the large-withdrawal playbook.
INTERCEPTION_KIND = SignalKind.LARGE_WITHDRAWAL


@dataclass
class WalkinFlag:
    """Why a walk-in is flagged: their open (shown) case, its active signals (leading first),
    and what to say. For a win-back case, the month the customer left by the churn definition
    and the AUM that left."""

    case: Case
    signals: list[Signal]
    lobby_tasks: list[Task]
    talking_points: list[TalkingPoint] = field(default_factory=list)
    # The lobby's interception of a booked withdrawal: open (to record, on the interception
    # list or from the lookup), else the one recorded today.
    interception: Task | None = None

    @property
    def is_win_back(self) -> bool:
        return self.case.kind == CaseKind.WIN_BACK

    @property
    def lost_month(self) -> dt.date | None:
        return self.case.lost_month

    @property
    def aum_lost(self) -> Decimal | None:
        return self.case.aum_lost

    @property
    def signal_labels(self) -> list[str]:
        return list(dict.fromkeys(signal.get_kind_display() for signal in self.signals))


def customer_facts(customer: Customer) -> CustomerFacts:
    """What the talking points read of a customer: the segment (the RM's override winning) and
    the tier whose floor their AUM is just above (``RETENTION_TIER_MARGIN``), if any."""
    near = tiers.tier_floor_near(customer.latest_aum or 0, customers_conf.tier_floors(), conf.tier_margin())
    return CustomerFacts(segment=customer.effective_segment, near_floor_tier=near)


def customer_talking_points(*, customer: Customer, today: dt.date) -> list[TalkingPoint]:
    """The talking points of a walk-in with no case shown: the segment's lines only."""
    return talking_points(customer=customer_facts(customer), signals=[], today=today)


def walkin_flags(*, user: User, customer_ids: list[int], today: dt.date | None = None) -> dict[int, WalkinFlag]:
    """customer pk -> the flag of their open case that ``user`` may see (none for a customer
    without one, or whose case is held out), with its talking points
    (``retention.talking_points``: a line per active signal, the lobby's open steps, the
    segment's lines). Three queries whatever the number of customers (the cases with their
    customers, their active signals, their lobby tasks), two more when a signal is a maturing
    holding (our catalogue and the holdings: the replacement product to name)."""
    if not customer_ids:
        return {}
    today = today or timezone.localdate()
    signals = Signal.objects.filter(is_active=True).select_related("playbook").order_by("-priority", "pk")
    # Open lobby tasks, and the interceptions recorded today (the lookup shows what was recorded).
    lobby_tasks = (
        Task.objects.filter(owner_role=OwnerRole.LOBBY)
        .filter(Q(status=TaskStatus.OPEN) | Q(status=TaskStatus.DONE, signal__kind=INTERCEPTION_KIND,
                                               done_at__date=today))
        .select_related("signal", "done_by").order_by("due_on", "order", "pk")
    )
    cases = list(
        case_scope_for_user(user=user)
        .filter(customer_id__in=customer_ids, status__in=OPEN_STATUSES)
        .select_related("playbook", "customer")
        .prefetch_related(Prefetch("signals", queryset=signals, to_attr="active_signals"),
                          Prefetch("tasks", queryset=lobby_tasks, to_attr="lobby_tasks_shown"))
    )
    replacements = replacements_for_signals(signals=[signal for case in cases for signal in case.active_signals])
    flags: dict[int, WalkinFlag] = {}
    for case in cases:
        active: list[Signal] = case.active_signals
        tasks: list[Task] = case.lobby_tasks_shown
        interceptions = [task for task in tasks if task.signal and task.signal.kind == INTERCEPTION_KIND]
        interceptions.sort(key=lambda task: task.status != TaskStatus.OPEN)  # an open one first
        steps = [task for task in tasks if task not in interceptions and task.status == TaskStatus.OPEN]
        recorded = {task.signal_id for task in interceptions if task.status == TaskStatus.DONE}
        # A booking whose visit is recorded is said by its record, not as something still to do.
        facts = [SignalFacts(kind=signal.kind, event_on=signal.event_on, details=signal.details or {},
                             probability=signal.probability, replacement=replacements.get(signal.pk))
                 for signal in active if signal.pk not in recorded]
        points = talking_points(customer=customer_facts(case.customer), signals=facts,
                                lobby_steps=[task.text for task in steps], today=today)
        flags[case.customer_id] = WalkinFlag(case=case, signals=active, lobby_tasks=steps, talking_points=points,
                                             interception=interceptions[0] if interceptions else None)
    return flags


def interception_tasks_for_user(*, user: User, today: dt.date) -> QuerySet[Task]:
    """The lobby's interception list: the lobby tasks of booked large withdrawals and
    transfers due today or tomorrow (``RETENTION_APPOINTMENT_DAYS_AHEAD``), to do and done
    (a recorded interception stays on the list with its outcome). The booking day first,
    then the largest amount."""
    until = today + dt.timedelta(days=conf.appointment_days_ahead())
    return (
        task_scope_for_user(user=user)
        .filter(owner_role=OwnerRole.LOBBY, signal__kind=INTERCEPTION_KIND, due_on__gte=today, due_on__lte=until)
        .filter(Q(status=TaskStatus.OPEN, case__status__in=OPEN_STATUSES) | Q(status=TaskStatus.DONE))
        .select_related("case", "case__customer", "case__owner", "signal", "done_by")
        .order_by("due_on", "-signal__aum_at_risk", "pk")
    )


# The interception list's order as keyset paging keys (``core.keyset``).
INTERCEPTION_KEYS = [Key("due_on"), Key("signal__aum_at_risk", descending=True), Key("pk")]


def _head_calls() -> QuerySet[Task]:
    return Task.objects.filter(owner_role=OwnerRole.HEAD, signal__kind__in=CALLBACK_KINDS)


def callback_tasks_for_user(*, user: User, today: dt.date) -> QuerySet[Task]:
    """The branch head's callback queue: the head's tasks on callback signals (satisfaction
    fell, an apology owed), one per case, so no customer is on it twice: the case's next call
    (its earliest open one, of a workable case); for a case with no call left to make, its call
    done today, which stays on the queue marked done. What is due first comes first, then the
    case's expected value; done ones last."""
    next_open = _head_calls().filter(case=OuterRef("case"), status=TaskStatus.OPEN).order_by(
        "due_on", "order", "pk").values("pk")[:1]
    last_done_today = _head_calls().filter(case=OuterRef("case"), status=TaskStatus.DONE,
                                           done_at__date=today).order_by("-done_at", "-pk").values("pk")[:1]
    open_left = Exists(_head_calls().filter(case=OuterRef("case"), status=TaskStatus.OPEN))
    return (
        task_scope_for_user(user=user)
        .filter(owner_role=OwnerRole.HEAD, signal__kind__in=CALLBACK_KINDS)
        .filter(
            Q(status=TaskStatus.OPEN, case__status__in=WORKABLE_STATUSES, pk=Subquery(next_open))
            | (Q(status=TaskStatus.DONE, pk=Subquery(last_done_today))
               & (~Q(case__status__in=WORKABLE_STATUSES) | ~Q(open_left)))
        )
        .select_related("case", "case__customer", "case__owner", "signal", "done_by")
        # The ones still to call (not done: no done_at) above those done today.
        .order_by(F("done_at").asc(nulls_first=True), "due_on", "-case__priority", "pk")
    )


# The callback queue's order as keyset paging keys: still to call (no ``done_at``) first.
CALLBACK_KEYS = [Key("done_at", nulls_first=True), Key("due_on"), Key("case__priority", descending=True), Key("pk")]


def callbacks_done_today(*, tasks: list[Task], today: dt.date) -> dict[int, list[Task]]:
    """case id -> the head's calls done today on the cases of ``tasks`` (a page of the queue,
    already scoped), other than the tasks themselves: shown on the case's card above its next
    call. One query."""
    done = (_head_calls().filter(case_id__in={task.case_id for task in tasks}, status=TaskStatus.DONE,
                                 done_at__date=today)
            .exclude(pk__in=[task.pk for task in tasks]).select_related("done_by").order_by("done_at", "pk"))
    by_case: dict[int, list[Task]] = {}
    for task in done:
        by_case.setdefault(task.case_id, []).append(task)
    return by_case


def branch_task_doable_by(*, user: User, task: Task) -> bool:
    """Who does a branch task (one already in the user's scope): its owner; a member of staff
    in the task's role (a second lobby manager, or the head, who covers the lobby); an
    administrator. An RM never does the lobby's or the head's task."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.role == Role.ADMIN or task.owner_id == user.pk:
        return True
    if task.owner_role == OwnerRole.LOBBY:
        return user.role in (Role.LOBBY, Role.HEAD)
    return task.owner_role == OwnerRole.HEAD and user.role == Role.HEAD


def branch_task_get_for_user(*, user: User, task_id: int | str, origin: AuditOrigin | None = None) -> Task:
    """One task of a case ``user`` may see; Http404 otherwise (missing or out of scope: the
    same answer). Given the request's ``origin``, a miss is audited as a refused attempt."""
    try:
        in_range = 0 < int(task_id) <= MAX_ID
    except (TypeError, ValueError):
        in_range = False
    task = (
        task_scope_for_user(user=user).select_related("case", "case__customer", "case__owner", "signal", "done_by")
        .filter(pk=task_id).first() if in_range else None
    )
    if task is None:
        if origin is not None:
            audit_denied(origin=origin, object_type="retention.task", object_id=task_id,
                         reason="not_in_scope_or_missing")
        raise Http404
    return task
