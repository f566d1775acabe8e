"""One audit policy for pages and API alike, checked by walking the URL configuration.

Every URL of the permission matrix is called as each role, as the matrix calls it. A
response that shows customer data (a customer's name or bank id in its body) must have
written an audit event, and must carry ``Cache-Control: no-store, private``; a 404 on an
object outside the caller's scope must have written a ``denied`` event. A new page or
endpoint that shows customers without recording it fails here, without anyone having to
remember to add it to a list.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from tests.security.test_permission_matrix import OBJECTS, PROJECT_URLS, RULES, _call

pytestmark = pytest.mark.django_db

# Roles that between them reach every page: an RM (own customers, others' 404), the lobby, the
# branch head (reveal permission, callbacks, dashboard), the analyst and the administrator.
ROLES = ["rm_owner", "lobby", "head", "analyst", "admin"]
# Public pages and the API's description of itself hold no customer data.
NOT_CUSTOMER_DATA = {"healthz", "favicon", "set_language", "login", "logout", "api:schema", "api:docs", "api:redoc"}


def _markers(world) -> list[bytes]:
    values = []
    for customer in world.customers.values():
        values += [customer.name.encode(), customer.customer_id.encode()]
    return values


def _walk(world, url):
    """(role, obj, path, response, events written) for every call the matrix makes."""
    rule = RULES[url.name]
    for role in ROLES:
        client: Client = world.client(role)
        for obj in OBJECTS if rule.per_object else [None]:
            kwargs = rule.kwargs(world, obj) if rule.kwargs else {}
            path = reverse(url.name, kwargs=kwargs)
            with transaction.atomic():
                before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                response = _call(client, rule, path)
                events = list(AuditEvent.objects.filter(pk__gt=before))
                transaction.set_rollback(True)
            yield role, obj, path, response, events


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


CUSTOMER_URLS = [u for u in PROJECT_URLS if u.name not in NOT_CUSTOMER_DATA]


@pytest.mark.parametrize("url", CUSTOMER_URLS, ids=str)
def test_every_response_that_shows_customer_data_is_audited(world, url):
    markers = _markers(world)
    silent = []
    for role, obj, path, response, events in _walk(world, url):
        body = _body(response)
        shows = response.status_code < 300 and any(marker in body for marker in markers)
        if shows and not events:
            silent.append(f"{role} {obj or '-'} {path}: {response.status_code}, shows customer data, no audit event")
        if response.status_code == 404 and obj is not None and not any(
            e.action == AuditAction.DENIED for e in events
        ):
            silent.append(f"{role} {obj} {path}: 404 out of scope, no denied event")
    assert not silent, "\n" + "\n".join(silent)


@pytest.mark.parametrize("url", CUSTOMER_URLS, ids=str)
def test_every_response_that_shows_customer_data_is_not_stored(world, url):
    markers = _markers(world)
    stored = []
    for role, obj, path, response, _events in _walk(world, url):
        if any(marker in _body(response) for marker in markers):
            cache_control = response.get("Cache-Control", "")
            if "no-store" not in cache_control or "private" not in cache_control:
                stored.append(f"{role} {obj or '-'} {path}: Cache-Control {cache_control!r}")
    assert not stored, "\n" + "\n".join(stored)


def test_the_walk_sees_customer_data_where_there_is_some(world):
    """The check above is only as good as its markers: the RM's list shows their customer."""
    response = world.client("rm_owner").get(reverse("retention:case_list"))
    assert world.customers["own"].name.encode() in response.content


def test_a_csrf_failure_is_audited_and_answered_with_the_403_page(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["rm_owner"])
    case = world.cases["own"]
    response = client.post(reverse("retention:case_dismiss", args=[case.pk]), {"reason": "forged"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 403 and b"Not allowed" in response.content
    event = AuditEvent.objects.filter(action=AuditAction.DENIED, object_type="").latest("pk")
    assert event.actor == world.users["rm_owner"] and event.detail["object_type"] == "csrf"
    assert event.path == reverse("retention:case_dismiss", args=[case.pk])


def test_a_csrf_failure_on_the_api_is_json(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["rm_owner"])
    # The session (not a token) authenticates: DRF's SessionAuthentication enforces CSRF itself.
    response = client.post("/api/v1/customers/search/", {"q": "王"}, content_type="application/json")
    assert response.status_code == 403 and response["Content-Type"].startswith("application/json")
