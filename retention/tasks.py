"""Celery tasks: each takes a date, calls one service, owns its retries."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from retention import services


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, retry_kwargs={"max_retries": 3})
def alerts_raise_for_date_task(self, run_date: str) -> dict:
    """Raise, update and clear alerts for ``run_date`` (ISO date). Safe to retry: the service is idempotent."""
    return services.alerts_raise_for_date(run_date=dt.date.fromisoformat(run_date))


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, retry_kwargs={"max_retries": 3})
def alert_outcomes_mark_task(self, as_of: str | None = None) -> dict:
    """Measure outcomes of alerts whose churn window has ended (default: today)."""
    day = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
    return services.alert_outcomes_mark(as_of=day)
