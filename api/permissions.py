"""DRF permission classes over the role rules in ``customers.permissions`` (the same
predicates the pages ask). Which customers a user sees is ``customer_scope``."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from customers.permissions import user_can_read_branch_figures, user_can_use_model_pages, user_is_admin


class IsAdmin(BasePermission):
    """Administrators (role ``admin``, or superusers)."""

    def has_permission(self, request, view):
        return user_is_admin(request.user)


class IsAnalystOrAdmin(BasePermission):
    """Analysts and administrators: aggregate data, models, imports, the nightly run."""

    def has_permission(self, request, view):
        return user_can_use_model_pages(request.user)


class IsHeadAnalystOrAdmin(BasePermission):
    """Branch heads (their branch), analysts and administrators: the dashboard and the retention report."""

    def has_permission(self, request, view):
        return user_can_read_branch_figures(request.user)
