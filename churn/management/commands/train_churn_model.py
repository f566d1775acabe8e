from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from churn import services
from churn.training import HEADLINE


class Command(BaseCommand):
    help = "Train a churn model on the bank's history, evaluate it on the latest labelled month, store a version."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="activate the new version even if it is not better")
        parser.add_argument("--sample-customers", type=int, default=None,
                            help="train on the first N customers only (by id)")

    def handle(self, *args, force: bool, sample_customers: int | None, **options):
        started = time.monotonic()

        def step(name: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:6.1f}s] {name}")

        version = services.model_version_train(
            force=force, sample_customers=sample_customers, step=step,
            progress=lambda it: tqdm(list(it), desc="month-ends", unit="month", disable=None),
        )
        rows = [("model", version.metrics), *version.baselines.items()]
        self.stdout.write(f"evaluation month-end {version.evaluation_month}; "
                          f"training month-ends {version.train_months[0]} .. {version.train_months[-1]}")
        self.stdout.write(f"{'':28}" + "".join(f"{key:>16}" for key in HEADLINE))
        for name, metrics in rows:
            self.stdout.write(f"{name:28}" + "".join(f"{str(metrics.get(key)):>16}" for key in HEADLINE))
        state = "ACTIVE" if version.is_active else "not active"
        self.stdout.write(self.style.SUCCESS(
            f"model version #{version.pk} {state} ({version.activation_note}); "
            f"{time.monotonic() - started:.0f}s"
        ))
