"""Security headers, the Content-Security-Policy, error pages, and the production settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _csp(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("role,path", [("anonymous", "/login/"), ("rm_owner", "/cases/"),
                                       ("lobby", "/lookup/"), ("admin", "/admin/")])
def test_pages_carry_a_strict_content_security_policy(world, role, path):
    response = world.client(role).get(path)
    assert response.status_code == 200
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in " ".join(csp["script-src"] + csp["style-src"])
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_customer_page_has_no_inline_script(world):
    customer = world.customers["own"]
    html = world.client("rm_owner").get(f"/customers/{customer.pk}/").content.decode()
    # Every <script> either loads a file or carries JSON data (never run under script-src 'self').
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert "style=" not in html


def test_api_docs_load_from_our_own_static_files(world):
    client = world.client("rm_owner")
    for path in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(path).content.decode()
        assert "http://" not in html and "https://" not in html, path
        assert "<script>" not in html
    assert "'unsafe-inline'" not in _csp(client.get("/api/v1/docs/"))["style-src"]
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_hsts_and_redirect_in_production(world, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    client = world.client("anonymous")
    assert client.get("/login/").status_code == 301
    secure = client.get("/login/", secure=True)
    assert secure.status_code == 200
    assert "max-age=31536000" in secure.headers["Strict-Transport-Security"]


def test_error_pages_are_ours(world):
    missing = world.client("rm_owner").get("/customers/999999/")
    assert missing.status_code == 404
    assert b'class="card narrow"' in missing.content  # templates/404.html, inside the site's layout
    request = RequestFactory().get("/")
    assert "Server error" in render_to_string("500.html")
    assert "card" in render_to_string("403.html", request=request)


def test_check_deploy_is_clean_with_the_production_environment():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}}
    env.update({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "retention.bank.example"})
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_the_demo_switches_turn_https_off_and_nothing_else():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "SECURE_SSL_REDIRECT": "0",
                "SECURE_COOKIES": "0"})
    code = ("from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
            " s.SECURE_HSTS_SECONDS > 0, s.DEBUG)")
    result = subprocess.run([sys.executable, "-c", f"import django, os; os.environ.setdefault("
                             f"'DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); {code}"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False", "False", "True", "True", "False"], result.stderr
