"""Writing the audit trail. Every write goes through ``audit_record``.

Services and selectors write the events, never views: a view hands the service the
acting user and where the request came from, as an ``AuditOrigin``
(``origin_from_request``), so that the page, the API and the admin record the same
event the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Model
from django.http import HttpRequest

from audit.models import AuditAction, AuditEvent

if TYPE_CHECKING:  # a type only: the audit trail does not need DRF to run
    from rest_framework.request import Request


@dataclass(frozen=True)
class AuditOrigin:
    """Who acts and from where: the user (None when anonymous), address, path and channel."""

    actor: Any = None
    ip_address: str | None = None
    path: str = ""
    via: str = ""  # "page", "api", "admin"; "" for commands and jobs


def _django_request(request: HttpRequest | Request) -> HttpRequest:
    # DRF wraps Django's request; the address and path live on the one it wraps.
    return getattr(request, "_request", request)


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def origin_from_request(request: HttpRequest | Request, *, via: str = "") -> AuditOrigin:
    """The acting user and the request's address and path, for a service to audit with."""
    django_request = _django_request(request)
    user = getattr(request, "user", None)
    if via == "":
        via = "api" if django_request.path.startswith("/api/") else (
            "admin" if django_request.path.startswith("/admin/") else "page")
    return AuditOrigin(
        actor=user if user is not None and user.is_authenticated else None,
        ip_address=_client_ip(django_request),
        path=django_request.get_full_path()[:500],
        via=via,
    )


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    origin: AuditOrigin | None = None,
    # A user and a customer of the customers app, which audit (beneath every app) does not import.
    actor: Any = None,
    actor_name: str = "",
    obj: Model | None = None,
    customer: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``actor`` defaults to the origin's (or the request's) user;
    ``obj`` is the thing acted on (its type and pk are kept, not the object)."""
    if origin is None and request is not None:
        origin = origin_from_request(request)
    if actor is None and origin is not None:
        actor = origin.actor
    if customer is None and obj is not None and obj.__class__.__name__ == "Customer":
        customer = obj
    detail = _storable(dict(detail or {}))
    if origin is not None and origin.via:
        detail.setdefault("via", origin.via)
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=_storable(actor_name or (actor.get_username() if actor is not None else "")),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        customer=customer,
        ip_address=origin.ip_address if origin is not None else None,
        path=origin.path if origin is not None else "",
        detail=detail,
    )


def audit_denied(*, origin: AuditOrigin, object_type: str, object_id: object = "", reason: str) -> AuditEvent:
    """An attempt outside the caller's scope (answered 404) or permission (403)."""
    return audit_record(action=AuditAction.DENIED, origin=origin,
                        detail={"object_type": object_type, "object_id": str(object_id)[:64], "reason": reason})


def audit_list_viewed(*, origin: AuditOrigin, what: str, filters: dict | None = None, rows: int,
                      customer_ids: list[str] | None = None, action: str = AuditAction.VIEW,
                      extra: dict | None = None) -> AuditEvent:
    """A list or lookup of customer data was shown (or exported): who, with which filters,
    how many rows, and which customers (their bank ids, never names)."""
    detail: dict[str, Any] = {"list": what, "filters": _plain(filters or {}), "rows": rows, **(extra or {})}
    if customer_ids is not None:
        detail["customer_ids"] = list(customer_ids)[:500]
    return audit_record(action=action, origin=origin, detail=detail)


def _storable(value: Any) -> Any:
    """``value`` without NUL characters: PostgreSQL's text and JSON types cannot hold them, and
    a filter typed by a user (or a scanner) may contain one; the event must still be written."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_storable(str(key)): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value


def _plain(filters: dict) -> dict:
    """Filters as JSON: dates and choices as strings, lists kept, the CSRF token dropped."""
    plain: dict[str, Any] = {}
    for key, value in filters.items():
        if key in ("csrfmiddlewaretoken", "page", "cursor") or value in (None, "", []):
            continue
        if isinstance(value, list | tuple | set):
            plain[key] = [str(item) for item in value]
        else:
            plain[key] = str(value)[:200]
    return plain
