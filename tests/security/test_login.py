"""Login: lockout keyed on the user name, generic messages, a new session id at login,
30 minutes idle and 12 hours absolute session lifetime, audit of logins."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from audit.models import AuditAction, AuditEvent
from tests.api.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _page(response, username: str) -> bytes:
    """The page without what differs from one response to the next (CSRF tokens, the name typed)."""
    body = re.sub(rb'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', rb"\1", response.content)
    return body.replace(username.encode(), b"")


def _login(client, username, password, ip="10.1.1.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_lockout_is_keyed_on_the_user_name_not_the_address(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    statuses = [
        # A different address each time: rotating addresses must not help a guesser.
        _login(Client(), "rm_owner", "wrong", ip=f"10.0.0.{attempt}").status_code
        for attempt in range(3)
    ]
    assert statuses == [200, 200, 429]  # the third failure reaches the limit
    locked = _login(Client(), "rm_owner", PASSWORD, ip="10.9.9.9")
    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.wsgi_request.session
    # A colleague behind the same branch address still logs in.
    colleague = _login(Client(), "rm_colleague", PASSWORD, ip="10.0.0.1")
    assert colleague.status_code == 302


def test_lockout_message_is_the_same_for_a_user_name_that_does_not_exist(world, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for username in ("rm_owner", "nobody_here"):
        for _ in range(2):
            _login(Client(), username, "wrong")
    existing = _login(Client(), "rm_owner", "wrong")
    missing = _login(Client(), "nobody_here", "wrong")
    assert existing.status_code == missing.status_code == 429
    assert _page(existing, "rm_owner") == _page(missing, "nobody_here")


def test_wrong_password_and_unknown_user_get_the_same_generic_message(world):
    wrong_password = _login(Client(), "rm_owner", "wrong")
    unknown_user = _login(Client(), "no_such_user", "wrong")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert _page(wrong_password, "rm_owner") == _page(unknown_user, "no_such_user")


def test_logins_and_failed_logins_are_audited_without_the_password(world):
    _login(Client(), "rm_owner", "secret-guess-1")
    _login(Client(), "rm_owner", PASSWORD)
    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failed.actor_name == "rm_owner" and "secret-guess-1" not in str(failed.detail)
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor=world.users["rm_owner"]).exists()


def test_login_gives_a_new_session_id(world):
    client = Client()
    client.get("/login/")
    session = client.session
    session["language_hint"] = "en"
    session.save()
    before = session.session_key
    response = _login(client, "rm_owner", PASSWORD)
    assert response.status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()


def test_session_ends_after_30_minutes_idle(world, frozen_day):
    client = Client()
    _login(client, "rm_owner", PASSWORD)
    assert client.get("/cases/").status_code == 200
    frozen_day.shift(dt.timedelta(minutes=29))
    assert client.get("/cases/").status_code == 200  # activity pushes the expiry forward
    frozen_day.shift(dt.timedelta(minutes=31))
    response = client.get("/cases/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_session_ends_after_12_hours_however_active(world, frozen_day):
    client = Client()
    _login(client, "rm_owner", PASSWORD)
    for _ in range(35):  # 35 x 20 min = 11 h 40 min: still in
        frozen_day.shift(dt.timedelta(minutes=20))
        assert client.get("/cases/").status_code == 200
    frozen_day.shift(dt.timedelta(minutes=25))
    response = client.get("/cases/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=world.users["rm_owner"]).exists()


def test_api_session_also_expires_but_tokens_do_not_depend_on_sessions(world, frozen_day):
    client = Client()
    _login(client, "rm_owner", PASSWORD)
    frozen_day.shift(dt.timedelta(minutes=31))
    assert client.get("/api/v1/me/").status_code == 401
    assert client.get("/api/v1/me/", headers=world.token_headers("rm_owner")).status_code == 200
