"""Set up a demo bank end to end, through the same paths as production data:
generate interchange CSVs, import them, assign segments, train a model,
replay the nightly job over past months (so that the retention report has
outcomes to measure, and the model page realised performance: the replays fall on
month-ends, whose scores are kept), run tonight's job, and print one login per role.

After each replayed night simulated staff work a share of the cases shown to them, and
the simulated customers answer (``demo.branch_work``, ``demo.world``): for some
playbooks a worked customer is more likely to stay. The command ends by printing, per
playbook, the effect the simulation put in beside what the retention report recovers
from shown vs held-out cases (also in ``demo_effects.json`` beside the demo files)."""

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
from churn.models import NightlyRun
from churn.monitoring_selectors import model_version_monitoring
from churn.monitoring_text import band_label
from churn.reasons import model_kind_label, version_activation_text
from churn.retraining import training_step_label
from core.months import add_months, month_end
from customers import conf as customers_conf
from customers.models import Customer
from customers.services import bank_data_import
from demo.bank import generate_demo_bank
from demo.branch_work import demo_branch_work, demo_effects, demo_effects_write, world_state_start
from demo.logins import demo_complaints_record, demo_logins_create
from demo.world import WorldResponse, world_response_read
from nightly import services as nightly_services
from nightly.models import StageName
from nightly.selectors import nightly_stage_result


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

    def _effects(self, out_dir: Path) -> None:
        """The simulated effect per playbook beside what the retention report recovers."""
        effects = demo_effects(out_dir=out_dir)
        path = demo_effects_write(out_dir=out_dir, effects=effects)
        self._step(_("The retention report against the simulated effects (retention rate of the measured cases, "
                     "shown minus held out; also in %(path)s)") % {"path": path})
        for effect in effects:
            if effect.estimate is None:
                continue
            verdict = _("inside the 95% interval") if effect.recovered else _("OUTSIDE the 95% interval")
            self.stdout.write(
                "  " + _("%(playbook)s: a worked customer stays with probability %(stays)s; %(shown)s shown "
                         "(%(worked)s worked), %(held_out)s held out; simulated effect %(simulated)s, report "
                         "%(estimate)s [%(low)s, %(high)s]: %(verdict)s")
                % {"playbook": effect.playbook, "stays": f"{effect.stay_probability:.2f}",
                   "shown": f"{effect.shown:,}", "worked": f"{effect.worked:,}", "held_out": f"{effect.held_out:,}",
                   "simulated": f"{effect.simulated_effect:+.3f}", "estimate": f"{effect.estimate:+.3f}",
                   "low": f"{effect.low:+.3f}", "high": f"{effect.high:+.3f}", "verdict": verdict}
            )

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
            world_state_start(out_dir, world_response_read(out_dir) or WorldResponse())

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
        response = world_response_read(out_dir)
        if response is None:
            response = WorldResponse()
            world_state_start(out_dir, response)
        # Month-ends, like the nights a bank keeps scores of for good (``is_month_end``): once a
        # month-end's churn window has closed, the model page shows how those scores did.
        run_dates = [month_end(add_months(today, -back)) for back in range(history_months, 0, -1)] + [today]
        self._step(_("Running the nightly job for %(n)s dates (past months replayed, then today); after each "
                     "replayed night staff work %(share).0f%% of the shown cases")
                   % {"n": len(run_dates), "share": 100 * response.work_share})
        for run_date in run_dates:
            already_done = NightlyRun.objects.filter(run_date=run_date, status=NightlyRun.Status.DONE).exists()
            run = nightly_services.nightly_run(run_date=run_date)
            if run is None:
                raise CommandError(_("no active model"))
            cases = nightly_stage_result(run=run, name=StageName.CASES) or {}
            measured = nightly_stage_result(run=run, name=StageName.OUTCOMES) or {}
            self.stdout.write(
                "  " + _("%(date)s: %(scored)s customers scored; outcomes measured: %(retained)s retained, "
                         "%(lost)s lost; cases opened %(opened)s (held out %(held_out)s), closed as cleared "
                         "%(cleared)s")
                % {"date": run_date, "scored": f"{run.customers_scored:,}", "retained": measured.get("retained", 0),
                   "lost": measured.get("lost", 0), "opened": cases.get("opened", 0),
                   "held_out": cases.get("held_out", 0), "cleared": cases.get("cases_cleared", 0)}
            )
            if run_date == today or already_done or run.data_month is None:
                continue
            work = demo_branch_work(out_dir=out_dir, run_date=run_date, data_month=run.data_month,
                                    response=response, seed=seed, today=today)
            if work is not None:
                self.stdout.write(
                    "    " + _("branch work: %(worked)s of %(shown)s shown cases worked (%(tasks)s tasks done, "
                               "%(contacts)s contacts logged); %(staying)s customers stay, %(months)s monthly "
                               "balances re-drawn (%(seconds).0f s)")
                    % {"worked": work.cases_worked, "shown": work.cases_shown, "tasks": work.tasks_done,
                       "contacts": work.contacts_logged, "staying": work.customers_staying,
                       "months": work.months_redrawn, "seconds": work.seconds}
                )
        self._effects(out_dir)

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
