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
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.models import AuditAction
from audit.services import AuditOrigin, audit_denied, audit_record
from customers.models import ContactChannel, ContactLog, ContactResult, MonthlyBalance, Role, User
from customers.selectors import branch_staff
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
from retention.rules import RULES, CustomerFacts, RuleContext, Trigger, add_months

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


def alerts_raise_for_date(*, run_date: dt.date) -> dict:
    """Turn tonight's scores and events into alerts. Called by the nightly job after scoring.

    Idempotent: a second run for the same date changes nothing (an alert
    already triggered on ``run_date`` is left alone, and the partial unique
    constraint forbids a second open alert per customer and kind). Each rule is
    applied in its own transaction, so a failing rule leaves the others' work.
    Returns counts per outcome and per kind.
    """
    ctx = RuleContext(run_date=run_date)
    playbooks = {playbook.key: playbook for playbook in Playbook.objects.prefetch_related("steps")}
    save_rates = playbook_save_rates()
    staff = _branch_staff()
    counts: dict = {
        "raised": 0,
        "held_out": 0,
        "updated": 0,
        "unchanged": 0,
        "suppressed": 0,
        "cleared": 0,
        "unowned": 0,
        "woken": 0,
        "skipped_rules": [],
        "by_kind": {},
    }
    counts["woken"] = _alerts_wake(run_date=run_date)
    for kind, rule in RULES.items():
        triggers = rule(ctx)
        if triggers is None:
            counts["skipped_rules"].append(str(kind))
            continue
        with transaction.atomic():
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


def _triggers_apply(
    *,
    kind: str,
    triggers: list[Trigger],
    ctx: RuleContext,
    playbooks: dict[str, Playbook],
    save_rates: dict[int, float],
    staff: dict[int | None, dict[str, int]],
) -> dict[str, int]:
    run_date = ctx.run_date
    counts = {"raised": 0, "held_out": 0, "updated": 0, "unchanged": 0, "suppressed": 0, "cleared": 0,
              "unowned": 0}
    # Locked so a member of staff acting on an alert meanwhile cannot be overwritten.
    existing = {
        alert.customer_id: alert
        for alert in Alert.objects.select_for_update().filter(kind=kind, status__in=OPEN_STATUSES)
    }
    # A dismissed or closed-by-hand alert is not raised again at once: staff decided about it.
    suppress_since = timezone.make_aware(
        dt.datetime.combine(run_date - dt.timedelta(days=conf.suppress_days()), dt.time.min)
    )
    suppressed = set(
        Alert.objects.filter(
            kind=kind,
            status__in=[AlertStatus.DISMISSED, AlertStatus.CLOSED_RETAINED, AlertStatus.CLOSED_LOST],
            closed_at__gte=suppress_since,
        ).values_list("customer_id", flat=True)
    )
    cost = conf.contact_cost()
    prior_probability = conf.event_probability_prior()
    new_alerts: list[Alert] = []
    changed: list[Alert] = []
    events: list[AlertEvent] = []
    triggered: set[int] = set()

    for trigger in triggers:
        facts = ctx.customers.get(trigger.customer_id)
        if facts is None:
            continue
        triggered.add(trigger.customer_id)
        playbook = playbooks.get(trigger.playbook_key)
        if playbook is None or not playbook.is_active:
            continue
        score = ctx.latest_scores.get(trigger.customer_id)
        probability = trigger.probability
        if probability is None:
            probability = score.probability if score is not None else prior_probability
        expected = (Decimal(str(probability)) * trigger.aum_at_risk).quantize(Decimal("0.01"))
        priority = expected_value(
            probability=probability,
            aum_at_risk=float(trigger.aum_at_risk),
            save_rate=save_rates.get(playbook.pk, conf.save_rate_prior()),
            contact_cost=cost,
        )
        owner_id = _owner_for(trigger.owner_role, facts, staff)
        aum = score.aum if score is not None else facts.latest_aum

        alert = existing.get(trigger.customer_id)
        if alert is not None:
            if alert.last_triggered_on >= run_date:
                counts["unchanged"] += 1
                continue
            if owner_id is None:
                owner_id = alert.owner_id  # nobody to hand it to: it stays where it is
            what_changed = alert.details != trigger.details or alert.owner_id != owner_id
            if what_changed:
                events.append(
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
            alert.probability = probability
            alert.aum = aum
            alert.aum_at_risk = trigger.aum_at_risk
            alert.expected_aum_at_risk = expected
            alert.priority = priority
            alert.reasons = trigger.reasons
            alert.details = trigger.details
            alert.event_on = trigger.event_on
            alert.owner_id = owner_id
            alert.branch_id = facts.branch_id
            changed.append(alert)
            counts["updated"] += 1
            continue
        if trigger.customer_id in suppressed:
            counts["suppressed"] += 1
            continue
        if owner_id is None:
            # Alert.owner is required, and neither the customer's branch nor the bank has
            # anyone to own it (no RM, head, lobby manager or administrator). Not raised
            # tonight, but loudly: the rule fires again each night, so the alert appears
            # as soon as the branch has staff.
            logger.warning("%s alert for customer %s not raised: nobody to own it (branch %s)",
                           kind, facts.customer_id, facts.branch_id)
            counts["unowned"] += 1
            continue

        share = playbook.control_share if playbook.control_share is not None else conf.control_share()
        draw = control_draw(
            alert_key=alert_key(customer_id=facts.customer_id, kind=kind, raised_on_iso=run_date.isoformat()),
            salt=playbook.control_salt or playbook.key,
        )
        window_start, window_ends_on = window_of(raised_on=run_date)
        new_alerts.append(
            Alert(
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
                probability=probability,
                aum=aum,
                aum_at_risk=trigger.aum_at_risk,
                expected_aum_at_risk=expected,
                reasons=trigger.reasons,
                details=trigger.details,
                priority=priority,
                is_control=is_held_out(draw=draw, share=share),
                control_draw=draw,
                window_start_month=window_start,
                window_ends_on=window_ends_on,
            )
        )

    # bulk_create sets primary keys on PostgreSQL and SQLite >= 3.35, which the steps need.
    Alert.objects.bulk_create(new_alerts, batch_size=BATCH)
    steps: list[AlertStep] = []
    playbook_by_pk = {playbook.pk: playbook for playbook in playbooks.values()}
    for alert in new_alerts:
        facts = ctx.customers[alert.customer_id]
        events.append(
            _event(
                alert,
                action=AlertEvent.Action.RAISED,
                to_status=AlertStatus.OPEN,
                data={"held_out": alert.is_control, "control_draw": alert.control_draw},
            )
        )
        if alert.is_control:
            # Held out: recorded and measured, but nobody is asked to do anything.
            counts["held_out"] += 1
            continue
        counts["raised"] += 1
        for step in playbook_by_pk[alert.playbook_id].steps.all():
            steps.append(
                AlertStep(
                    alert=alert,
                    playbook_step=step,
                    order=step.order,
                    owner_role=step.owner_role,
                    owner_id=_owner_for(step.owner_role, facts, staff),
                    channel=step.channel,
                    due_on=run_date + dt.timedelta(days=step.due_offset_days),
                    text_zh=step.text_zh,
                    text_en=step.text_en,
                )
            )
    AlertStep.objects.bulk_create(steps, batch_size=BATCH)
    rows_update(
        changed,
        [
            "last_triggered_on",
            "trigger_count",
            "probability",
            "aum",
            "aum_at_risk",
            "expected_aum_at_risk",
            "priority",
            "reasons",
            "details",
            "event_on",
            "owner",
            "branch",
            "updated_at",
        ],
    )

    # Whatever no longer triggers has cleared: close it, saying why.
    reason = CLEAR_REASONS[kind]
    now = timezone.now()
    cleared = [alert for customer_id, alert in existing.items() if customer_id not in triggered]
    for alert in cleared:
        events.append(
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
    counts["cleared"] = len(cleared)
    AlertEvent.objects.bulk_create(events, batch_size=BATCH)
    return counts


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


def _audit_alert_change(origin: AuditOrigin | None, alert: Alert, action: str, **detail) -> None:
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

    month = month.replace(day=1)
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
