"""Reads of customer data, scoped to what the asking user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from customers.models import Customer, Role, User


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


REVEAL_PERMISSION = "customers.reveal_personal_data"


def personal_data_reveal_allowed(*, user: User) -> bool:
    """Whether ``user`` may see a masked field (ID number, phone) in full, on a
    customer already in their scope. Granted per user or group in the admin
    (permission ``customers.reveal_personal_data``); superusers have it."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(REVEAL_PERMISSION))
