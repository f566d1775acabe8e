"""The nightly chain's own records: one row per stage of a run, and the per-date lease.

The run itself (``churn.NightlyRun``: date, model version, month of balances,
chunks) belongs to the churn engine; this app, the only one that knows both the
churn engine and the retention app, records how far the chain around it got.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StageName(models.TextChoices):
    """The chain for a date, in order (``STAGE_ORDER``)."""

    PREPARE = "prepare", _("Prepare")
    SCORE = "score", _("Score")
    OUTCOMES = "outcomes", _("Measure outcomes")
    CASES = "cases", _("Cases and tasks")
    REASONS = "reasons", _("Reasons for customers with a case")
    MONITORING = "monitoring", _("Watch the model")


STAGE_ORDER: tuple[str, ...] = (StageName.PREPARE, StageName.SCORE, StageName.OUTCOMES, StageName.CASES,
                                StageName.REASONS, StageName.MONITORING)


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class NightlyStage(models.Model):
    """One stage of one nightly run: where it stands, when it ran, what it returned or why it failed."""

    Name = StageName
    Status = StageStatus

    run = models.ForeignKey("churn.NightlyRun", verbose_name=_("nightly run"),
                            on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("stage"), max_length=10, choices=StageName.choices)
    status = models.CharField(_("status"), max_length=8, choices=StageStatus.choices, default=StageStatus.PENDING)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)

    class Meta:
        ordering = ["run", "pk"]
        verbose_name = _("nightly stage")
        verbose_name_plural = _("nightly stages")
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="uniq_nightly_stage_run_name")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.name} ({self.status})"


class NightlyLease(models.Model):
    """Who drives the run of a date, on databases without advisory locks (SQLite; see
    ``nightly.lease``). A lease is taken over once its holder stopped renewing it, or
    at once when the holder is a process of this machine that no longer exists."""

    run_date = models.DateField(_("run date"), unique=True)
    holder = models.CharField(_("holder"), max_length=200)  # "host:pid:token"
    renewed_at = models.DateTimeField(_("renewed at"))

    class Meta:
        verbose_name = _("nightly lease")
        verbose_name_plural = _("nightly leases")

    def __str__(self) -> str:
        return f"{self.run_date} held by {self.holder}"
