"""Compile the project's .po files into .mo files.

Django's own ``compilemessages`` shells out to GNU gettext's ``msgfmt``, which
a fresh machine may not have; Babel does the same in pure Python, so the
set-up commands need nothing beyond pip.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po into .mo files (pure Python, no gettext tools needed)."

    def handle(self, *args, **options) -> None:
        compiled = 0
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                with po_path.open("rb") as po_file:
                    catalog = read_po(po_file)
                tmp_path = mo_path.with_suffix(".mo.tmp")
                with tmp_path.open("wb") as mo_file:
                    write_mo(mo_file, catalog)
                tmp_path.replace(mo_path)
                compiled += 1
        if options["verbosity"]:
            self.stdout.write(f"compiled {compiled} translation catalogue(s)")
