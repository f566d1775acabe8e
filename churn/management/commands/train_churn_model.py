from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from churn import services
from churn.progress import TrainingStep
from churn.reasons import evaluation_method_sentence, model_kind_label, refusal_sentence, version_activation_text
from churn.retraining import training_step_label
from churn.training import HEADLINE, TrainingRefused


class Command(BaseCommand):
    help = "Train a churn model on the bank's history, evaluate it against the baselines, store a version."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="activate the new version even if it is not better")
        parser.add_argument("--sample-customers", type=int, default=None,
                            help="train on the first N customers only (by id)")

    def handle(self, *args, force: bool, sample_customers: int | None, **options):
        started = time.monotonic()

        def progress(step: TrainingStep, done: int, total: int) -> None:
            if label := training_step_label(step, done, total):
                self.stdout.write(f"[{time.monotonic() - started:6.1f}s] {label}")

        try:
            version = services.model_version_train(
                force=force, sample_customers=sample_customers, progress=progress,
            )
        except TrainingRefused as exc:
            # One sentence naming what is missing, in the active language; never a traceback.
            raise CommandError(refusal_sentence(exc.code, exc.params)) from None
        metrics = version.metrics
        self.stdout.write(evaluation_method_sentence(metrics.get("evaluation_method")))
        self.stdout.write(gettext("evaluation month-end %(month)s; training month-ends %(first)s .. %(last)s") % {
            "month": version.evaluation_month, "first": version.train_months[0], "last": version.train_months[-1]})
        candidates = metrics.get("candidates") or {"model": metrics, **version.baselines}
        champion = metrics.get("champion")
        self.stdout.write(f"{'':52}" + "".join(f"{key:>16}" for key in HEADLINE) + f"{'PR AUC 95%':>20}")
        for kind, figures in candidates.items():
            interval = figures.get("pr_auc_interval") or [None, None]
            live = " *" if kind == champion else ""
            self.stdout.write(f"{(model_kind_label(kind) + live)[:52]:52}"
                              + "".join(f"{str(figures.get(key)):>16}" for key in HEADLINE)
                              + f"{f'{interval[0]} - {interval[1]}':>20}")
        state = gettext("ACTIVE") if version.is_active else gettext("not active")
        note = version_activation_text(version)
        self.stdout.write(self.style.SUCCESS(
            gettext("model version #%(id)s (%(kind)s, marked *) %(state)s: %(note)s %(seconds)ss") % {
                "id": version.pk, "kind": model_kind_label(champion or ""), "state": state, "note": note,
                "seconds": f"{time.monotonic() - started:.0f}"}
        ))
