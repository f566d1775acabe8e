"""Masking of personal data on pages, exports and the API."""

from __future__ import annotations


def mask(value: str, keep: int = 4) -> str:
    """All but the last ``keep`` characters hidden: enough to confirm with the customer."""
    value = value or ""
    if len(value) <= keep:
        return "•" * len(value)
    return "•" * (len(value) - keep) + value[-keep:]
