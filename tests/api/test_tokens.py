"""API tokens: issued in the admin and shown once, stored hashed, revocable, expiring."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from api.models import ApiToken
from audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_admin_issues_a_token_shown_once_and_stored_as_a_hash(world):
    admin = world.client("admin")
    response = admin.post("/admin/api/apitoken/add/", {"user": world.users["rm_owner"].pk, "name": "CRM sync"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(name="CRM sync")
    plaintext = response.context["plaintext"]
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(ApiToken.objects.values_list())
    me = world.client("anonymous").get("/api/v1/me/", headers={"Authorization": f"Bearer {plaintext}"})
    assert me.status_code == 200 and me.json()["username"] == "rm_owner"
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE, detail__api_token="issued").exists()


def test_revoked_and_expired_tokens_are_refused_and_audited(world):
    headers = world.token_headers("rm_owner")
    client = world.client("anonymous")
    assert client.get("/api/v1/me/", headers=headers).status_code == 200
    token = ApiToken.objects.get(user=world.users["rm_owner"])
    response = world.client("admin").post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    refused = client.get("/api/v1/me/", headers=headers)
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, detail__via="api_token").exists()

    _, plaintext = ApiToken.issue(user=world.users["rm_owner"], name="short",
                                  expires_at=timezone.now() + dt.timedelta(hours=1))
    assert client.get("/api/v1/me/", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
    ApiToken.objects.filter(name="short").update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/api/v1/me/", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(world):
    headers = world.token_headers("rm_owner")
    user = world.users["rm_owner"]
    user.is_active = False
    user.save()
    assert world.client("anonymous").get("/api/v1/me/", headers=headers).status_code == 401
