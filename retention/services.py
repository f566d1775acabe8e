"""Writes: raising alerts from the rules, the actions staff take on them,
measuring outcomes, and the prize draw.

Every status change writes an AlertEvent (actor None = the nightly job).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.models import AuditAction
from audit.services import AuditOrigin, audit_denied, audit_record
from core.months import add_months, month_start
from customers.models import ContactChannel, ContactLog, ContactResult, Customer, MonthlyBalance, Role, User
from customers.permissions import user_can_hand_over
from customers.selectors import branch_staff, customer_handover_recipient
from customers.services import customer_action_refused
from retention import conf
from retention.bulk import rows_update
from retention.control import alert_key, control_draw, is_held_out
from retention.models import (
    CALLBACK_KINDS,
    OPEN_STATUSES,
    WORKABLE_STATUSES,
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    AlertStep,
    Outcome,
    OwnerRole,
    Playbook,
    PrizeDraw,
)
from retention.outcomes import aum_kept, churned_by_customer, window_of
from retention.priority import expected_value, playbook_save_rates
from retention.rules import RULES, CustomerFacts, RuleContext, Trigger
from retention.selectors import alert_list_for_user

logger = logging.getLogger(__name__)

BATCH = 500


# What the nightly job writes when it closes an alert itself. Stored as the English
# message id (gettext_noop marks it for the catalogue) and translated when shown
# (``retention.models.catalogue_text``): the job runs in no user's language, and the
# same alert is read by staff in Chinese and in English.
CLEAR_REASONS: dict[str, str] = {
    AlertKind.MODEL_RISK: gettext_noop("The churn score is no longer in an alerting risk band."),
    AlertKind.COMPETITOR_MATURITY: gettext_noop("No competitor product matures within the alert window any more."),
    AlertKind.OWN_MATURITY: gettext_noop("No maturing product of ours for an at-risk customer any more."),
    AlertKind.TIER_DOWNGRADE: gettext_noop("AUM is no longer close to the tier floor and falling."),
    AlertKind.AUM_DROP: gettext_noop("The latest month shows no sharp AUM drop."),
    AlertKind.LARGE_WITHDRAWAL: gettext_noop("No large withdrawal or transfer is booked for today or tomorrow."),
    AlertKind.SATISFACTION_DROP: gettext_noop("The latest satisfaction survey no longer shows a drop."),
    AlertKind.SERVICE_FAILURE: gettext_noop("No complaint within the look-back period."),
    AlertKind.RECOVERY_ELIGIBLE: gettext_noop("The recovery month has passed."),
}
WINDOW_ENDED = gettext_noop("The churn window has ended.")


def _event(
    alert: Alert,
    *,
    action: str,
    actor: User | None = None,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    data: dict | None = None,
) -> AlertEvent:
    return AlertEvent(
        alert=alert,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data or {},
    )


# Under this key of ``_branch_staff()``: the first active administrator, owner of last resort.
_ANY_BRANCH = None
# Who takes an alert (or a checklist step) meant for a role when its holder is missing:
# a customer without an RM (rm_code left empty by the bank), a branch without a lobby
# manager or a head. The RM's work goes to the branch head first: the head assigns RMs.
_OWNER_ORDER: dict[str, tuple[str, ...]] = {
    OwnerRole.RM: (OwnerRole.RM, OwnerRole.HEAD, OwnerRole.LOBBY),
    OwnerRole.LOBBY: (OwnerRole.LOBBY, OwnerRole.RM, OwnerRole.HEAD),
    OwnerRole.HEAD: (OwnerRole.HEAD, OwnerRole.RM, OwnerRole.LOBBY),
}


def _branch_staff() -> dict[int | None, dict[str, int]]:
    """branch id -> {"lobby": user id, "head": user id} (``customers.selectors.branch_staff``);
    under ``_ANY_BRANCH``, {"admin": user id}: the first active administrator."""
    staff: dict[int | None, dict[str, int]] = {
        branch: {role: user.pk for role, user in by_role.items()}
        for branch, by_role in branch_staff(roles=[Role.LOBBY, Role.HEAD]).items()
    }
    administrator = User.objects.filter(is_active=True, role=Role.ADMIN).order_by("pk").values_list("pk", flat=True)
    if administrator_id := administrator.first():
        staff.setdefault(_ANY_BRANCH, {})[Role.ADMIN] = administrator_id
    return staff


def _owner_for(role: str, facts: CustomerFacts, staff: dict[int | None, dict[str, int]]) -> int | None:
    """Who owns an alert or step meant for ``role``: its holder, else the next in
    ``_OWNER_ORDER`` (an unassigned customer's RM alert goes to the branch head, then
    the lobby manager), else an administrator, who sees every branch. None only
    when there is nobody at all: the caller must not lose the alert over it."""
    branch = staff.get(facts.branch_id, {})
    for candidate in _OWNER_ORDER.get(role, (role,)):
        owner_id = facts.rm_id if candidate == OwnerRole.RM else branch.get(candidate)
        if owner_id is not None:
            return owner_id
    return staff.get(_ANY_BRANCH, {}).get(Role.ADMIN)


# --- the nightly job ----------------------------------------------------------------------


def alerts_raise_for_date(*, run_date: dt.date, data_month: dt.date | None = None) -> dict:
    """Turn tonight's scores and events into alerts: the nightly chain's alerts stage.

    ``data_month``: the month of balances the night's scores came from (the nightly
    run's); the rules read balances up to it. None: up to the last complete month.

    All or nothing: one transaction, so a process killed half-way (or a rule that
    fails) leaves no alert, step or event of the night, and a rerun raises them all.
    Idempotent too: a second run for the same date changes nothing (an alert already
    triggered on ``run_date`` is left alone, and the partial unique constraint forbids
    a second open alert per customer and kind). Returns counts per outcome and per
    kind; ``no_playbook`` counts triggers dropped because their playbook is missing or
    inactive (logged as a warning).
    """
    ctx = RuleContext(run_date=run_date, data_month=data_month)
    counts: dict = {key: 0 for key in _KIND_COUNTS}
    counts.update(woken=0, skipped_rules=[], by_kind={})
    with transaction.atomic():
        playbooks = {playbook.key: playbook for playbook in Playbook.objects.prefetch_related("steps")}
        save_rates = playbook_save_rates()
        staff = _branch_staff()
        counts["woken"] = _alerts_wake(run_date=run_date)
        for kind, rule in RULES.items():
            triggers = rule(ctx)
            if triggers is None:
                counts["skipped_rules"].append(str(kind))
                continue
            kind_counts = _triggers_apply(
                kind=kind, triggers=triggers, ctx=ctx, playbooks=playbooks, save_rates=save_rates, staff=staff
            )
            counts["by_kind"][str(kind)] = kind_counts
            for key, value in kind_counts.items():
                counts[key] += value
        counts["ranked"] = alerts_rank_for_date(run_date=run_date)
    logger.info("alerts for %s: %s", run_date, counts)
    return counts


def _alerts_wake(*, run_date: dt.date) -> int:
    """Snoozed alerts whose date has come are open again."""
    woken = 0
    with transaction.atomic():
        alerts = list(Alert.objects.select_for_update().filter(status=AlertStatus.SNOOZED, snoozed_until__lte=run_date))
        events = []
        for alert in alerts:
            alert.status = AlertStatus.OPEN
            events.append(
                _event(
                    alert, action=AlertEvent.Action.WOKEN, from_status=AlertStatus.SNOOZED, to_status=AlertStatus.OPEN
                )
            )
        rows_update(alerts, ["status", "updated_at"])
        AlertEvent.objects.bulk_create(events, batch_size=BATCH)
        woken = len(alerts)
    return woken


# What ``_triggers_apply`` counts, per kind.
_KIND_COUNTS = ("raised", "held_out", "updated", "unchanged", "suppressed", "cleared", "unowned", "no_playbook")

_ALERT_UPDATE_FIELDS = [
    "last_triggered_on", "trigger_count", "probability", "aum", "aum_at_risk", "expected_aum_at_risk", "priority",
    "reasons", "details", "event_on", "owner", "branch", "updated_at",
]


@dataclass
class _KindPass:
    """What one kind's pass over its triggers collects before writing it in a few bulk queries."""

    kind: str
    ctx: RuleContext
    staff: dict[int | None, dict[str, int]]
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KIND_COUNTS, 0))
    new_alerts: list[Alert] = field(default_factory=list)
    changed: list[Alert] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)
    triggered: set[int] = field(default_factory=set)
    missing_playbooks: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Pricing:
    """A trigger's figures: probability, expected AUM at risk, priority, AUM."""

    probability: float
    expected_aum_at_risk: Decimal
    priority: float
    aum: Decimal


def _triggers_apply(
    *,
    kind: str,
    triggers: list[Trigger],
    ctx: RuleContext,
    playbooks: dict[str, Playbook],
    save_rates: dict[int, float],
    staff: dict[int | None, dict[str, int]],
) -> dict[str, int]:
    """One kind's triggers of the night: update the open alerts they hit, raise new ones
    (with their checklist steps, or held out), and clear the open alerts no trigger hit."""
    existing = _open_alerts_locked(kind=kind)
    suppressed = _recently_closed_customers(kind=kind, run_date=ctx.run_date)
    batch = _KindPass(kind=kind, ctx=ctx, staff=staff)
    for trigger in triggers:
        facts = ctx.customers.get(trigger.customer_id)
        if facts is None:
            continue
        batch.triggered.add(trigger.customer_id)
        playbook = playbooks.get(trigger.playbook_key)
        if playbook is None or not playbook.is_active:
            batch.counts["no_playbook"] += 1
            batch.missing_playbooks[trigger.playbook_key] = batch.missing_playbooks.get(trigger.playbook_key, 0) + 1
            continue
        pricing = _trigger_pricing(trigger=trigger, playbook=playbook, facts=facts, ctx=ctx, save_rates=save_rates)
        owner_id = _owner_for(trigger.owner_role, facts, staff)
        alert = existing.get(trigger.customer_id)
        if alert is not None:
            _alert_retrigger(batch, alert=alert, trigger=trigger, facts=facts, pricing=pricing, owner_id=owner_id)
        elif trigger.customer_id in suppressed:
            batch.counts["suppressed"] += 1
        elif owner_id is None:
            # Alert.owner is required, and neither the customer's branch nor the bank has
            # anyone to own it (no RM, head, lobby manager or administrator). Not raised
            # tonight, but loudly: the rule fires again each night, so the alert appears
            # as soon as the branch has staff.
            logger.warning("%s alert for customer %s not raised: nobody to own it (branch %s)",
                           kind, facts.customer_id, facts.branch_id)
            batch.counts["unowned"] += 1
        else:
            batch.new_alerts.append(_alert_new(kind=kind, trigger=trigger, facts=facts, playbook=playbook,
                                               pricing=pricing, owner_id=owner_id, run_date=ctx.run_date))
    for key, dropped in batch.missing_playbooks.items():
        # Counted in the result too: a playbook switched off (or never loaded) must not
        # make a night's alerts vanish without a word.
        logger.warning("%s: %s trigger(s) dropped: playbook %r is missing or inactive", kind, dropped, key)
    _alerts_insert_with_steps(batch, playbooks=playbooks)
    rows_update(batch.changed, _ALERT_UPDATE_FIELDS)
    _alerts_clear(batch, cleared=[alert for customer_id, alert in existing.items()
                                  if customer_id not in batch.triggered])
    AlertEvent.objects.bulk_create(batch.events, batch_size=BATCH)
    return batch.counts


def _open_alerts_locked(*, kind: str) -> dict[int, Alert]:
    """Customer pk -> the open alert of ``kind``, locked so that a member of staff acting
    on it meanwhile cannot be overwritten."""
    return {
        alert.customer_id: alert
        for alert in Alert.objects.select_for_update().filter(kind=kind, status__in=OPEN_STATUSES)
    }


def _recently_closed_customers(*, kind: str, run_date: dt.date) -> set[int]:
    """Customers whose ``kind`` alert staff dismissed or closed within the suppression period:
    not raised again at once, staff decided about it."""
    since = timezone.make_aware(dt.datetime.combine(run_date - dt.timedelta(days=conf.suppress_days()), dt.time.min))
    return set(
        Alert.objects.filter(
            kind=kind,
            status__in=[AlertStatus.DISMISSED, AlertStatus.CLOSED_RETAINED, AlertStatus.CLOSED_LOST],
            closed_at__gte=since,
        ).values_list("customer_id", flat=True)
    )


def _trigger_pricing(
    *, trigger: Trigger, playbook: Playbook, facts: CustomerFacts, ctx: RuleContext, save_rates: dict[int, float],
) -> _Pricing:
    """The trigger's probability (its own, else the latest score's, else the prior), what is
    expected to be lost, and the alert's priority (expected value of working it)."""
    score = ctx.latest_scores.get(trigger.customer_id)
    probability = trigger.probability
    if probability is None:
        probability = score.probability if score is not None else conf.event_probability_prior()
    return _Pricing(
        probability=probability,
        expected_aum_at_risk=(Decimal(str(probability)) * trigger.aum_at_risk).quantize(Decimal("0.01")),
        priority=expected_value(
            probability=probability,
            aum_at_risk=float(trigger.aum_at_risk),
            save_rate=save_rates.get(playbook.pk, conf.save_rate_prior()),
            contact_cost=conf.contact_cost(),
        ),
        aum=score.aum if score is not None else facts.latest_aum,
    )


def _alert_retrigger(
    batch: _KindPass, *, alert: Alert, trigger: Trigger, facts: CustomerFacts, pricing: _Pricing,
    owner_id: int | None,
) -> None:
    """An open alert triggered again: refresh its figures (once per date), say what changed."""
    run_date = batch.ctx.run_date
    if alert.last_triggered_on >= run_date:
        batch.counts["unchanged"] += 1
        return
    if owner_id is None:
        owner_id = alert.owner_id  # nobody to hand it to: it stays where it is
    if alert.details != trigger.details or alert.owner_id != owner_id:
        batch.events.append(
            _event(
                alert,
                action=AlertEvent.Action.RETRIGGERED,
                from_status=alert.status,
                to_status=alert.status,
                data={"before": alert.details, "after": trigger.details, "owner_before": alert.owner_id},
            )
        )
    alert.last_triggered_on = run_date
    alert.trigger_count += 1
    alert.probability = pricing.probability
    alert.aum = pricing.aum
    alert.aum_at_risk = trigger.aum_at_risk
    alert.expected_aum_at_risk = pricing.expected_aum_at_risk
    alert.priority = pricing.priority
    alert.reasons = trigger.reasons
    alert.details = trigger.details
    alert.event_on = trigger.event_on
    alert.owner_id = owner_id
    alert.branch_id = facts.branch_id
    batch.changed.append(alert)
    batch.counts["updated"] += 1


def _alert_new(
    *, kind: str, trigger: Trigger, facts: CustomerFacts, playbook: Playbook, pricing: _Pricing, owner_id: int,
    run_date: dt.date,
) -> Alert:
    """A new open alert (not saved), held out or not by its reproducible control draw."""
    share = playbook.control_share if playbook.control_share is not None else conf.control_share()
    draw = control_draw(
        alert_key=alert_key(customer_id=facts.customer_id, kind=kind, raised_on_iso=run_date.isoformat()),
        salt=playbook.control_salt or playbook.key,
    )
    window_start, window_ends_on = window_of(raised_on=run_date)
    return Alert(
        customer_id=trigger.customer_id,
        branch_id=facts.branch_id,
        kind=kind,
        playbook=playbook,
        owner_id=owner_id,
        owner_role=trigger.owner_role,
        status=AlertStatus.OPEN,
        raised_on=run_date,
        last_triggered_on=run_date,
        event_on=trigger.event_on,
        probability=pricing.probability,
        aum=pricing.aum,
        aum_at_risk=trigger.aum_at_risk,
        expected_aum_at_risk=pricing.expected_aum_at_risk,
        reasons=trigger.reasons,
        details=trigger.details,
        priority=pricing.priority,
        is_control=is_held_out(draw=draw, share=share),
        control_draw=draw,
        window_start_month=window_start,
        window_ends_on=window_ends_on,
    )


def _alerts_insert_with_steps(batch: _KindPass, *, playbooks: dict[str, Playbook]) -> None:
    """Insert the new alerts, their "raised" events and, unless held out, their playbook's steps."""
    # bulk_create sets primary keys on PostgreSQL and SQLite >= 3.35, which the steps need.
    Alert.objects.bulk_create(batch.new_alerts, batch_size=BATCH)
    run_date = batch.ctx.run_date
    playbook_by_pk = {playbook.pk: playbook for playbook in playbooks.values()}
    steps: list[AlertStep] = []
    for alert in batch.new_alerts:
        batch.events.append(
            _event(
                alert,
                action=AlertEvent.Action.RAISED,
                to_status=AlertStatus.OPEN,
                data={"held_out": alert.is_control, "control_draw": alert.control_draw},
            )
        )
        if alert.is_control:
            # Held out: recorded and measured, but nobody is asked to do anything.
            batch.counts["held_out"] += 1
            continue
        batch.counts["raised"] += 1
        facts = batch.ctx.customers[alert.customer_id]
        steps.extend(
            AlertStep(
                alert=alert,
                playbook_step=step,
                order=step.order,
                owner_role=step.owner_role,
                owner_id=_owner_for(step.owner_role, facts, batch.staff),
                channel=step.channel,
                due_on=run_date + dt.timedelta(days=step.due_offset_days),
                text_zh=step.text_zh,
                text_en=step.text_en,
            )
            for step in playbook_by_pk[alert.playbook_id].steps.all()
        )
    AlertStep.objects.bulk_create(steps, batch_size=BATCH)


def _alerts_clear(batch: _KindPass, *, cleared: list[Alert]) -> None:
    """Whatever no longer triggers has cleared: close it, saying why."""
    reason = CLEAR_REASONS[batch.kind]
    now = timezone.now()
    for alert in cleared:
        batch.events.append(
            _event(
                alert,
                action=AlertEvent.Action.CLEARED,
                from_status=alert.status,
                to_status=AlertStatus.CLEARED,
                note=reason,
            )
        )
        alert.status = AlertStatus.CLEARED
        alert.close_reason = reason
        alert.closed_at = now
        alert.rank = None
        alert.in_budget = False
    rows_update(cleared, ["status", "close_reason", "closed_at", "rank", "in_budget", "updated_at"])
    batch.counts["cleared"] = len(cleared)


def alerts_rank_for_date(*, run_date: dt.date) -> int:
    """Rank each owner's workable, shown alerts by expected value; the first
    RETENTION_DAILY_BUDGET of each owner are today's budget. Stored, so the
    list pages read the day's order with a fixed number of queries."""
    budget = conf.daily_budget()
    with transaction.atomic():
        Alert.objects.filter(rank__isnull=False).exclude(status__in=WORKABLE_STATUSES).update(
            rank=None, in_budget=False
        )
        alerts = list(
            Alert.objects.filter(status__in=WORKABLE_STATUSES, is_control=False)
            .order_by("owner_id", "-priority", "pk")
            .only("pk", "owner_id", "rank", "ranked_on", "in_budget")
        )
        position: dict[int, int] = defaultdict(int)
        for alert in alerts:
            position[alert.owner_id] += 1
            alert.rank = position[alert.owner_id]
            alert.ranked_on = run_date
            alert.in_budget = alert.rank <= budget
        rows_update(alerts, ["rank", "ranked_on", "in_budget"])
    return len(alerts)


# --- staff actions ----------------------------------------------------------------------


def _alert_lock_for_user(*, alert: Alert, user: User) -> Alert:
    """The alert, locked for update, if ``user`` may act on it; PermissionDenied otherwise."""
    from retention.selectors import alert_scope_for_user

    if not alert_scope_for_user(user=user).filter(pk=alert.pk).exists():
        raise PermissionDenied(_("You cannot act on this alert."))
    return Alert.objects.select_for_update().get(pk=alert.pk)


def _audit_alert_change(origin: AuditOrigin | None, alert: Alert, action: str, **detail: Any) -> None:
    """The audit event of a staff action on an alert, in the action's transaction. Without an
    origin (a service calling another, e.g. the callback's contact log) the caller audits."""
    if origin is not None:
        audit_record(action=AuditAction.CHANGE, origin=origin, obj=alert, customer=alert.customer,
                     detail={"alert_action": action, **detail})


def alert_action_refused(*, alert: Alert, action: str, origin: AuditOrigin) -> None:
    """An action on an alert in scope but not the user's to work (a colleague's): the page
    and the API answer 404, as for an alert out of scope, and the attempt is audited."""
    audit_denied(origin=origin, object_type="retention.alert", object_id=alert.pk, reason=action)


def _require_status(alert: Alert, allowed: tuple[str, ...]) -> None:
    if alert.status not in allowed:
        raise ValidationError(
            _("This alert is %(status)s; the action is not possible.") % {"status": alert.get_status_display()}
        )


def _set_status(
    alert: Alert,
    *,
    to_status: str,
    action: str,
    user: User | None,
    note: str = "",
    data: dict | None = None,
    fields: list[str] | None = None,
) -> Alert:
    from_status = alert.status
    alert.status = to_status
    if to_status not in WORKABLE_STATUSES:
        alert.rank = None
        alert.in_budget = False
    alert.save(update_fields=["status", "rank", "in_budget", "updated_at", *(fields or [])])
    _event(alert, action=action, actor=user, from_status=from_status, to_status=to_status, note=note, data=data).save()
    return alert


@transaction.atomic
def alert_start(*, alert: Alert, user: User, origin: AuditOrigin | None = None) -> Alert:
    alert = _alert_lock_for_user(alert=alert, user=user)
    _require_status(alert, (AlertStatus.OPEN, AlertStatus.SNOOZED))
    alert.snoozed_until = None
    alert = _set_status(
        alert, to_status=AlertStatus.IN_PROGRESS, action=AlertEvent.Action.STARTED, user=user, fields=["snoozed_until"]
    )
    _audit_alert_change(origin, alert, "start")
    return alert


@transaction.atomic
def alert_snooze(*, alert: Alert, user: User, until: dt.date, note: str = "",
                 origin: AuditOrigin | None = None) -> Alert:
    alert = _alert_lock_for_user(alert=alert, user=user)
    _require_status(alert, OPEN_STATUSES)
    today = timezone.localdate()
    if until <= today:
        raise ValidationError(_("Snooze until a later date."))
    horizon = today + dt.timedelta(days=conf.snooze_max_days())
    if until > horizon:
        raise ValidationError(_("Snooze for at most %(days)d days, until %(last)s at the latest.")
                              % {"days": conf.snooze_max_days(), "last": horizon.isoformat()})
    alert.snoozed_until = until
    alert = _set_status(
        alert,
        to_status=AlertStatus.SNOOZED,
        action=AlertEvent.Action.SNOOZED,
        user=user,
        note=note,
        data={"until": until.isoformat()},
        fields=["snoozed_until"],
    )
    _audit_alert_change(origin, alert, "snooze", until=until.isoformat())
    return alert


@transaction.atomic
def alert_dismiss(*, alert: Alert, user: User, reason: str, origin: AuditOrigin | None = None) -> Alert:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("A reason is required to dismiss an alert."))
    alert = _alert_lock_for_user(alert=alert, user=user)
    _require_status(alert, OPEN_STATUSES)
    alert.dismiss_reason = reason
    alert.closed_at = timezone.now()
    alert = _set_status(
        alert,
        to_status=AlertStatus.DISMISSED,
        action=AlertEvent.Action.DISMISSED,
        user=user,
        note=reason,
        fields=["dismiss_reason", "closed_at"],
    )
    _audit_alert_change(origin, alert, "dismiss", reason=reason)
    return alert


@transaction.atomic
def alert_step_tick(*, step: AlertStep, user: User, done: bool = True,
                    origin: AuditOrigin | None = None) -> AlertStep:
    alert = _alert_lock_for_user(alert=step.alert, user=user)
    _require_status(alert, OPEN_STATUSES)
    step = AlertStep.objects.get(pk=step.pk, alert=alert)
    if step.is_done == done:
        return step
    step.done_at = timezone.now() if done else None
    step.done_by = user if done else None
    step.save(update_fields=["done_at", "done_by"])
    action = AlertEvent.Action.STEP_TICKED if done else AlertEvent.Action.STEP_UNTICKED
    if done and alert.status == AlertStatus.OPEN:
        _set_status(alert, to_status=AlertStatus.IN_PROGRESS, action=action, user=user, data={"step": step.order})
    else:
        _event(
            alert,
            action=action,
            actor=user,
            from_status=alert.status,
            to_status=alert.status,
            data={"step": step.order},
        ).save()
    _audit_alert_change(origin, alert, "step_tick", step=step.order, done=done)
    return step


@transaction.atomic
def alert_outcome_record(*, alert: Alert, user: User, outcome: str, note: str = "",
                         origin: AuditOrigin | None = None) -> Alert:
    """Staff close an alert as retained or lost. The measured outcome at the end
    of the churn window is separate (``alert_outcomes_mark``): the report uses that."""
    if outcome not in Outcome.values:
        raise ValidationError(_("Unknown outcome."))
    alert = _alert_lock_for_user(alert=alert, user=user)
    _require_status(alert, OPEN_STATUSES)
    alert.close_reason = note
    alert.closed_at = timezone.now()
    to_status = AlertStatus.CLOSED_RETAINED if outcome == Outcome.RETAINED else AlertStatus.CLOSED_LOST
    alert = _set_status(
        alert,
        to_status=to_status,
        action=AlertEvent.Action.CLOSED,
        user=user,
        note=note,
        fields=["close_reason", "closed_at"],
    )
    _audit_alert_change(origin, alert, "outcome", outcome=outcome)
    return alert


@transaction.atomic
def contact_log(
    *, alert: Alert, user: User, channel: str, result: str, note: str = "", next_step_on: dt.date | None = None,
    origin: AuditOrigin | None = None,
) -> ContactLog:
    """Log one contact with the alert's customer: writes the contact log and moves the alert on."""
    if channel not in ContactChannel.values:
        raise ValidationError(_("Unknown channel."))
    if result not in ContactResult.values:
        raise ValidationError(_("Unknown result."))
    alert = _alert_lock_for_user(alert=alert, user=user)
    _require_status(alert, OPEN_STATUSES)
    contact = ContactLog.objects.create(
        customer_id=alert.customer_id,
        staff=user,
        contacted_at=timezone.now(),
        channel=channel,
        result=result,
        note=note,
        next_step_on=next_step_on,
    )
    alert.next_step_on = next_step_on
    data = {"contact_id": contact.pk, "channel": channel, "result": result}
    if alert.status in (AlertStatus.OPEN, AlertStatus.SNOOZED):
        alert.snoozed_until = None
        _set_status(
            alert,
            to_status=AlertStatus.IN_PROGRESS,
            action=AlertEvent.Action.CONTACT_LOGGED,
            user=user,
            note=note,
            data=data,
            fields=["next_step_on", "snoozed_until"],
        )
    else:
        alert.save(update_fields=["next_step_on", "updated_at"])
        _event(
            alert,
            action=AlertEvent.Action.CONTACT_LOGGED,
            actor=user,
            from_status=alert.status,
            to_status=alert.status,
            note=note,
            data=data,
        ).save()
    _audit_alert_change(origin, alert, "contact", channel=channel, result=result)
    return contact


def callback_record(*, alert: Alert, user: User, result: str, note: str, next_step_on: dt.date | None,
                    close_as: str, origin: AuditOrigin) -> Alert:
    """The branch head's record of a satisfaction or apology call: a logged call, and the
    alert closed when ``close_as`` is an outcome. Only callback alerts (``CALLBACK_KINDS``)
    take it: any other alert is PermissionDenied (the page answers 404), audited as refused."""
    if alert.kind not in CALLBACK_KINDS:
        # Outside the transaction below: the refusal stays in the trail.
        audit_denied(origin=origin, object_type="retention.alert", object_id=alert.pk, reason="not_a_callback")
        raise PermissionDenied(_("This alert is not a callback."))
    with transaction.atomic():
        contact_log(alert=alert, user=user, channel=ContactChannel.CALL, result=result, note=note,
                    next_step_on=next_step_on)
        if close_as:
            alert = alert_outcome_record(alert=alert, user=user, outcome=close_as, note=note)
        audit_record(action=AuditAction.CHANGE, origin=origin, obj=alert, customer=alert.customer,
                     detail={"alert_action": "callback", "result": result, "close_as": close_as})
    return alert


# --- outcomes at the end of the churn window ---------------------------------------------


@dataclass(frozen=True)
class Handover:
    """What a hand-over did: to whom (None: nobody to hand over to, nothing written), on
    which of their open alerts (None: a contact-log entry only), and the contact written."""

    recipient: User | None
    alert: Alert | None = None
    contact: ContactLog | None = None


def customer_handover(*, customer: Customer, user: User, note: str = "", origin: AuditOrigin) -> Handover:
    """The lobby manager hands a walk-in over: a follow-up due today on the recipient's
    open alert for the customer (it moves to "in progress" on their list), or, with no
    open alert, a contact-log entry with today as the next step. The recipient is the
    customer's RM; for a customer without one, the branch head, who owns their alerts.
    With no head either, nothing is written. A role that does not hand over
    (``customers.permissions.user_can_hand_over``) is PermissionDenied, audited as refused;
    a hand-over is audited on the customer."""
    if not user_can_hand_over(user):
        customer_action_refused(customer=customer, action="handover", origin=origin)
        raise PermissionDenied
    recipient = customer_handover_recipient(customer=customer)
    if recipient is None:
        return Handover(recipient=None)
    if customer.rm_id is not None:
        text = _("Hand-over from the lobby to %(rm)s: %(note)s") % {"rm": recipient, "note": note or "—"}
    else:
        text = _("Hand-over from the lobby to the branch head %(head)s (the customer has no RM): %(note)s") % {
            "head": recipient, "note": note or "—"}
    today = timezone.localdate()
    alert = (
        alert_list_for_user(user=user, filters={"customer_id": customer.pk, "status": list(OPEN_STATUSES)})
        .filter(owner_id=recipient.pk)
        .first()
    )
    with transaction.atomic():
        if alert is not None:
            # No origin: the hand-over below is the one audit event, as for the callback's contact.
            contact = contact_log(alert=alert, user=user, channel=ContactChannel.BRANCH,
                                  result=ContactResult.REACHED, note=text, next_step_on=today)
        else:
            contact = ContactLog.objects.create(customer=customer, staff=user, contacted_at=timezone.now(),
                                                channel=ContactChannel.BRANCH, result=ContactResult.REACHED,
                                                note=text, next_step_on=today)
        audit_record(action=AuditAction.CHANGE, origin=origin, obj=customer,
                     detail={"action": "handover", "rm": customer.rm_id, "to": recipient.pk,
                             "alert": alert.pk if alert else None})
    return Handover(recipient=recipient, alert=alert, contact=contact)


def alert_outcomes_mark(*, as_of: dt.date) -> dict[str, int]:
    """Measure every alert whose churn window ended before ``as_of`` and whose
    last window month is in the data: retained = not churned by the churn
    definition, lost otherwise; AUM kept. Worked and held-out alerts alike.
    Still-open alerts are closed with the measured outcome. Works in batches
    grouped by window, one transaction per batch, so it can be stopped and rerun.
    """
    counts = {"retained": 0, "lost": 0, "not_measurable": 0, "waiting_for_data": 0}
    latest_month = MonthlyBalance.objects.aggregate(month=Max("month"))["month"]
    if latest_month is None:
        return counts
    window = conf.churn_window_months()
    pending = Alert.objects.filter(outcome="", outcome_measured_on__isnull=True, window_ends_on__lt=as_of)
    anchors = sorted(set(pending.values_list("window_start_month", flat=True)))
    for anchor in anchors:
        if add_months(anchor, window) > latest_month:
            counts["waiting_for_data"] += pending.filter(window_start_month=anchor).count()
            continue
        ids = list(pending.filter(window_start_month=anchor).order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                batch_counts = _outcomes_mark_batch(alert_ids=ids[start : start + BATCH], anchor=anchor, as_of=as_of)
            for key, value in batch_counts.items():
                counts[key] += value
    return counts


def _outcomes_mark_batch(*, alert_ids: list[int], anchor: dt.date, as_of: dt.date) -> dict[str, int]:
    window = conf.churn_window_months()
    alerts = list(
        Alert.objects.select_for_update().filter(pk__in=alert_ids, outcome="", outcome_measured_on__isnull=True)
    )
    customer_ids = {alert.customer_id for alert in alerts}
    last_month = add_months(anchor, window)
    rows = list(
        MonthlyBalance.objects.filter(
            customer_id__in=customer_ids, month__gte=add_months(anchor, -(window - 1)), month__lte=last_month
        ).values_list("customer_id", "month", "aum", "status")
    )
    churned = churned_by_customer(rows=[(c, m, float(a), s) for c, m, a, s in rows], anchor_month=anchor)
    by_key = {(c, m): (a, s) for c, m, a, s in rows}
    counts = {"retained": 0, "lost": 0, "not_measurable": 0}
    now = timezone.now()
    events = []
    for alert in alerts:
        alert.outcome_measured_on = as_of
        start = by_key.get((alert.customer_id, anchor))
        end = by_key.get((alert.customer_id, last_month))
        if alert.customer_id not in churned:
            # No active row at the anchor month: the churn definition has nothing to say.
            counts["not_measurable"] += 1
            continue
        alert.outcome = Outcome.LOST if churned[alert.customer_id] else Outcome.RETAINED
        alert.aum_at_window_start = start[0] if start else None
        alert.aum_kept = aum_kept(
            start_aum=start[0] if start else None,
            end_aum=end[0] if end else None,
            end_closed=end is None or end[1] == "closed",
        )
        counts[alert.outcome] += 1
        data = {"outcome": alert.outcome, "aum_kept": str(alert.aum_kept)}
        if alert.status in OPEN_STATUSES:
            to_status = AlertStatus.CLOSED_RETAINED if alert.outcome == Outcome.RETAINED else AlertStatus.CLOSED_LOST
            events.append(
                _event(
                    alert,
                    action=AlertEvent.Action.OUTCOME_MEASURED,
                    from_status=alert.status,
                    to_status=to_status,
                    note=WINDOW_ENDED,
                    data=data,
                )
            )
            alert.status = to_status
            alert.closed_at = now
            alert.close_reason = WINDOW_ENDED
            alert.rank = None
            alert.in_budget = False
        else:
            events.append(
                _event(
                    alert,
                    action=AlertEvent.Action.OUTCOME_MEASURED,
                    from_status=alert.status,
                    to_status=alert.status,
                    data=data,
                )
            )
    rows_update(
        alerts,
        [
            "outcome",
            "outcome_measured_on",
            "aum_at_window_start",
            "aum_kept",
            "status",
            "closed_at",
            "close_reason",
            "rank",
            "in_budget",
            "updated_at",
        ],
    )
    AlertEvent.objects.bulk_create(events, batch_size=BATCH)
    return counts


# --- the recovery prize draw -------------------------------------------------------------


def prize_draw_winners(*, eligible: list[str], seed: str, winners: int) -> list[str]:
    """The draw itself: a pure function of the recorded eligible list and seed."""
    population = sorted(eligible)
    return random.Random(seed).sample(population, min(winners, len(population)))


@transaction.atomic
def prize_draw_run(
    *, month: dt.date, winners: int, run_by: User | None = None, run_by_name: str = "", seed: str | None = None
) -> PrizeDraw:
    """Draw ``winners`` customers from the month's recovery eligibility list, once per month.
    The seed, the eligible list and the winners are stored, so the draw can be replayed."""
    from retention.selectors import prize_eligibility_list

    month = month_start(month)
    if winners < 1:
        raise ValidationError(_("At least one winner."))
    if PrizeDraw.objects.filter(month=month).exists():
        raise ValidationError(_("The draw for %(month)s has already been run.") % {"month": f"{month:%Y-%m}"})
    eligible = list(prize_eligibility_list(month=month).values_list("customer_id", flat=True))
    if not eligible:
        # Recording an empty draw would use up the month: refuse, so it can be run once the data is in.
        raise ValidationError(_("Nobody is eligible for the %(month)s draw.") % {"month": f"{month:%Y-%m}"})
    seed = seed or secrets.token_hex(16)
    return PrizeDraw.objects.create(
        month=month,
        seed=seed,
        winners_count=winners,
        eligible=sorted(eligible),
        winners=prize_draw_winners(eligible=eligible, seed=seed, winners=winners),
        run_by=run_by,
        run_by_name=run_by_name or (run_by.username if run_by else ""),
    )
