"""The one typed reader of Django settings that the apps' ``conf`` modules build on.

A value is read when it is used (not at import), so a test's ``settings`` fixture or
an operator's override takes effect at once; a value of the wrong type fails loudly
rather than being ignored. A setting passed ``default=IN_SETTINGS`` has its default in
``config/settings.py``, where the environment variable of the same meaning is read
(the README's configuration table): it is written there once and not repeated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class _InSettings:
    def __repr__(self) -> str:
        return "IN_SETTINGS"


IN_SETTINGS: Any = _InSettings()


def setting(name: str, kind: type, default: Any = IN_SETTINGS) -> Any:
    """``settings.<name>`` as ``kind`` (int, float, str, tuple of strings, or a dict of
    name to float), or ``default`` when the settings do not define it."""
    value = getattr(settings, name, default)
    if value is IN_SETTINGS:
        raise ImproperlyConfigured(f"{name} is not set; config/settings.py defines it with its default")
    if kind is tuple:
        if isinstance(value, str):
            value = tuple(item.strip() for item in value.split(",") if item.strip())
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise ImproperlyConfigured(f"{name} must be a list of strings, got {value!r}")
        return tuple(value)
    if kind is dict:
        if not isinstance(value, Mapping):
            raise ImproperlyConfigured(f"{name} must be a mapping of names to numbers, got {value!r}")
        try:
            return {str(key): float(number) for key, number in value.items()}
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"{name} must map names to numbers, got {value!r}") from exc
    if kind is str and not isinstance(value, str):
        raise ImproperlyConfigured(f"{name} must be text, got {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} must be {kind.__name__}, got {value!r}") from exc
