"""Playbooks, retention cases (their signals, tasks and history), and the prize draw.

Playbooks are data (loaded by a data migration, edited in the admin). A case
copies its playbooks' steps into its own tasks when a signal is added, so editing a
playbook later changes new tasks only, never the history of worked cases.
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


# The roles that own case work: the branch roles of ``customers.models.Role``, the same
# values and labels, derived from it rather than copied (an analyst or administrator owns
# no case work of their own; the administrator is only the last fallback, see services).
class OwnerRole(models.TextChoices):
    RM = Role.RM.value, Role.RM.label
    LOBBY = Role.LOBBY.value, Role.LOBBY.label
    HEAD = Role.HEAD.value, Role.HEAD.label


class SignalKind(models.TextChoices):
    MODEL_RISK = "model_risk", _("Churn risk (model)")
    COMPETITOR_MATURITY = "competitor_maturity", _("Competitor product matures")
    OWN_MATURITY = "own_maturity", _("Our product matures")
    TIER_DOWNGRADE = "tier_downgrade", _("Tier downgrade ahead")
    AUM_DROP = "aum_drop", _("Sharp AUM drop")
    LARGE_WITHDRAWAL = "large_withdrawal", _("Large withdrawal or transfer booked")
    SATISFACTION_DROP = "satisfaction_drop", _("Satisfaction fell")
    SERVICE_FAILURE = "service_failure", _("Service failure")
    RECOVERY_ELIGIBLE = "recovery_eligible", _("Back to pre-drop AUM: prize draw")
    # Already left by the churn definition: the signal of a win-back case.
    ALREADY_LOST = "already_lost", _("Already left (by the churn definition)")


class Playbook(models.Model):
    """What to do for a segment (model-risk signals) or for an event kind."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    # Exactly one of segment / signal_kind says what the playbook is for.
    segment = models.CharField(_("segment"), max_length=16, choices=Segment.choices, blank=True)
    signal_kind = models.CharField(_("signal kind"), max_length=32, choices=SignalKind.choices, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Blank = the RETENTION_SAVE_RATE_PRIOR setting. (The control group is drawn per customer
    # and period, not per playbook: retention.control.)
    save_rate_prior = models.FloatField(_("save rate prior"), null=True, blank=True)

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
    playbook = models.ForeignKey(Playbook, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="steps")
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


class CaseKind(models.TextChoices):
    # The customer shows signs of leaving: keep them.
    RETENTION = "retention", _("Retention")
    # The customer has already left by the churn definition: win them back.
    WIN_BACK = "win_back", _("Win-back")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    SNOOZED = "snoozed", _("Snoozed")
    DISMISSED = "dismissed", _("Dismissed")
    CLOSED_RETAINED = "closed_retained", _("Closed: retained")
    CLOSED_LOST = "closed_lost", _("Closed: lost")
    # Every signal of the case has cleared (appointment passed, AUM recovered, ...): closed by the system.
    CLEARED = "cleared", _("Closed: signals cleared")


OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.SNOOZED)
WORKABLE_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS)
CLOSED_BY_STAFF = (CaseStatus.DISMISSED, CaseStatus.CLOSED_RETAINED, CaseStatus.CLOSED_LOST)
# The branch head's calls (docs/playbooks.md, service-oriented): satisfaction fell, or an apology is owed.
CALLBACK_KINDS = (SignalKind.SATISFACTION_DROP, SignalKind.SERVICE_FAILURE)


class Outcome(models.TextChoices):
    RETAINED = "retained", _("Retained")
    LOST = "lost", _("Lost")


class Case(models.Model):
    """One retention episode of one customer: at most one open case per customer.

    The signals (model risk, the event rules) attach to it; its tasks are the playbook
    steps of its signals, each with an owner. Drawn into the control group with the
    customer for the measurement period (``retention.control``): a held-out case is
    recorded and measured, never shown and has no tasks."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="cases")
    # The customer's branch when last raised: pages and reports group by it without a join.
    branch = models.ForeignKey("customers.Branch", verbose_name=_("branch"),
                               on_delete=models.PROTECT, related_name="cases")
    # The RM who owns the customer (or who takes an unassigned customer's work, see services).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="retention_cases", verbose_name=_("owner")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CaseKind.choices, default=CaseKind.RETENTION)
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)

    opened_on = models.DateField(_("opened on"))
    last_signal_on = models.DateField(_("last signal on"))
    # The signal the case opened with (the night's highest expected value) and its playbook:
    # the case's row in the retention report. Fixed at opening, so that working a case (which
    # changes its signals in the shown group only) cannot move it between rows.
    leading_kind = models.CharField(_("leading signal"), max_length=32, choices=SignalKind.choices)
    playbook = models.ForeignKey(Playbook, verbose_name=_("playbook"), on_delete=models.PROTECT, related_name="cases")

    # Expected value = probability x AUM at risk x save rate - contact cost; its parts are kept
    # so the list can show how the figure was reached.
    probability = models.FloatField(_("churn probability"), default=0)
    aum = models.DecimalField(_("AUM"), max_digits=18, decimal_places=2, default=0)
    aum_at_risk = models.DecimalField(_("AUM at risk"), max_digits=18, decimal_places=2, default=0)
    expected_aum_at_risk = models.DecimalField(_("expected AUM at risk"), max_digits=18, decimal_places=2, default=0)
    save_rate = models.FloatField(_("save rate"), default=0)
    contact_cost = models.FloatField(_("contact cost"), default=0)
    priority = models.FloatField(_("expected value"), default=0)
    # Time-critical: a task due today or tomorrow, or a booked large withdrawal. Ranked first.
    urgent = models.BooleanField(_("time-critical"), default=False)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    ranked_on = models.DateField(_("ranked on"), null=True, blank=True)
    in_budget = models.BooleanField(_("in today's budget"), default=False)

    # Control group: the customer's draw for the period the case opened in.
    is_control = models.BooleanField(_("held out (control group)"), default=False)
    control_period = models.DateField(_("measurement period"))
    control_draw = models.FloatField(_("control draw"), default=1.0)

    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    close_reason = models.TextField(_("close reason"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("closed by"),
    )
    # When the first task was done (or a contact logged): "worked" in the report.
    worked_at = models.DateTimeField(_("first worked at"), null=True, blank=True)

    # Win-back cases: when the customer met the churn definition and the AUM that left.
    lost_month = models.DateField(_("left in month"), null=True, blank=True)
    aum_lost = models.DecimalField(_("AUM lost"), max_digits=18, decimal_places=2, null=True, blank=True)

    # Measured at the end of the churn window, for shown and held-out cases alike.
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

    # Not a column: set by ``retention.contactability.cases_with_contactability`` for the pages and the API.
    contact_blocked_reason: str = ""

    class Meta:
        ordering = ["-priority"]
        verbose_name = _("retention case")
        verbose_name_plural = _("retention cases")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(status__in=["open", "in_progress", "snoozed"]),
                name="one_open_case_per_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "rank"]),
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["window_ends_on", "outcome"]),
            models.Index(fields=["customer", "opened_on"]),
            models.Index(fields=["opened_on"]),
            # The branch dashboard's month figures: cases opened, windows ended, closed in a month.
            models.Index(fields=["branch", "opened_on"]),
            models.Index(fields=["branch", "window_ends_on"]),
            models.Index(fields=["branch", "closed_at"]),
            # The lists paged by keyset (``core.keyset``): the branch-wide list's order, and the API's.
            models.Index(models.F("urgent").desc(), models.F("priority").desc(), "id",
                         condition=models.Q(status__in=["open", "in_progress"], is_control=False),
                         name="case_list_order_idx"),
            models.Index(models.F("priority").desc(), models.F("id").desc(),
                         condition=models.Q(status__in=["open", "in_progress"], is_control=False),
                         name="case_api_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} · {self.get_kind_display()} · {self.get_status_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Signal(models.Model):
    """One reason a case is open: the model's risk or an event rule, with its own figures.
    A rule firing again renews the active signal (last seen, figures); a rule that no
    longer fires clears it. At most one active signal per case and kind."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="signals")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="signals")
    kind = models.CharField(_("kind"), max_length=32, choices=SignalKind.choices)
    playbook = models.ForeignKey(Playbook, verbose_name=_("playbook"), on_delete=models.PROTECT, related_name="signals")
    is_active = models.BooleanField(_("active"), default=True)
    first_seen_on = models.DateField(_("first seen on"))
    last_seen_on = models.DateField(_("last seen on"))
    seen_count = models.PositiveIntegerField(_("nights seen"), default=1)
    # The date the event happens (maturity, booking, survey, balance month); null for model risk.
    event_on = models.DateField(_("event date"), null=True, blank=True)
    probability = models.FloatField(_("churn probability"), default=0)
    aum_at_risk = models.DecimalField(_("AUM at risk"), max_digits=18, decimal_places=2, default=0)
    expected_aum_at_risk = models.DecimalField(_("expected AUM at risk"), max_digits=18, decimal_places=2, default=0)
    priority = models.FloatField(_("expected value"), default=0)
    # Same shape as ChurnScore.reasons: [{"feature", "contribution", "value", ...}], rendered at display time.
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    cleared_on = models.DateField(_("cleared on"), null=True, blank=True)
    clear_reason = models.TextField(_("clear reason"), blank=True)

    class Meta:
        ordering = ["case", "-priority", "pk"]
        verbose_name = _("signal")
        verbose_name_plural = _("signals")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"], condition=models.Q(is_active=True), name="one_active_signal_per_kind"
            ),
        ]
        indexes = [models.Index(fields=["kind", "is_active"]), models.Index(fields=["kind", "event_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer_id}"


class TaskStatus(models.TextChoices):
    OPEN = "open", _("To do")
    DONE = "done", _("Done")
    # The signal it was for has cleared, or the case closed, before anyone did it.
    CANCELLED = "cancelled", _("Cancelled")


class TaskOutcome(models.TextChoices):
    # A lobby interception: the customer came in.
    FUNDS_KEPT = "funds_kept", _("Came in: funds kept")
    FUNDS_MOVED = "funds_moved", _("Came in: funds moved out")
    DID_NOT_COME = "did_not_come", _("Did not come in")
    # A callback or call.
    REASON_LEARNT = "reason_learnt", _("Reached: reason learnt")
    REACHED = "reached", _("Reached")
    NOT_REACHED = "not_reached", _("Not reached")


class Task(models.Model):
    """One playbook step of a case for one person: the RM's call, the lobby manager's
    interception, the head's callback. Done by a member of staff (ticked, or by logging a
    contact on its channel), undone if ticked by mistake."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="tasks")
    signal = models.ForeignKey(Signal, verbose_name=_("signal"),
                               on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    playbook = models.ForeignKey(Playbook, verbose_name=_("playbook"), on_delete=models.PROTECT, related_name="tasks")
    playbook_step = models.ForeignKey(PlaybookStep, verbose_name=_("playbook step"),
                                      on_delete=models.SET_NULL, null=True, blank=True)
    order = models.PositiveSmallIntegerField(_("order"))
    owner_role = models.CharField(_("owner role"), max_length=8, choices=OwnerRole.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="retention_tasks",
        verbose_name=_("owner"),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    due_on = models.DateField(_("due on"))
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("done by"),
    )
    # The contact log entry that completed it, if a logged contact did.
    contact = models.ForeignKey(
        "customers.ContactLog", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="tasks",
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=TaskOutcome.choices, blank=True)
    outcome_note = models.TextField(_("what was learnt"), blank=True)
    amount_kept = models.DecimalField(_("amount kept"), max_digits=18, decimal_places=2, null=True, blank=True)
    created_on = models.DateField(_("created on"))
    # Overdue by RETENTION_ESCALATE_AFTER_DAYS: handed up to the branch head on this day
    # (retention.escalation). Kept once done: the history says it was escalated.
    escalated_on = models.DateField(_("escalated on"), null=True, blank=True)

    # Not a column: our replacement product named beside the step that prepares it, set by
    # ``retention.replacement.case_tasks_name_replacement`` for the page.
    replacement_note: str = ""

    class Meta:
        ordering = ["case", "due_on", "order", "pk"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["owner", "status", "due_on"]),
            models.Index(fields=["case", "status"]),
            # The API's task list (soonest due first) and the branch lists by role and due date.
            models.Index(fields=["due_on", "id"], condition=models.Q(status="open"), name="task_open_due_idx"),
            models.Index(fields=["owner_role", "due_on"], name="task_role_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} #{self.order} {self.get_owner_role_display()}"

    @property
    def text(self) -> str:
        return _in_active_language(self.text_zh, self.text_en)

    @property
    def is_done(self) -> bool:
        return self.status == TaskStatus.DONE


class CaseEvent(models.Model):
    """Every change to a case: who (null = the nightly job), when, from -> to, why."""

    class Action(models.TextChoices):
        OPENED = "opened", _("Opened")
        SIGNAL_ADDED = "signal_added", _("Signal added")
        SIGNAL_RENEWED = "signal_renewed", _("Signal changed")
        SIGNAL_CLEARED = "signal_cleared", _("Signal cleared")
        BECAME_WIN_BACK = "win_back", _("Customer left: now a win-back case")
        STARTED = "started", _("Started")
        SNOOZED = "snoozed", _("Snoozed")
        WOKEN = "woken", _("Snooze ended")
        DISMISSED = "dismissed", _("Dismissed")
        TASK_DONE = "task_done", _("Task done")
        TASK_UNDONE = "task_undone", _("Task undone")
        TASK_OUTCOME = "task_outcome", _("Task outcome recorded")
        CONTACT_LOGGED = "contact_logged", _("Contact logged")
        REASSIGNED = "reassigned", _("Reassigned")
        ESCALATED = "escalated", _("Escalated to the branch head")
        CLOSED = "closed", _("Closed")
        CLEARED = "cleared", _("Signals cleared")
        OUTCOME_MEASURED = "outcome_measured", _("Outcome measured")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="events")
    task = models.ForeignKey(Task, verbose_name=_("task"),
                             on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=16, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=CaseStatus.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["case", "at", "pk"]
        verbose_name = _("case event")
        verbose_name_plural = _("case history")

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


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


class DigestSent(models.Model):
    """One daily digest sent to one member of staff: at most one a day
    (``retention.digest_sending``), so a rerun of the morning job sends nothing twice. Its
    day also bounds "new since the last digest" of the next one."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests_sent", verbose_name=_("staff member")
    )
    day = models.DateField(_("day"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=8)
    # What it said, in numbers: tasks due, overdue, new high-value cases, escalated tasks.
    counts = models.JSONField(_("counts"), default=dict, blank=True)

    class Meta:
        ordering = ["-day", "staff"]
        verbose_name = _("digest sent")
        verbose_name_plural = _("digests sent")
        constraints = [models.UniqueConstraint(fields=["staff", "day"], name="one_digest_per_staff_and_day")]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.day:%Y-%m-%d}"


# --- the dashboard's figures, summed ahead (``retention.summary``) ---------------------------------


class CaseMonthSummary(models.Model):
    """The branch dashboard's figures of one owner in one month of one branch, summed from the
    cases by the nightly job and by the staff actions that change them (``retention.summary``),
    so the dashboard reads a few hundred rows instead of a branch's cases.

    Three months of a case put it in rows: the month it opened (``opened``… ``worked``), the
    month its churn window ends (``windows_ended``… ``held_out_lost``) and, for a shown case,
    the month it left the open statuses (``shown_closed``); ``open_cases`` is what stays open
    at the month's end (now, for the month under way): the shown cases opened by then less the
    ones closed by then."""

    branch = models.ForeignKey("customers.Branch", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Opened in the month: opened = held_out + shown; worked among shown.
    opened = models.PositiveIntegerField(default=0)
    held_out = models.PositiveIntegerField(default=0)
    shown = models.PositiveIntegerField(default=0)
    worked = models.PositiveIntegerField(default=0)
    # Shown cases closed in the month (left the open statuses), and those open at its end.
    shown_closed = models.PositiveIntegerField(default=0)
    open_cases = models.PositiveIntegerField(default=0)
    # Churn windows ended in the month: shown, then held out.
    windows_ended = models.PositiveIntegerField(default=0)
    measured = models.PositiveIntegerField(default=0)
    retained = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    aum_kept = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    aum_lost = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    held_out_windows_ended = models.PositiveIntegerField(default=0)
    held_out_measured = models.PositiveIntegerField(default=0)
    held_out_retained = models.PositiveIntegerField(default=0)
    held_out_lost = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("dashboard month summary")
        verbose_name_plural = _("dashboard month summaries")
        constraints = [
            models.UniqueConstraint(fields=["branch", "month", "owner"], name="case_month_summary_unique"),
        ]
        indexes = [models.Index(fields=["month", "branch"]), models.Index(fields=["owner", "branch"])]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.month:%Y-%m} {self.owner_id}"


class OutcomeMonthSummary(models.Model):
    """The retention report's sums of the cases measured in one month (by the end of their
    churn window) of one branch and playbook, shown or held out: the report of a year of
    windows is the sum of twelve months of these rows (``retention.report``'s cells)."""

    branch = models.ForeignKey("customers.Branch", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="+")
    is_control = models.BooleanField(default=False)
    n = models.PositiveIntegerField(default=0)
    retained = models.PositiveIntegerField(default=0)
    kept = models.FloatField(default=0)
    kept_squared = models.FloatField(default=0)
    worked_n = models.PositiveIntegerField(default=0)
    worked_retained = models.PositiveIntegerField(default=0)
    worked_kept = models.FloatField(default=0)
    worked_kept_squared = models.FloatField(default=0)

    class Meta:
        verbose_name = _("retention report month summary")
        verbose_name_plural = _("retention report month summaries")
        constraints = [
            models.UniqueConstraint(fields=["branch", "month", "playbook", "is_control"],
                                    name="outcome_month_summary_unique"),
        ]
        indexes = [models.Index(fields=["month", "branch"])]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.month:%Y-%m} {self.playbook_id} {'held out' if self.is_control else 'shown'}"


class RiskBandSummary(models.Model):
    """One night's scores of one branch's customers in one risk band: how many and their
    expected AUM at risk (the dashboard's bands), written by the nightly job after scoring."""

    scored_on = models.DateField(_("scored on"))
    branch = models.ForeignKey("customers.Branch", on_delete=models.CASCADE, related_name="+")
    risk_band = models.CharField(_("risk band"), max_length=8)
    customers = models.PositiveIntegerField(default=0)
    expected_aum_at_risk = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("risk band summary")
        verbose_name_plural = _("risk band summaries")
        constraints = [
            models.UniqueConstraint(fields=["scored_on", "branch", "risk_band"], name="risk_band_summary_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.scored_on} {self.branch_id} {self.risk_band}"
