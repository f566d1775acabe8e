"""Playbooks, the alerts raised from scores and events, and the prize draw.

Playbooks are data (loaded by a data migration, edited in the admin). An alert
copies its playbook's steps into its own checklist when raised, so editing a
playbook later changes new alerts only, never the history of worked ones.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from customers.models import ContactChannel, Role, Segment


def _in_active_language(zh: str, en: str) -> str:
    language = (translation.get_language() or settings.LANGUAGE_CODE).lower()
    if language.startswith("zh"):
        return zh or en
    return en or zh


def catalogue_text(value: str) -> str:
    """Text the nightly job stored as an English message id (a close reason, an event
    note), in the active language. Staff's own notes are not in the catalogue and come
    back unchanged."""
    return translation.gettext(value) if value else value


# The roles that own alert work: the branch roles of ``customers.models.Role``, the same
# values and labels, derived from it rather than copied (an analyst or administrator owns
# no alert of their own; the administrator is only the last fallback, see services).
class OwnerRole(models.TextChoices):
    RM = Role.RM.value, Role.RM.label
    LOBBY = Role.LOBBY.value, Role.LOBBY.label
    HEAD = Role.HEAD.value, Role.HEAD.label


class AlertKind(models.TextChoices):
    MODEL_RISK = "model_risk", _("Churn risk (model)")
    COMPETITOR_MATURITY = "competitor_maturity", _("Competitor product matures")
    OWN_MATURITY = "own_maturity", _("Our product matures")
    TIER_DOWNGRADE = "tier_downgrade", _("Tier downgrade ahead")
    AUM_DROP = "aum_drop", _("Sharp AUM drop")
    LARGE_WITHDRAWAL = "large_withdrawal", _("Large withdrawal or transfer booked")
    SATISFACTION_DROP = "satisfaction_drop", _("Satisfaction fell")
    SERVICE_FAILURE = "service_failure", _("Service failure")
    RECOVERY_ELIGIBLE = "recovery_eligible", _("Back to pre-drop AUM: prize draw")


class Playbook(models.Model):
    """What to do for a segment (model-risk alerts) or for an event kind."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    # Exactly one of segment / alert_kind says what the playbook is for.
    segment = models.CharField(_("segment"), max_length=16, choices=Segment.choices, blank=True)
    alert_kind = models.CharField(_("event kind"), max_length=32, choices=AlertKind.choices, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Blank = the RETENTION_CONTROL_SHARE / RETENTION_SAVE_RATE_PRIOR settings.
    control_share = models.FloatField(_("control group share"), null=True, blank=True)
    save_rate_prior = models.FloatField(_("save rate prior"), null=True, blank=True)
    # Changing the salt starts a fresh random assignment for new alerts.
    control_salt = models.CharField(_("control draw salt"), max_length=64)

    class Meta:
        ordering = ["key"]
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _in_active_language(self.name_zh, self.name_en)

    @property
    def description(self) -> str:
        return _in_active_language(self.description_zh, self.description_en)


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"))
    owner_role = models.CharField(_("owner"), max_length=8, choices=OwnerRole.choices)
    due_offset_days = models.PositiveSmallIntegerField(_("due after (days)"), default=0)
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))

    class Meta:
        ordering = ["playbook", "order"]
        verbose_name = _("playbook step")
        verbose_name_plural = _("playbook steps")
        constraints = [models.UniqueConstraint(fields=["playbook", "order"], name="uniq_playbook_step_order")]

    def __str__(self) -> str:
        return f"{self.playbook.key} #{self.order}"

    @property
    def text(self) -> str:
        return _in_active_language(self.text_zh, self.text_en)


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    SNOOZED = "snoozed", _("Snoozed")
    DISMISSED = "dismissed", _("Dismissed")
    CLOSED_RETAINED = "closed_retained", _("Closed: retained")
    CLOSED_LOST = "closed_lost", _("Closed: lost")
    # The rule no longer fires (appointment passed, AUM recovered, ...): closed by the system.
    CLEARED = "cleared", _("Closed: condition cleared")


OPEN_STATUSES = (AlertStatus.OPEN, AlertStatus.IN_PROGRESS, AlertStatus.SNOOZED)
WORKABLE_STATUSES = (AlertStatus.OPEN, AlertStatus.IN_PROGRESS)
# The branch head's calls (docs/playbooks.md, service-oriented): satisfaction fell, or an apology is owed.
CALLBACK_KINDS = (AlertKind.SATISFACTION_DROP, AlertKind.SERVICE_FAILURE)


class Outcome(models.TextChoices):
    RETAINED = "retained", _("Retained")
    LOST = "lost", _("Lost")


class Alert(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="alerts")
    # The customer's branch when last raised: pages and reports group by it without a join.
    branch = models.ForeignKey("customers.Branch", on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(_("kind"), max_length=32, choices=AlertKind.choices)
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="alerts")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="retention_alerts", verbose_name=_("owner")
    )
    owner_role = models.CharField(_("owner role"), max_length=8, choices=OwnerRole.choices)
    status = models.CharField(_("status"), max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)

    raised_on = models.DateField(_("first raised on"))
    last_triggered_on = models.DateField(_("last triggered on"))
    trigger_count = models.PositiveIntegerField(default=1)
    # The date the event happens (maturity, appointment, balance month); null for model risk.
    event_on = models.DateField(_("event date"), null=True, blank=True)

    probability = models.FloatField(_("churn probability"), null=True, blank=True)
    aum = models.DecimalField(_("AUM"), max_digits=18, decimal_places=2, default=0)
    aum_at_risk = models.DecimalField(_("AUM at risk"), max_digits=18, decimal_places=2, default=0)
    expected_aum_at_risk = models.DecimalField(_("expected AUM at risk"), max_digits=18, decimal_places=2, default=0)
    # Same shape as ChurnScore.reasons: [{"feature", "contribution", "value", ...}], rendered at display time.
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    # Expected value in CNY; the daily ranking sorts by it.
    priority = models.FloatField(_("priority (expected value)"), default=0)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    ranked_on = models.DateField(_("ranked on"), null=True, blank=True)
    in_budget = models.BooleanField(_("in today's budget"), default=False)

    # Control group: drawn once, when the alert is created; held-out alerts are never shown.
    is_control = models.BooleanField(_("held out (control group)"), default=False)
    control_draw = models.FloatField(_("control draw"), default=1.0)

    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    next_step_on = models.DateField(_("next step on"), null=True, blank=True)
    dismiss_reason = models.TextField(_("dismiss reason"), blank=True)
    close_reason = models.TextField(_("close reason"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    # Measured at the end of the churn window, for worked and held-out alerts alike.
    window_start_month = models.DateField(_("churn window anchor month"))
    window_ends_on = models.DateField(_("churn window ends on"))
    outcome = models.CharField(_("measured outcome"), max_length=8, choices=Outcome.choices, blank=True)
    outcome_measured_on = models.DateField(_("outcome measured on"), null=True, blank=True)
    aum_at_window_start = models.DecimalField(
        _("AUM at window start"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    aum_kept = models.DecimalField(_("AUM kept"), max_digits=18, decimal_places=2, null=True, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-priority"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            # The nightly job relies on this: a second run the same day cannot add a duplicate.
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=models.Q(status__in=["open", "in_progress", "snoozed"]),
                name="one_open_alert_per_customer_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "rank"]),
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["kind", "event_on"]),
            models.Index(fields=["window_ends_on", "outcome"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer_id} · {self.get_status_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AlertStep(models.Model):
    """One line of an alert's checklist, copied from the playbook when raised."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="steps")
    playbook_step = models.ForeignKey(PlaybookStep, on_delete=models.SET_NULL, null=True, blank=True)
    order = models.PositiveSmallIntegerField(_("order"))
    owner_role = models.CharField(_("owner role"), max_length=8, choices=OwnerRole.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="retention_steps"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    due_on = models.DateField(_("due on"))
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["alert", "order"]
        verbose_name = _("alert step")
        verbose_name_plural = _("alert steps")

    def __str__(self) -> str:
        return f"{self.alert_id} #{self.order}"

    @property
    def text(self) -> str:
        return _in_active_language(self.text_zh, self.text_en)

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class AlertEvent(models.Model):
    """Every change to an alert: who (null = the nightly job), when, from -> to, why."""

    class Action(models.TextChoices):
        RAISED = "raised", _("Raised")
        RETRIGGERED = "retriggered", _("Triggered again")
        STARTED = "started", _("Started")
        SNOOZED = "snoozed", _("Snoozed")
        WOKEN = "woken", _("Snooze ended")
        DISMISSED = "dismissed", _("Dismissed")
        STEP_TICKED = "step_ticked", _("Step ticked")
        STEP_UNTICKED = "step_unticked", _("Step unticked")
        CONTACT_LOGGED = "contact_logged", _("Contact logged")
        CLOSED = "closed", _("Closed")
        CLEARED = "cleared", _("Condition cleared")
        OUTCOME_MEASURED = "outcome_measured", _("Outcome measured")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=16, choices=AlertStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=AlertStatus.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["alert", "at", "pk"]
        verbose_name = _("alert event")
        verbose_name_plural = _("alert history")

    def __str__(self) -> str:
        return f"{self.alert_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class PrizeDraw(models.Model):
    """One monthly recovery prize draw. The eligible list and the seed are stored,
    so anyone can replay ``random.Random(seed).sample(eligible, winners_count)``."""

    month = models.DateField(_("month"), unique=True)
    seed = models.CharField(_("seed"), max_length=64)
    winners_count = models.PositiveIntegerField(_("number of winners"))
    eligible = models.JSONField(_("eligible customer IDs"), default=list)
    winners = models.JSONField(_("winning customer IDs"), default=list)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("run by"),
    )
    run_by_name = models.CharField(_("run by (login)"), max_length=150, blank=True)
    run_at = models.DateTimeField(_("run at"), auto_now_add=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("prize draw")
        verbose_name_plural = _("prize draws")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"
