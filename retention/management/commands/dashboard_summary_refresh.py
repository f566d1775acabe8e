from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from retention.summary import dashboard_summary_refresh


class Command(BaseCommand):
    help = _("Rewrite the dashboard's summaries from every case and every night's scores (the nightly "
             "job rewrites them from tonight's; run this once after upgrading).")

    def handle(self, *args, **options):
        started = time.perf_counter()
        counts = dashboard_summary_refresh(today=timezone.localdate())
        self.stdout.write(_("Dashboard summaries: %(cases)d owner-month rows, %(outcomes)d report rows, "
                            "%(bands)d risk band rows, in %(seconds).1f s") % {
            "cases": counts.case_rows, "outcomes": counts.outcome_rows, "bands": counts.band_rows,
            "seconds": time.perf_counter() - started})
