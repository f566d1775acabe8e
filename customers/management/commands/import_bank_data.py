"""``python manage.py import_bank_data DIR``: load the bank's interchange CSV files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from customers.services import bank_data_import


class Command(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Translated when the parser is built, in the active language; argparse needs a real str,
        # not a lazy one.
        self.help = gettext("Import the bank's interchange CSV files (branches.csv, staff.csv, customers.csv, "
                            "monthly.csv, ...) from DIR. All or nothing: on any bad row every problem is printed "
                            "and nothing changes.")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", type=Path, help=gettext("Folder holding the CSV files."))
        parser.add_argument("--no-progress", action="store_true",
                            help=gettext("No progress bars (shown on a terminal for files over 100,000 rows)."))

    def handle(self, *args, directory: Path, no_progress: bool, **options) -> None:
        if not directory.is_dir():
            raise CommandError(gettext("%(directory)s is not a folder") % {"directory": directory})
        progress = not no_progress and sys.stderr.isatty()
        result = bank_data_import(directory=directory, progress=progress)

        if not result.ok:
            for problem in result.problems:
                self.stderr.write(str(problem))
            hidden = result.problem_count - len(result.problems)
            if hidden:
                self.stderr.write(gettext("… and %(count)s more problems not shown") % {"count": f"{hidden:,}"})
            raise CommandError(
                gettext("%(count)s problems found; nothing was imported.") % {"count": f"{result.problem_count:,}"}
            )

        for summary in result.files:
            self.stdout.write(self.style.SUCCESS(
                gettext("%(file)s: %(rows)s rows read, %(inserted)s inserted, %(updated)s updated, "
                        "%(unchanged)s unchanged") % {
                    "file": summary.name,
                    "rows": f"{summary.rows:,}",
                    "inserted": f"{summary.inserted:,}",
                    "updated": f"{summary.updated:,}",
                    "unchanged": f"{summary.unchanged:,}",
                }
            ))
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(gettext("Warning: %(warning)s") % {"warning": warning}))
        if result.customers_refreshed:
            self.stdout.write(self.style.SUCCESS(
                gettext("%(count)s customers' latest AUM, status and tier refreshed")
                % {"count": f"{result.customers_refreshed:,}"}
            ))
