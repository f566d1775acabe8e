"""Write a synthetic bank as interchange CSV files, for demos and benchmarks.

    python manage.py make_demo_bank --out demo_data --customers 20000 --months 24 --seed 1 --end 2025-05

The work is done by ``demo.bank.generate_demo_bank`` (no Django there);
this command parses dates, shows progress on stderr and prints the row counts.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from core.months import add_months
from customers import conf as customers_conf
from demo.bank import generate_demo_bank


def _month(value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise CommandError(_("Expected a month as YYYY-MM, got %(value)r.") % {"value": value})
    return value


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("Expected a date as YYYY-MM-DD, got %(value)r.") % {"value": value}) from exc


def _month_before(day: dt.date) -> str:
    return f"{add_months(day, -1):%Y-%m}"


class Command(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Translated when the parser is built, in the active language; argparse needs a real str,
        # not a lazy one.
        self.help = _("Write a synthetic bank (branches, staff, customers, balances, products, holdings, surveys, "
                      "appointments) as interchange CSV files.")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, help=_("Directory to write the CSV files into."))
        parser.add_argument("--customers", type=int, default=20_000, help=_("Number of customers."))
        parser.add_argument("--months", type=int, default=24, help=_("Number of months of history."))
        parser.add_argument("--seed", type=int, default=1, help=_("Random seed: the same seed gives the same files."))
        parser.add_argument("--end", help=_("Last month of the history, YYYY-MM (default: the month before today)."))
        parser.add_argument("--today", help=_("Today's date, YYYY-MM-DD, for upcoming appointments "
                                              "(default: the real date)."))
        parser.add_argument("--bank-name", default=None,
                            help=_("Provider name of our products (default: the BANK_NAME setting)."))

    def handle(self, *args, **options) -> None:
        if options["customers"] < 1:
            raise CommandError(_("--customers must be at least 1."))
        if options["months"] < 4:
            raise CommandError(_("--months must be at least 4."))
        today = _date(options["today"]) if options["today"] else dt.date.today()
        end_month = _month(options["end"]) if options["end"] else _month_before(today)
        bank_name = options["bank_name"] or customers_conf.bank_name()
        out = Path(options["out"])

        # The raw stream under Django's OutputWrapper: the wrapper appends a newline to every
        # write, which would break tqdm's carriage-return redraws. (The stubs type the wrapper's
        # delegated attributes as methods; _out is its stream.)
        raw_stderr = cast(TextIO, self.stderr._out)
        with tqdm(total=options["customers"], unit=_("customers"), file=raw_stderr,
                  disable=options["verbosity"] == 0) as bar:
            counts = generate_demo_bank(
                out, customers=options["customers"], months=options["months"], seed=options["seed"],
                end_month=end_month, today=today, tier_floors=customers_conf.tier_floors(), bank_name=bank_name,
                progress=bar.update,
            )
        self.stdout.write(_("Wrote the demo bank to %(out)s (%(months)s months ending %(end)s):") % {
            "out": out, "months": options["months"], "end": end_month,
        })
        for name, rows in counts.items():
            line = ngettext("  %(file)s: %(rows)s row", "  %(file)s: %(rows)s rows", rows)
            self.stdout.write(line % {"file": name, "rows": f"{rows:,}"})
