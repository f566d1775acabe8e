"""The morning job by hand: escalate overdue tasks, then send the day's digests (each member
of staff at most once a day, however often it runs)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from retention.digest_sending import daily_digest_run


class Command(BaseCommand):
    help = "Escalate overdue tasks to the branch heads and send the day's digests (once per member of staff and day)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today in TIME_ZONE)")

    def handle(self, *args, date: str | None, **options):
        try:
            day = dt.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError as exc:
            raise CommandError("--date must be YYYY-MM-DD") from exc
        run = daily_digest_run(day=day)
        self.stdout.write(
            f"{run.day}: {run.escalated} tasks escalated; digests sent {run.sent}, already sent {run.already_sent}, "
            f"no email {run.no_email}, nothing to say {run.nothing_to_say}, failed {run.failed}"
        )
        if run.failed:
            raise CommandError(f"{run.failed} digests could not be sent; run again to retry them")
