"""The bank data's settings, read in one place: the bank's name, the AUM tier floors,
the core tiers, the import report's length. Their defaults are in
``config/settings.py`` (each read from the environment there); the pure tier rule
that takes the floors is ``customers.tiers``, which imports no Django."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from core.conf import setting
from customers import tiers


def bank_name() -> str:
    """Products whose provider is this name are ours (unless marked otherwise)."""
    return setting("BANK_NAME", str)


def tier_floors() -> dict[str, float]:
    """{"gold": ..., "platinum": ..., "private": ...} in CNY; refused unless they rise."""
    floors = setting("AUM_TIER_FLOORS", dict)
    try:
        tiers.floor_values(floors)
    except (KeyError, ValueError) as exc:
        raise ImproperlyConfigured(f"AUM_TIER_FLOORS: {exc}") from exc
    return floors


def core_tiers() -> tuple[str, ...]:
    """The tiers whose customers count as core customers."""
    return setting("CORE_TIERS", tuple)


def import_max_errors_shown() -> int:
    """How many problems an import report lists before it gives only their count."""
    return setting("IMPORT_MAX_ERRORS_SHOWN", int)


def import_max_files() -> int:
    """Files one upload may carry (``IMPORT_MAX_FILES``)."""
    return setting("IMPORT_MAX_FILES", int)


def import_max_file_bytes() -> int:
    """Size limit of one uploaded file (``IMPORT_MAX_FILE_BYTES``)."""
    return setting("IMPORT_MAX_FILE_BYTES", int)


def import_max_header_bytes() -> int:
    """Longest header line accepted, checked before anything is parsed (``IMPORT_MAX_HEADER_BYTES``)."""
    return setting("IMPORT_MAX_HEADER_BYTES", int)


def import_max_columns() -> int:
    """Most columns a header may have, checked before anything is parsed (``IMPORT_MAX_COLUMNS``)."""
    return setting("IMPORT_MAX_COLUMNS", int)
