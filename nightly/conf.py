"""The nightly chain's settings (defaults in ``config/settings.py``)."""

from __future__ import annotations

from django.conf import settings


def lease_seconds() -> int:
    """How long a run's lease on SQLite outlives its holder's last sign of life (``nightly.lease``)."""
    return int(settings.NIGHTLY_LEASE_SECONDS)


def retry_delay(*, attempt: int) -> float:
    """Seconds before retry ``attempt`` (0, 1, ...) of a task that met a transient error: doubling."""
    return float(settings.NIGHTLY_RETRY_DELAY_SECONDS) * (2**attempt)
