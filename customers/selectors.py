"""Reads of customer data, scoped to what the asking user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from customers.models import Customer, Role, User


def customer_scope(*, user: User) -> QuerySet[Customer]:
    """The one place that decides which customers a user may see.

    An RM sees their own customers; lobby managers and branch heads their
    branch; analysts and administrators every customer. Pages, API, exports and
    search all start from this queryset, so a rule changes in one place.
    """
    customers = Customer.objects.all()
    if not user.is_authenticated or not user.is_active:
        return customers.none()
    if user.is_superuser or user.role in (Role.ADMIN, Role.ANALYST):
        return customers
    if user.role == Role.RM:
        return customers.filter(rm_id=user.pk)
    if user.role in (Role.LOBBY, Role.HEAD) and user.branch_id:
        return customers.filter(branch_id=user.branch_id)
    return customers.none()
