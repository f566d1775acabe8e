from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from churn import services


class Command(BaseCommand):
    help = "Score every active customer for a date (default today), in this process, then raise alerts."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")

    def handle(self, *args, date: dt.date | None, **options):
        run_date = date or timezone.localdate()
        started = time.monotonic()
        run = services.nightly_run(
            run_date=run_date, progress=lambda chunks: tqdm(chunks, desc="chunks", unit="chunk", disable=None)
        )
        if run is None:
            raise CommandError("no active model version: run train_churn_model first")
        self.stdout.write(
            f"{run.run_date}: {run.status}; {run.customers_scored} customers scored, {run.customers_skipped} "
            f"skipped (below the minimum AUM or no current month), {run.chunks_done}/{run.chunks_total} chunks, "
            f"model #{run.model_version_id}; {time.monotonic() - started:.1f}s"
        )
        if run.alerts_result is not None:
            self.stdout.write(f"alerts: {run.alerts_result}")
        for error in run.errors:
            self.stderr.write(f"chunk {error['chunk']} failed: {error['error']}")
        if run.status != run.Status.DONE:
            raise CommandError(f"run {run.run_date} is {run.status}")
