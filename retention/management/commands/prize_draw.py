from __future__ import annotations

import datetime as dt
import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from customers.models import User
from retention.prize import prize_draw_run


class Command(BaseCommand):
    help = _("Run the monthly recovery prize draw; the seed and winners are recorded.")

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--winners", required=True, type=int)
        parser.add_argument("--seed", help=_("replay a draw with this seed (default: a fresh random seed)"))
        parser.add_argument("--run-by", help=_("username of the member of staff running the draw"))

    def handle(self, *args, month: str, winners: int, seed: str | None, run_by: str | None, **options):
        try:
            first_day = dt.datetime.strptime(month, "%Y-%m").date()
        except ValueError as exc:
            raise CommandError(_("--month must be YYYY-MM")) from exc
        user = None
        if run_by:
            user = User.objects.filter(username=run_by).first()
            if user is None:
                raise CommandError(_("No user %(name)s") % {"name": run_by})
        try:
            draw = prize_draw_run(month=first_day, winners=winners, seed=seed, run_by=user,
                                  run_by_name=run_by or getpass.getuser())
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(_("Draw %(month)s: %(eligible)d eligible, seed %(seed)s, run by %(by)s") % {
            "month": month, "eligible": len(draw.eligible), "seed": draw.seed, "by": draw.run_by_name})
        for customer_id in draw.winners:
            self.stdout.write(f"  {customer_id}")
