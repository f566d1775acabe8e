"""Set up a demo bank end to end, through the same paths as production data:
generate interchange CSVs, import them, assign segments, train a model,
replay the nightly job over past months (so that the retention report has
outcomes to measure, and the model page realised performance: the replays fall on
month-ends, whose scores are kept), run tonight's job, and print one login per role."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from churn import selectors as churn_selectors
from churn import services as churn_services
from churn.monitoring_selectors import model_version_monitoring
from churn.monitoring_text import band_label
from churn.reasons import model_kind_label, version_activation_text
from churn.retraining import training_step_label
from core.months import add_months, month_end
from customers import conf as customers_conf
from customers.models import Customer
from customers.services import bank_data_import
from demo.bank import generate_demo_bank
from demo.logins import demo_complaints_record, demo_logins_create
from nightly import services as nightly_services
from nightly.models import StageName
from nightly.selectors import nightly_stage_result
from retention import services as retention_services


class Command(BaseCommand):
    help = _("Generate, import, train and score a demo bank, then print the demo logins.")

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=20_000)
        parser.add_argument("--months", type=int, default=24)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--history-months", type=int, default=6,
            help=_("replay the nightly job on the last day of this many past months"),
        )
        parser.add_argument("--regenerate", action="store_true", help=_("generate and import again"))
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help=_("where the app will answer"))

    def _step(self, message: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {message}"))

    def handle(self, *args, customers: int, months: int, seed: int, history_months: int, regenerate: bool, **opts):
        started = time.monotonic()
        today = timezone.localdate()
        out_dir = Path(settings.VAR_DIR) / "demo_bank"

        if regenerate or not Customer.objects.exists():
            self._step(_("Generating a demo bank of %(customers)s customers x %(months)s months")
                       % {"customers": f"{customers:,}", "months": months})
            end_month = add_months(today, -1)
            bar = tqdm(total=customers, unit="customer", disable=None)

            counts = generate_demo_bank(
                out_dir, customers=customers, months=months, seed=seed,
                end_month=f"{end_month:%Y-%m}", today=today, tier_floors=customers_conf.tier_floors(),
                bank_name=customers_conf.bank_name(), progress=bar.update,
            )
            bar.close()
            self.stdout.write(", ".join(f"{name}: {rows:,}" for name, rows in counts.items()))

            self._step(_("Importing %(dir)s") % {"dir": out_dir})
            result = bank_data_import(directory=out_dir, progress=True)
            if not result.ok:
                for problem in result.problems:
                    self.stderr.write(str(problem))
                raise CommandError(_("the demo bank did not import cleanly"))
        else:
            self.stdout.write(_("Customers already imported; use --regenerate to start over."))

        self.stdout.write(
            _("Complaints logged at the branch (from very low survey scores): %(n)s")
            % {"n": demo_complaints_record()}
        )

        self._step(_("Assigning segments"))
        segments = churn_services.customer_segments_assign(as_of=today)
        self.stdout.write(", ".join(f"{name}: {count:,}" for name, count in segments.items()))

        if churn_selectors.model_version_active() is None:
            self._step(_("Training the churn model"))
            version = churn_services.model_version_train(
                progress=lambda step, done, total: (self.stdout.write(f"  {label}")
                                                    if (label := training_step_label(step, done, total)) else None),
            )
            metrics = version.metrics
            self.stdout.write(
                f"model #{version.pk} {model_kind_label(metrics.get('champion') or 'gradient_boosting')}: "
                f"ROC AUC {metrics.get('roc_auc')}, "
                f"PR AUC {metrics.get('pr_auc')}, lift@10% {metrics.get('lift_top10')}; "
                f"{version_activation_text(version)}"
            )

        # Month-ends, like the nights a bank keeps scores of for good (``is_month_end``): once a
        # month-end's churn window has closed, the model page shows how those scores did.
        run_dates = [month_end(add_months(today, -back)) for back in range(history_months, 0, -1)] + [today]
        self._step(_("Running the nightly job for %(n)s dates (past months replayed, then today)")
                   % {"n": len(run_dates)})
        for run_date in run_dates:
            run = nightly_services.nightly_run(run_date=run_date)
            if run is None:
                raise CommandError(_("no active model"))
            alerts = nightly_stage_result(run=run, name=StageName.ALERTS) or {}
            self.stdout.write(
                "  " + _("%(date)s: %(scored)s customers scored; alerts raised %(raised)s, updated %(updated)s, "
                         "closed as cleared %(cleared)s, held out %(held_out)s")
                % {"date": run_date, "scored": f"{run.customers_scored:,}", "raised": alerts.get("raised", 0),
                   "updated": alerts.get("updated", 0), "cleared": alerts.get("cleared", 0),
                   "held_out": alerts.get("held_out", 0)}
            )
        outcomes = retention_services.alert_outcomes_mark(as_of=today)
        self.stdout.write(_("Outcomes measured: %(outcomes)s") % {"outcomes": outcomes})

        active = churn_selectors.model_version_active()
        if active is not None:
            watched = model_version_monitoring(version=active, drift_nights=1)
            latest = watched["drift"]["latest"] or {}
            self.stdout.write(
                _("Model monitoring: drift tonight %(band)s (PSI of the score %(psi)s); realised performance of "
                  "%(months)s closed month-end(s); %(warnings)s warning(s)")
                % {"band": band_label(latest.get("band")), "psi": latest.get("score_psi", "—"),
                   "months": len(watched["performance"]["months"]), "warnings": len(watched["warnings"])}
            )

        self._step(_("Demo logins"))
        for login in demo_logins_create():
            self.stdout.write(
                self.style.SUCCESS(f"  {login.role:<8} {login.username:<12} {login.password:<20}") + f" {login.branch}"
            )
        self.stdout.write(_("Ready in %(seconds).0f s. Open %(url)s and log in.")
                          % {"seconds": time.monotonic() - started, "url": opts["url"]})
