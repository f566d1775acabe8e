"""Celery tasks of the retention app: thin, take a date, call one service, own their retries."""

from __future__ import annotations

import datetime as dt
import smtplib

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from retention.digest_sending import daily_digest_run


@shared_task(bind=True, acks_late=True, autoretry_for=(DatabaseError, smtplib.SMTPException, OSError),
             retry_backoff=30, max_retries=3, soft_time_limit=20 * 60, time_limit=25 * 60)
def daily_digest_task(self, day: str | None = None) -> dict:
    """Beat entry point, at ``RETENTION_DIGEST_HOUR``: escalate overdue tasks, then send the
    day's digests (default: today in the bank's time zone). A retry sends only the digests
    not yet sent (``retention.digest_sending``)."""
    run_day = dt.date.fromisoformat(day) if day else timezone.localdate()
    return daily_digest_run(day=run_day).as_dict()
