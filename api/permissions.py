"""Role rules that are not about which customers a user sees (that is
``customers.selectors.customer_scope``): who may read model evaluations, run
jobs, import data, read the audit trail."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from customers.models import Role


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.role == Role.ADMIN))


def is_analyst_or_admin(user) -> bool:
    return bool(user and user.is_authenticated and (is_admin(user) or user.role == Role.ANALYST))


def is_branch_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.role in (Role.RM, Role.LOBBY, Role.HEAD))


class IsAdmin(BasePermission):
    """Administrators (role ``admin``, or superusers)."""

    def has_permission(self, request, view):
        return is_admin(request.user)


class IsAnalystOrAdmin(BasePermission):
    """Analysts and administrators: aggregate data, models, imports, the nightly run."""

    def has_permission(self, request, view):
        return is_analyst_or_admin(request.user)


class IsHeadAnalystOrAdmin(BasePermission):
    """Branch heads (their branch), analysts and administrators: the retention report."""

    def has_permission(self, request, view):
        return is_analyst_or_admin(request.user) or (
            request.user and request.user.is_authenticated and request.user.role == Role.HEAD
        )
