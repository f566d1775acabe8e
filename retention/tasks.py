"""Celery tasks: each takes a date, calls one service, owns its retries.

Alert raising is a stage of the nightly chain (``nightly.tasks``), which hands it
the run's date and month of balances; it has no task of its own here.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from retention import services


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, retry_kwargs={"max_retries": 3})
def alert_outcomes_mark_task(self, as_of: str | None = None) -> dict:
    """Measure outcomes of alerts whose churn window has ended (default: today)."""
    day = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
    return services.alert_outcomes_mark(as_of=day)
