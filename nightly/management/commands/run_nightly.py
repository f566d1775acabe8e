from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from core.months import last_complete_month
from nightly import services
from nightly.lease import LeaseBusy
from nightly.models import StageName, StageStatus
from nightly.selectors import nightly_stages_of


class Command(BaseCommand):
    help = ("Run the night of a date (default today) in this process: prepare, score, raise alerts, reasons. "
            "A rerun resumes at the first stage not done.")

    def add_arguments(self, parser):
        parser.add_argument("--date", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")

    def handle(self, *args, date: dt.date | None, **options):
        run_date = date or timezone.localdate()
        started = time.monotonic()
        try:
            run = services.nightly_run(
                run_date=run_date, progress=lambda chunks: tqdm(chunks, desc="chunks", unit="chunk", disable=None)
            )
        except LeaseBusy as exc:
            raise CommandError(str(exc)) from None
        if run is None:
            raise CommandError("no active model version: run train_churn_model first")
        expected = last_complete_month(run.run_date).date()
        if run.data_month is None:
            self.stdout.write(self.style.WARNING(f"no monthly balances up to {expected:%Y-%m}: nobody can be scored"))
        elif run.data_month < expected:
            self.stdout.write(self.style.WARNING(
                f"monthly balances of {expected:%Y-%m} not imported yet: scored from {run.data_month:%Y-%m}, the "
                f"latest month available, with events (maturities, bookings, surveys, contacts) up to {run.run_date}"
            ))
        else:
            self.stdout.write(f"scored from the monthly balances of {run.data_month:%Y-%m}")
        self.stdout.write(
            f"{run.run_date}: {run.status}; {run.customers_scored} customers scored, {run.customers_skipped} "
            f"skipped (below the minimum AUM or no current month), {run.chunks_done}/{run.chunks_total} chunks, "
            f"model #{run.model_version_id}; {time.monotonic() - started:.1f}s"
        )
        for stage in nightly_stages_of(run=run):
            seconds = ((stage.finished_at - stage.started_at).total_seconds()
                       if stage.started_at and stage.finished_at else None)
            timing = f" in {seconds:.1f}s" if seconds is not None else ""
            self.stdout.write(f"  {stage.name}: {stage.status}{timing}")
            if stage.name in (StageName.OUTCOMES, StageName.CASES) and stage.status == StageStatus.DONE \
                    and stage.result:
                self.stdout.write(f"  {stage.name}: {stage.result}")
            if stage.status == StageStatus.FAILED:
                self.stderr.write(f"stage {stage.name} failed: {stage.error}")
        for error in run.errors:
            if "chunk" in error:
                self.stderr.write(f"chunk {error['chunk']} failed: {error['error']}")
        if run.status != run.Status.DONE:
            raise CommandError(f"run {run.run_date} is {run.status}")
