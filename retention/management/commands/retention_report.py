from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from retention.report import Interval, ReportRow, retention_report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _interval(interval: Interval | None, *, percent: bool) -> str:
    if interval is None:
        return "-"
    fmt = (lambda v: f"{v * 100:+.1f}pp") if percent else (lambda v: f"{v:+,.0f}")
    return f"{fmt(interval.estimate)} [{fmt(interval.low)}, {fmt(interval.high)}]"


class Command(BaseCommand):
    help = _(
        "Retention rate and AUM kept for worked vs held-out alerts, per playbook and per branch, "
        "with 95 percent confidence intervals."
    )

    def add_arguments(self, parser):
        parser.add_argument("--by", choices=["playbook", "branch", "both"], default="both")

    def handle(self, *args, by: str, **options):
        groups = ["playbook", "branch"] if by == "both" else [by]
        for group_by in groups:
            rows = retention_report(group_by=group_by)
            self.stdout.write(self.style.MIGRATE_HEADING(
                _("By playbook") if group_by == "playbook" else _("By branch")
            ))
            if not rows:
                self.stdout.write(_("No alert has a measured outcome yet."))
                continue
            for row in rows:
                self._write_row(row)
        self.stdout.write(_(
            # xgettext:no-python-format
            "Intervals: 95%; retention difference by normal approximation, AUM kept per alert by Welch's standard "
            "error. Worked = every alert shown (intention to treat)."
        ))

    def _write_row(self, row: ReportRow) -> None:
        worked, held = row.worked, row.held_out
        self.stdout.write(f"{row.key}  {row.label}")
        self.stdout.write(
            "  " + _("worked: n=%(n)d retained=%(rate)s AUM kept=%(aum)s (mean %(mean)s)") % {
                "n": worked.n, "rate": _pct(worked.retention_rate), "aum": _money(worked.aum_kept_total),
                "mean": _money(worked.aum_kept_mean)}
        )
        self.stdout.write(
            "  " + _("held out: n=%(n)d retained=%(rate)s AUM kept=%(aum)s (mean %(mean)s)") % {
                "n": held.n, "rate": _pct(held.retention_rate), "aum": _money(held.aum_kept_total),
                "mean": _money(held.aum_kept_mean)}
        )
        self.stdout.write("  " + _("retention difference: %(ci)s") % {
            "ci": _interval(row.retention_difference, percent=True)})
        self.stdout.write("  " + _("AUM kept per alert difference: %(ci)s%(note)s") % {
            "ci": _interval(row.aum_kept_difference, percent=False),
            "note": "" if row.aum_effect or row.aum_kept_difference is None else " (" + _("no measurable effect") + ")",
        })
        self.stdout.write("  => " + row.verdict)
