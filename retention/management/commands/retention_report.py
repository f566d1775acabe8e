from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from retention.report import GroupStats, Interval, ReportRow, measured_cases, retention_report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _interval(interval: Interval | None, *, percent: bool) -> str:
    if interval is None:
        return "-"
    fmt = (lambda v: f"{v * 100:+.1f}pp") if percent else (lambda v: f"{v:+,.0f}")
    return f"{fmt(interval.estimate)} [{fmt(interval.low)}, {fmt(interval.high)}]"


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("Give the date as YYYY-MM-DD.")) from exc


class Command(BaseCommand):
    help = _(
        "Retention rate and AUM kept of shown vs held-out cases (measured at the end of the churn window), per "
        "playbook of the leading signal and per branch, with 95 percent confidence intervals; worked cases beside."
    )

    def add_arguments(self, parser):
        parser.add_argument("--by", choices=["playbook", "branch", "both"], default="both")
        parser.add_argument("--until", type=_date, default=None,
                            help=_("only cases whose churn window ended on or before this date (YYYY-MM-DD)"))

    def handle(self, *args, by: str, until: dt.date | None, **options):
        cases = measured_cases()
        if until is not None:
            cases = cases.filter(window_ends_on__lte=until)
        groups = ["playbook", "branch"] if by == "both" else [by]
        for group_by in groups:
            rows = retention_report(group_by=group_by, cases=cases)
            self.stdout.write(self.style.MIGRATE_HEADING(
                _("By playbook of the leading signal") if group_by == "playbook" else _("By branch")
            ))
            if not rows:
                self.stdout.write(_("No case has a measured outcome yet."))
                continue
            for row in rows:
                self._write_row(row)
        self.stdout.write(_(
            # xgettext:no-python-format
            "Shown = every case of a customer not held out (intention to treat); the difference is shown minus "
            "held out. Worked = shown cases with at least one task done or contact logged: described, not compared. "
            "Intervals: 95%; retention difference by Newcombe's score interval, AUM kept per case by Welch's "
            "standard error."
        ))

    def _group(self, label: str, group: GroupStats) -> None:
        self.stdout.write("  " + _("%(group)s: n=%(n)d retained=%(retained)d (%(rate)s) AUM kept=%(aum)s "
                                   "(mean %(mean)s)") % {
            "group": label, "n": group.n, "retained": group.retained, "rate": _pct(group.retention_rate),
            "aum": _money(group.aum_kept_total), "mean": _money(group.aum_kept_mean)})

    def _write_row(self, row: ReportRow) -> None:
        self.stdout.write(f"{row.key}  {row.label}")
        self._group(_("shown"), row.shown)
        self._group(_("of which worked"), row.worked)
        self._group(_("held out"), row.held_out)
        self.stdout.write("  " + _("retention difference, shown - held out: %(ci)s") % {
            "ci": _interval(row.retention_difference, percent=True)})
        self.stdout.write("  " + _("AUM kept per case difference, shown - held out: %(ci)s%(note)s") % {
            "ci": _interval(row.aum_kept_difference, percent=False),
            "note": "" if row.aum_effect or row.aum_kept_difference is None else " (" + _("no measurable effect") + ")",
        })
        self.stdout.write("  => " + row.verdict)
