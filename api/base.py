"""What every API view shares: refusals go into the audit trail, and objects
outside the caller's scope answer 404 (and are audited as refused)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from audit import services as audit_services
from audit.services import origin_from_request
from customers.selectors import MAX_ID


def audit_denied(request, *, object_type: str, object_id: str | int = "", reason: str) -> None:
    """A refusal, written by the audit service with the request's actor, address and path."""
    audit_services.audit_denied(origin=origin_from_request(request), object_type=object_type,
                                object_id=object_id, reason=reason)


class ApiView(APIView):
    # Only for drf-spectacular and django-filter to learn the model of a filtered list;
    # views build their querysets from the scoping selectors, never from this.
    queryset: QuerySet[Any] | None = None

    def get_queryset(self):
        return self.queryset

    def permission_denied(self, request, message=None, code=None):
        if request.user and request.user.is_authenticated:
            audit_denied(request, object_type=self.__class__.__name__, reason="permission")
        super().permission_denied(request, message=message, code=code)




def id_in_range(pk) -> bool:
    try:
        return 0 < int(pk) <= MAX_ID
    except (TypeError, ValueError):
        return False


_M = TypeVar("_M", bound=Model)


def scoped_get(request, queryset: QuerySet[_M], *, pk, object_type: str) -> _M:
    """The object with ``pk`` if it is in ``queryset`` (already scoped to the caller);
    otherwise a 404 — the same answer whether it does not exist or is not theirs — and
    a ``denied`` audit event, so probing shows up in the trail."""
    obj = queryset.filter(pk=pk).first() if id_in_range(pk) else None
    if obj is None:
        audit_denied(request, object_type=object_type, object_id=pk, reason="not_in_scope_or_missing")
        raise NotFound()
    return obj


def IdFilter(**kwargs):  # noqa: N802  (reads as a filter class at the call site)
    """An integer id filter that refuses (400) what no id can be."""
    import django_filters

    return django_filters.NumberFilter(min_value=1, max_value=MAX_ID, **kwargs)
