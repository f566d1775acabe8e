import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env


def test_env_bool_reads_common_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env.env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "0")
    assert env.env_bool("FLAG", True) is False


def test_env_bool_refuses_a_typo(monkeypatch):
    monkeypatch.setenv("FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env.env_bool("FLAG")


def test_env_int_refuses_a_non_number(monkeypatch):
    monkeypatch.setenv("COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="COUNT"):
        env.env_int("COUNT", 1)


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,")
    assert env.env_list("HOSTS", []) == ["a.example", "b.example"]


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        ],
        env={"PATH": "/usr/bin:/bin", "DEBUG": "0"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.django_db
def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_env_cache_is_the_database_without_a_url(monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)
    assert env.env_cache("CACHE_URL") == {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache",
        "OPTIONS": {"MAX_ENTRIES": 50_000}}


def test_env_cache_is_redis_for_a_redis_url(monkeypatch):
    monkeypatch.setenv("CACHE_URL", "redis://redis:6379/1")
    assert env.env_cache("CACHE_URL") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://redis:6379/1"}


def test_env_cache_refuses_an_unknown_scheme(monkeypatch):
    # memcached:// or a typo must not fall back to a per-process cache in silence.
    monkeypatch.setenv("CACHE_URL", "memcached://cache:11211")
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        env.env_cache("CACHE_URL")


@pytest.mark.django_db
def test_migrate_creates_the_database_cache_table():
    from django.core.cache import caches
    from django.db import connection

    if caches["default"].__class__.__name__ == "DatabaseCache":
        assert "django_cache" in connection.introspection.table_names()
        caches["default"].set("probe", 1)
        assert caches["default"].get("probe") == 1
    else:
        pytest.skip("CACHE_URL names Redis")
