"""Model versions, nightly runs and the scores they write."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelVersion(models.Model):
    """One training run: what was trained on which periods, how it scored on
    the later evaluation period, and where its fitted model file lives."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    algorithm = models.CharField(_("algorithm"), max_length=100)
    parameters = models.JSONField(_("parameters"), default=dict)
    features = models.JSONField(_("features"), default=list)
    train_months = models.JSONField(_("training month-ends"), default=list)
    evaluation_month = models.DateField(_("evaluation month-end"))
    metrics = models.JSONField(_("metrics"), default=dict)
    baselines = models.JSONField(_("baseline metrics"), default=dict)
    artifact_path = models.CharField(_("model file"), max_length=500)
    artifact_sha256 = models.CharField(_("model file SHA-256"), max_length=64)
    format_version = models.PositiveIntegerField(_("file format version"))
    is_active = models.BooleanField(_("active"), default=False)
    activation_note = models.CharField(_("activation note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        constraints = [
            # At most one active model: the nightly job must never have to choose.
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_model")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.algorithm} ({self.created_at:%Y-%m-%d})"


class RiskBand(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class RunStatus(models.TextChoices):
    """Where a long job (a nightly run, a retraining) stands."""

    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class NightlyRun(models.Model):
    """One nightly run for a date: its scoring chunks report into it; the ``nightly`` app
    records the stages of the chain around it."""

    Status = RunStatus

    run_date = models.DateField(_("run date"), unique=True)
    model_version = models.ForeignKey(ModelVersion, verbose_name=_("model version"),
                                      on_delete=models.PROTECT, null=True, related_name="runs")
    # The month whose balances the run scores from: the last complete month before
    # ``run_date``, or an earlier one while that month's export has not arrived yet.
    # Fixed when the run is created, so every chunk (and a resumed run) uses the same.
    data_month = models.DateField(_("monthly data of"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    chunks_total = models.PositiveIntegerField(_("chunks in all"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    customers_scored = models.PositiveIntegerField(_("customers scored"), default=0)
    # Active customers left unscored by the churn definition (under the minimum average AUM, no current month).
    customers_skipped = models.PositiveIntegerField(_("customers skipped"), default=0)
    # Failed chunks ({"chunk": [first, last], "error"}) and a failed stage ({"stage", "error"}):
    # what the run status partial, the API and ``run_nightly`` show. The stages themselves
    # (status, timing, result) are ``nightly.NightlyStage`` rows.
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta:
        ordering = ["-run_date"]
        verbose_name = _("nightly run")
        verbose_name_plural = _("nightly runs")

    def __str__(self) -> str:
        return f"{self.run_date} ({self.status})"


class TrainingRun(models.Model):
    """One retraining started by an analyst: a Celery task that reports its stage here
    so the model page can show progress, and links the version it produced."""

    Status = RunStatus

    class Stage(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        READING = "reading", _("Reading the bank's history")
        FEATURES = "features", _("Building features and labels")
        FITTING = "fitting", _("Fitting the gradient boosting model")
        EVALUATING = "evaluating", _("Evaluating against the baselines")
        SAVING = "saving", _("Saving and comparing with the active model")
        FINISHED = "finished", _("Training finished")

    requested_by = models.ForeignKey(
        "customers.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("requested by"),
    )
    force = models.BooleanField(_("activate even if not better"), default=False)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.RUNNING)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.QUEUED)
    percent = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    # Language-neutral detail of the stage: the month-end being built, or trees grown "n/N".
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_runs",
        verbose_name=_("model version"),
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")
        constraints = [
            # One retraining at a time: two would fight over the CPU and the active model.
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="running"),
                                    name="one_running_training")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class NightlyChunk(models.Model):
    """One id range of a nightly run. The rows make a run resumable: a later run
    for the same date redoes only the chunks that are not done."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(NightlyRun, verbose_name=_("nightly run"), on_delete=models.CASCADE, related_name="chunks")
    first_id = models.BigIntegerField(_("first customer id"))
    last_id = models.BigIntegerField(_("last customer id"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    customers_scored = models.PositiveIntegerField(_("customers scored"), default=0)
    customers_skipped = models.PositiveIntegerField(_("customers skipped"), default=0)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["run", "first_id"]
        verbose_name = _("scoring chunk")
        verbose_name_plural = _("scoring chunks")
        constraints = [models.UniqueConstraint(fields=["run", "first_id"], name="uniq_chunk_run_first_id")]
        indexes = [models.Index(fields=["run", "status"])]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.first_id}-{self.last_id} ({self.status})"


class ChurnScore(models.Model):
    """A customer's churn score on a date: one row per customer per day."""

    # No foreign-key constraints in the database on this table (Django still cascades and
    # protects): a million rows a night, and PostgreSQL checks each row's references one
    # by one, locking the customer row (FOR KEY SHARE), which doubled the nightly write
    # (benchmarks/nightly_bench.py). The only writer, the nightly run, writes scores for
    # customers it has just read, with the run's model version. The customer index is the
    # unique (customer, scored_on) one; a second index on customer alone would only cost.
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="churn_scores",
                                 db_constraint=False, db_index=False)
    scored_on = models.DateField(_("scored on"))
    model_version = models.ForeignKey(ModelVersion, verbose_name=_("model version"),
                                      on_delete=models.PROTECT, related_name="scores",
                                      db_constraint=False)
    probability = models.FloatField(_("churn probability"))
    risk_band = models.CharField(_("risk band"), max_length=8, choices=RiskBand.choices)
    aum = models.DecimalField(_("AUM"), max_digits=18, decimal_places=2)
    expected_aum_at_risk = models.DecimalField(_("expected AUM at risk"), max_digits=18, decimal_places=2)
    # [{"feature": "aum_change_3m", "contribution": 0.41, "value": -0.32}, ...], strongest first.
    # Rendered into sentences at display time, in the reader's language.
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    is_month_end = models.BooleanField(_("month-end score"), default=False)

    class Meta:
        ordering = ["-scored_on"]
        verbose_name = _("churn score")
        verbose_name_plural = _("churn scores")
        constraints = [
            models.UniqueConstraint(fields=["customer", "scored_on"], name="uniq_score_customer_day"),
        ]
        indexes = [
            models.Index(fields=["scored_on", "risk_band"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.scored_on} {self.probability:.3f}"


# --- watching a model after it goes live (churn.monitoring, churn.monitoring_services) ----------


class ModelReference(models.Model):
    """What a version is watched against, taken from its training sample when it was saved:
    the bins and shares of the score and of its strongest features (for drift), and the
    group figures on its evaluation rows (for the model card)."""

    model_version = models.OneToOneField(ModelVersion, on_delete=models.CASCADE, related_name="reference",
                                         verbose_name=_("model version"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # {"rows": n, "score": {"edges": [...], "proportions": [...], "missing": share},
    #  "features": [{"feature": name, ...the same...}]}, strongest feature first.
    drift = models.JSONField(_("drift reference"), default=dict)
    # {"age_band": [{"group", "n", "alert_rate", "recall", "precision", ...}], "gender": [...]}
    groups = models.JSONField(_("groups on the evaluation rows"), default=dict)

    class Meta:
        verbose_name = _("model reference")
        verbose_name_plural = _("model references")

    def __str__(self) -> str:
        return f"reference of #{self.model_version_id}"


class ModelDrift(models.Model):
    """One night's drift of one version: PSI of the score and of the watched features."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="drifts",
                                      verbose_name=_("model version"))
    run_date = models.DateField(_("run date"))
    data_month = models.DateField(_("monthly data of"), null=True, blank=True)
    score_psi = models.FloatField(_("PSI of the score"), null=True)
    band = models.CharField(_("band"), max_length=8, blank=True)
    # [{"feature": name, "psi": value, "band": "stable" | "watch" | "act"}], strongest feature first.
    features = models.JSONField(_("PSI of the features"), default=list)
    scores = models.PositiveIntegerField(_("scores compared"), default=0)
    feature_rows = models.PositiveIntegerField(_("customers sampled for the features"), default=0)

    class Meta:
        ordering = ["-run_date"]
        verbose_name = _("model drift")
        verbose_name_plural = _("model drift")
        constraints = [models.UniqueConstraint(fields=["model_version", "run_date"], name="uniq_drift_version_day")]

    def __str__(self) -> str:
        return f"#{self.model_version_id} {self.run_date} PSI {self.score_psi}"


class ModelPerformance(models.Model):
    """Realised performance of the scores one version gave at a month-end, once its churn
    window has closed: overall (no branch) and per branch."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="performances",
                                      verbose_name=_("model version"))
    month_end = models.DateField(_("month-end"))
    branch = models.ForeignKey("customers.Branch", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+", verbose_name=_("branch"))
    n = models.PositiveIntegerField(_("customers"))
    positives = models.PositiveIntegerField(_("churners"))
    roc_auc = models.FloatField(_("ROC AUC"), null=True)
    pr_auc = models.FloatField(_("PR AUC"), null=True)
    lift_top10 = models.FloatField(_("lift, top 10%"), null=True)
    brier = models.FloatField(_("Brier score"), null=True)
    # [{"predicted", "observed", "count"}] by decile; the overall row also carries the groups.
    calibration = models.JSONField(_("calibration"), default=list)
    groups = models.JSONField(_("groups"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)

    class Meta:
        ordering = ["month_end"]
        verbose_name = _("realised performance")
        verbose_name_plural = _("realised performance")
        constraints = [
            models.UniqueConstraint(fields=["model_version", "month_end", "branch"],
                                    name="uniq_performance_version_month_branch"),
            # NULLs are distinct in a unique constraint: the overall row needs its own.
            models.UniqueConstraint(fields=["model_version", "month_end"], condition=models.Q(branch=None),
                                    name="uniq_performance_version_month_overall"),
        ]

    def __str__(self) -> str:
        return f"#{self.model_version_id} {self.month_end} {self.branch_id or 'all'} ROC AUC {self.roc_auc}"


class ModelWarning(models.Model):
    """A condition that suggests a retrain, recorded once when it first holds (and audited then)."""

    class Kind(models.TextChoices):
        DRIFT = "drift", _("Drift")
        PERFORMANCE = "performance", _("Realised performance")

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="warnings",
                                      verbose_name=_("model version"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # "score", a feature name, or "roc_auc".
    subject = models.CharField(_("subject"), max_length=64)
    level = models.CharField(_("band"), max_length=8)
    first_seen = models.DateField(_("first seen"))
    # The figures when it was first seen: {"psi": ...} or {"month_end", "roc_auc", "training_roc_auc"}.
    detail = models.JSONField(_("detail"), default=dict)

    class Meta:
        ordering = ["-first_seen", "kind", "subject"]
        verbose_name = _("model warning")
        verbose_name_plural = _("model warnings")
        constraints = [models.UniqueConstraint(fields=["model_version", "kind", "subject", "level"],
                                               name="uniq_model_warning")]

    def __str__(self) -> str:
        return f"#{self.model_version_id} {self.kind} {self.subject} {self.level}"
