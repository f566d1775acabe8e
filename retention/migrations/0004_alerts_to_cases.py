"""Today's alerts become cases: one case per customer for their open alerts, one per
customer and month for closed ones; each alert a signal of its case, its steps the case's
tasks, its history the case's. Also: the playbooks' kind under its new name, and the
win-back playbook for customers who have already left.

The content is written out here (not imported from the app) so this migration means the
same thing forever.
"""

import datetime as dt
from collections import defaultdict

from django.db import migrations

OPEN = ("open", "in_progress", "snoozed")
# Old action -> new action; "raised", "cleared" and the step actions are decided per event below.
ACTIONS = {"retriggered": "signal_renewed"}
STATUS_RANK = {"in_progress": 0, "snoozed": 1, "open": 2}
# Groups (customer episodes) written per batch: a few queries per batch, not per alert.
BATCH = 500

WIN_BACK = {
    "key": "win_back",
    "signal_kind": "already_lost",
    "name_zh": "已流失客户赢回",
    "name_en": "Win back a customer who has left",
    "description_zh": "客户已按流失定义流失（资产大幅下降、降级或销户）：了解原因，争取资金回流。",
    "description_en": "The customer has left by the churn definition (AUM fell sharply, dropped a tier or "
                      "closed): learn why and try to bring the money back.",
    "steps": [
        ("rm", 0, "call",
         "致电客户，了解资金转出的原因与去向（他行产品、消费、投资），记录原因。",
         "Call the customer to learn why and where the money went (a competitor's product, spending, "
         "investing), and record the reason."),
        ("rm", 7, "visit",
         "针对原因准备方案（更优产品、费率、服务补救），邀请客户到店面谈。",
         "Prepare an answer to the reason (a better product, fees, putting the service right) and invite the "
         "customer to the branch."),
        ("head", 14, "call",
         "核心客户由支行行长致电致意，邀请其回到我行。",
         "For a core customer, the branch head calls to invite them back."),
    ],
}


def _quarter(day):
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def forwards(apps, schema_editor):
    Playbook = apps.get_model("retention", "Playbook")
    PlaybookStep = apps.get_model("retention", "PlaybookStep")
    Alert = apps.get_model("retention", "Alert")

    for playbook in Playbook.objects.exclude(alert_kind=""):
        playbook.signal_kind = playbook.alert_kind
        playbook.save(update_fields=["signal_kind"])
    if not Playbook.objects.filter(key=WIN_BACK["key"]).exists():
        playbook = Playbook.objects.create(
            key=WIN_BACK["key"], signal_kind=WIN_BACK["signal_kind"], name_zh=WIN_BACK["name_zh"],
            name_en=WIN_BACK["name_en"], description_zh=WIN_BACK["description_zh"],
            description_en=WIN_BACK["description_en"], control_salt=WIN_BACK["key"],
        )
        for order, (role, offset, channel, text_zh, text_en) in enumerate(WIN_BACK["steps"], start=1):
            PlaybookStep.objects.create(playbook=playbook, order=order, owner_role=role, due_offset_days=offset,
                                        channel=channel, text_zh=text_zh, text_en=text_en)

    # Group the alerts into episodes: a customer's open alerts are one case; closed ones one
    # case per customer and month first raised.
    groups = {}
    for alert in Alert.objects.order_by("customer_id", "raised_on", "pk").iterator(chunk_size=2000):
        if alert.status in OPEN:
            key = (alert.customer_id, "open")
        else:
            key = (alert.customer_id, alert.raised_on.replace(day=1))
        groups.setdefault(key, []).append(alert)
    episodes = list(groups.values())
    for start in range(0, len(episodes), BATCH):
        _write_cases(apps, episodes[start : start + BATCH])


def _write_cases(apps, episodes):
    """Cases, signals, tasks and history for a batch of episodes (each a customer's alerts,
    earliest first)."""
    Customer = apps.get_model("customers", "Customer")
    AlertStep = apps.get_model("retention", "AlertStep")
    AlertEvent = apps.get_model("retention", "AlertEvent")
    Case = apps.get_model("retention", "Case")
    Signal = apps.get_model("retention", "Signal")
    Task = apps.get_model("retention", "Task")
    CaseEvent = apps.get_model("retention", "CaseEvent")

    alert_ids = [alert.pk for alerts in episodes for alert in alerts]
    steps = defaultdict(list)
    for step in AlertStep.objects.filter(alert_id__in=alert_ids).order_by("alert_id", "order", "pk"):
        steps[step.alert_id].append(step)
    events = defaultdict(list)
    for event in AlertEvent.objects.filter(alert_id__in=alert_ids).order_by("at", "pk"):
        events[event.alert_id].append(event)
    rm_of = dict(Customer.objects.filter(pk__in={alerts[0].customer_id for alerts in episodes})
                 .values_list("pk", "rm_id"))

    cases = [_case(Case, alerts, steps, events, rm_of) for alerts in episodes]
    Case.objects.bulk_create(cases)

    signal_of = {}
    for case, alerts in zip(cases, episodes):
        for alert in alerts:
            is_open = alert.status in OPEN
            closed_on = None if is_open else (alert.closed_at or alert.updated_at).date()
            signal_of[alert.pk] = Signal(
                case_id=case.pk, customer_id=alert.customer_id, kind=alert.kind, playbook_id=alert.playbook_id,
                is_active=is_open, first_seen_on=alert.raised_on, last_seen_on=alert.last_triggered_on,
                seen_count=alert.trigger_count, event_on=alert.event_on, probability=alert.probability or 0,
                aum_at_risk=alert.aum_at_risk, expected_aum_at_risk=alert.expected_aum_at_risk,
                priority=alert.priority, reasons=alert.reasons, details=alert.details, cleared_on=closed_on,
                clear_reason=alert.close_reason if alert.status == "cleared" else "",
            )
    Signal.objects.bulk_create(signal_of.values())

    task_of = {}
    for case, alerts in zip(cases, episodes):
        for alert in alerts:
            for step in steps[alert.pk]:
                done = step.done_at is not None
                task_of[(alert.pk, step.order)] = Task(
                    case_id=case.pk, signal_id=signal_of[alert.pk].pk, playbook_id=alert.playbook_id,
                    playbook_step_id=step.playbook_step_id, order=step.order, owner_role=step.owner_role,
                    owner_id=step.owner_id, channel=step.channel, due_on=step.due_on, text_zh=step.text_zh,
                    text_en=step.text_en,
                    status="done" if done else ("open" if alert.status in OPEN else "cancelled"),
                    done_at=step.done_at, done_by_id=step.done_by_id if done else None, created_on=alert.raised_on,
                )
    Task.objects.bulk_create(task_of.values())

    history = []
    for case, alerts in zip(cases, episodes):
        last_cleared = None
        if case.status == "cleared":
            cleared = [e for alert in alerts for e in events[alert.pk] if e.action == "cleared"]
            last_cleared = max(cleared, key=lambda e: (e.at, e.pk)).pk if cleared else None
        for alert in alerts:
            for event in events[alert.pk]:
                task = None
                if event.action == "raised":
                    # The first alert opened the case; the others added a signal to it.
                    action = "opened" if alert is alerts[0] else "signal_added"
                elif event.action == "cleared":
                    action = "cleared" if event.pk == last_cleared else "signal_cleared"
                elif event.action in ("step_ticked", "step_unticked"):
                    action = "task_done" if event.action == "step_ticked" else "task_undone"
                    task = task_of.get((alert.pk, (event.data or {}).get("step")))
                else:
                    action = ACTIONS.get(event.action, event.action)
                history.append((event.at, CaseEvent(
                    case_id=case.pk, task_id=task.pk if task else None, actor_id=event.actor_id, action=action,
                    from_status=event.from_status, to_status=event.to_status, note=event.note,
                    data={**(event.data or {}), "kind": alert.kind, "alert": alert.pk},
                )))
    created = CaseEvent.objects.bulk_create([new for _, new in history])
    # Keep each event's time: auto_now_add stamped them now, bulk_update writes what is set.
    for (old_at, _), new in zip(history, created):
        new.at = old_at
    CaseEvent.objects.bulk_update(created, ["at"], batch_size=BATCH)


def _case(Case, alerts, steps, events, rm_of):
    """The case of one episode (unsaved)."""
    lead = max(alerts, key=lambda a: (a.priority, -a.pk))
    is_open = alerts[0].status in OPEN
    if is_open:
        status = min((a.status for a in alerts), key=lambda s: STATUS_RANK[s])
    else:
        status = max(alerts, key=lambda a: (a.closed_at is not None, a.closed_at or a.updated_at)).status
    opened_on = min(a.raised_on for a in alerts)
    measured = [a for a in alerts if a.outcome]
    # The window and the outcome measured over it come from one alert: the measured one, or
    # else the one that opened the episode (the case's window starts when it opened).
    window = measured[0] if measured else alerts[0]
    history = [e for a in alerts for e in events[a.pk]]
    # "Worked": a step done or a contact logged by staff (starting, snoozing or dismissing is not work).
    work = [s.done_at for a in alerts for s in steps[a.pk] if s.done_at is not None]
    work += [e.at for e in history if e.action == "contact_logged" and e.actor_id is not None]
    closing = [e for e in history if e.action in ("closed", "dismissed") and e.actor_id is not None]
    return Case(
        customer_id=lead.customer_id, branch_id=lead.branch_id,
        # The customer's RM owns the case; the lead alert's owner (a head, a lobby manager)
        # only when the customer has none.
        owner_id=rm_of.get(lead.customer_id) or lead.owner_id, kind="retention",
        status=status, opened_on=opened_on, last_signal_on=max(a.last_triggered_on for a in alerts),
        leading_kind=lead.kind, playbook_id=lead.playbook_id, probability=lead.probability or 0,
        aum=lead.aum, aum_at_risk=lead.aum_at_risk, expected_aum_at_risk=lead.expected_aum_at_risk,
        priority=lead.priority, rank=lead.rank if is_open else None, ranked_on=lead.ranked_on,
        in_budget=lead.in_budget if is_open else False,
        # Shown if any of its alerts was shown: staff may have worked it.
        is_control=all(a.is_control for a in alerts), control_period=_quarter(opened_on),
        control_draw=min(a.control_draw for a in alerts),
        snoozed_until=(max((a.snoozed_until for a in alerts if a.snoozed_until), default=None)
                       if status == "snoozed" else None),
        close_reason="" if is_open else "; ".join(sorted({a.close_reason or a.dismiss_reason for a in alerts} - {""})),
        closed_at=None if is_open else max((a.closed_at for a in alerts if a.closed_at), default=None),
        closed_by_id=None if is_open or not closing else max(closing, key=lambda e: (e.at, e.pk)).actor_id,
        worked_at=min(work, default=None),
        window_start_month=window.window_start_month, window_ends_on=window.window_ends_on,
        outcome=window.outcome, outcome_measured_on=window.outcome_measured_on,
        aum_at_window_start=window.aum_at_window_start, aum_kept=window.aum_kept,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("retention", "0003_cases"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
