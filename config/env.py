"""Typed readers for settings taken from the environment.

Each reader fails loudly on a value it cannot parse, so that a typo in a
deployment's environment stops the process at start-up instead of silently
falling back to a default.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DATABASE_CACHE_TABLE = "django_cache"


def env_cache(name: str) -> dict:
    """The default cache from a URL: ``redis://`` or ``rediss://`` (Django's Redis cache),
    or, when unset, a table in the project's database. Both are shared by every process
    (gunicorn workers, Celery), which per-user state such as the API's rate limit needs;
    Django's default in-memory cache would give each process its own count."""
    raw = os.environ.get(name, "").strip()
    if not raw or raw == "db://":
        return {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": DATABASE_CACHE_TABLE,
            # Django's default of 300 entries would cull live rate-limit counts once more than
            # 300 users called the API within a minute (every page's scripts do).
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    if raw.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": raw}
    raise ImproperlyConfigured(
        f"{name} must be a redis:// or rediss:// URL, or db:// or unset for the database, got {raw!r}"
    )
