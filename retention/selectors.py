"""Reads for the retention pages and API, all scoped through ``customer_scope``.

Held-out (control-group) cases are excluded here, at the root, so no page, list,
export or API can show one by forgetting a filter; aggregates over them (the
retention report) go through ``measured_cases_for_user``.
"""

from __future__ import annotations

from django.db.models import QuerySet

from customers.models import Role, User
from customers.selectors import customer_scope
from retention.models import OPEN_STATUSES, Case, Outcome, Task


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
