"""The nightly chain's settings (defaults in ``config/settings.py``), read through the
typed reader ``core.conf.setting``."""

from __future__ import annotations

from core.conf import setting


def lease_seconds() -> int:
    """How long a run's lease on SQLite outlives its holder's last sign of life (``nightly.lease``)."""
    return setting("NIGHTLY_LEASE_SECONDS", int)


def retry_delay(*, attempt: int) -> float:
    """Seconds before retry ``attempt`` (0, 1, ...) of a task that met a transient error: doubling."""
    return setting("NIGHTLY_RETRY_DELAY_SECONDS", float) * (2**attempt)
