"""The API's per-user rate limit is one count for the whole site, not one per process.

Two gunicorn servers (two processes, as two workers of one server would be) share a
database and the cache that ``CACHE_URL`` names; requests alternate between them. With a
per-process cache (Django's default, in memory) each process would let the limit through,
twice the limit in all; with the shared cache exactly the limit passes and the rest get 429.
Run on the database cache (no ``CACHE_URL``, a SQLite file) and, when ``CACHE_URL`` names
Redis (CI), on Redis.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 10
REQUESTS = 16


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _server_env(tmp_path: Path, cache_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    env.update({
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "VAR_DIR": str(tmp_path / "var"),
        "API_REQUESTS_PER_MINUTE": str(LIMIT),
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "1",
    })
    if cache_url:
        env["CACHE_URL"] = cache_url
    return env


# migrate also creates the database cache's table (api/apps.py); then one integration user
# with an API token, whose plaintext is the script's output.
PREPARE_SITE = (
    "import django; django.setup(); "
    "from django.core.management import call_command; call_command('migrate', verbosity=0); "
    "from api.models import ApiToken; from customers.models import Role, User; "
    "user = User.objects.create_user(username='integration', role=Role.ANALYST); "
    "print(ApiToken.issue(user=user, name='throttle test')[1])"
)


@pytest.fixture(scope="module")
def prepared_site(tmp_path_factory) -> tuple[Path, str]:
    """A migrated SQLite file with the user and token, made once and copied for each test."""
    folder = tmp_path_factory.mktemp("site")
    env = _server_env(folder, cache_url=None)
    result = subprocess.run([sys.executable, "-c", PREPARE_SITE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder / "site.sqlite3", result.stdout.strip().splitlines()[-1]


def _start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"],
        cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait_until_up(proc: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with status {proc.returncode}: {proc.stderr.read()}")
        try:
            if _get(f"{base}/healthz") == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail("gunicorn did not answer within 60 s")


def _redis_cache_url() -> str:
    url = os.environ.get("CACHE_URL", "")
    if url.startswith(("redis://", "rediss://")):
        return url
    if os.environ.get("REQUIRE_REAL_SERVICES") == "1":
        pytest.fail("the Redis cache test needs CACHE_URL=redis://…")
    pytest.skip("needs CACHE_URL=redis://…")


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_the_rate_limit_is_shared_by_two_server_processes(tmp_path, prepared_site, backend):
    # With CACHE_URL=redis://…, tests/conftest.py::_fresh_cache has emptied that Redis
    # database: the throttle's key is the user's id, which every fresh database gives out again.
    cache_url = _redis_cache_url() if backend == "redis" else None
    env = _server_env(tmp_path, cache_url)
    database, token = prepared_site
    shutil.copy(database, tmp_path / "site.sqlite3")

    servers = [_start_server(env), _start_server(env)]
    try:
        for proc, base in servers:
            _wait_until_up(proc, base)
        answers = [(index % 2, _get(f"{servers[index % 2][1]}/api/v1/me/", token)) for index in range(REQUESTS)]
    finally:
        for proc, _ in servers:
            proc.terminate()
        for proc, _ in servers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    statuses = [status for _, status in answers]
    assert statuses == [200] * LIMIT + [429] * (REQUESTS - LIMIT), answers
    # Both processes answered, and both let some through: the count is one for both.
    assert {server for server, status in answers if status == 200} == {0, 1}
