"""Writing the audit trail. Every write goes through ``audit_record``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from audit.models import AuditEvent


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    actor=None,
    actor_name: str = "",
    obj=None,
    customer=None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``actor`` defaults to the request's user; ``obj`` is
    the thing acted on (its type and pk are kept, not the object)."""
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    if customer is None and obj is not None and obj.__class__.__name__ == "Customer":
        customer = obj
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        customer=customer,
        ip_address=_client_ip(request),
        path=request.get_full_path()[:500] if request is not None else "",
        detail=detail or {},
    )
