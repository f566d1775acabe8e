"""Today's alerts become cases: one case per customer for their open alerts, one per
customer and month for closed ones; each alert a signal of its case, its steps the case's
tasks, its history the case's. Also: the playbooks' kind under its new name, and the
win-back playbook for customers who have already left.

The content is written out here (not imported from the app) so this migration means the
same thing forever.
"""

import datetime as dt

from django.db import migrations

OPEN = ("open", "in_progress", "snoozed")
ACTIONS = {"raised": "opened", "retriggered": "signal_renewed", "step_ticked": "task_done",
           "step_unticked": "task_undone"}
STATUS_RANK = {"in_progress": 0, "snoozed": 1, "open": 2}

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
    AlertStep = apps.get_model("retention", "AlertStep")
    AlertEvent = apps.get_model("retention", "AlertEvent")
    Case = apps.get_model("retention", "Case")
    Signal = apps.get_model("retention", "Signal")
    Task = apps.get_model("retention", "Task")
    CaseEvent = apps.get_model("retention", "CaseEvent")

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
    for (customer_id, _), alerts in groups.items():
        lead = max(alerts, key=lambda a: (a.priority, -a.pk))
        is_open = alerts[0].status in OPEN
        if is_open:
            status = min((a.status for a in alerts), key=lambda s: STATUS_RANK[s])
        else:
            status = max(alerts, key=lambda a: (a.closed_at is not None, a.closed_at or a.updated_at)).status
        opened_on = min(a.raised_on for a in alerts)
        measured = [a for a in alerts if a.outcome]
        case = Case.objects.create(
            customer_id=customer_id, branch_id=lead.branch_id, owner_id=lead.owner_id, kind="retention",
            status=status, opened_on=opened_on, last_signal_on=max(a.last_triggered_on for a in alerts),
            leading_kind=lead.kind, playbook_id=lead.playbook_id, probability=lead.probability or 0,
            aum=lead.aum, aum_at_risk=lead.aum_at_risk, expected_aum_at_risk=lead.expected_aum_at_risk,
            priority=lead.priority, rank=lead.rank if is_open else None, ranked_on=lead.ranked_on,
            in_budget=lead.in_budget if is_open else False,
            # Shown if any of its alerts was shown: staff may have worked it.
            is_control=all(a.is_control for a in alerts), control_period=_quarter(opened_on),
            control_draw=min(a.control_draw for a in alerts),
            snoozed_until=max((a.snoozed_until for a in alerts if a.snoozed_until), default=None),
            close_reason="" if is_open else "; ".join(sorted({a.close_reason or a.dismiss_reason for a in alerts} - {""})),
            closed_at=None if is_open else max((a.closed_at for a in alerts if a.closed_at), default=None),
            window_start_month=lead.window_start_month, window_ends_on=lead.window_ends_on,
            outcome=measured[0].outcome if measured else "",
            outcome_measured_on=measured[0].outcome_measured_on if measured else None,
            aum_at_window_start=measured[0].aum_at_window_start if measured else None,
            aum_kept=measured[0].aum_kept if measured else None,
        )
        worked_at = None
        for alert in alerts:
            signal = Signal.objects.create(
                case=case, customer_id=customer_id, kind=alert.kind, playbook_id=alert.playbook_id,
                is_active=alert.status in OPEN, first_seen_on=alert.raised_on, last_seen_on=alert.last_triggered_on,
                seen_count=alert.trigger_count, event_on=alert.event_on, probability=alert.probability or 0,
                aum_at_risk=alert.aum_at_risk, expected_aum_at_risk=alert.expected_aum_at_risk,
                priority=alert.priority, reasons=alert.reasons, details=alert.details,
                cleared_on=None if alert.status in OPEN else (alert.closed_at.date() if alert.closed_at else None),
                clear_reason=alert.close_reason if alert.status == "cleared" else "",
            )
            for step in AlertStep.objects.filter(alert_id=alert.pk).order_by("order"):
                done = step.done_at is not None
                Task.objects.create(
                    case=case, signal=signal, playbook_id=alert.playbook_id, playbook_step_id=step.playbook_step_id,
                    order=step.order, owner_role=step.owner_role, owner_id=step.owner_id, channel=step.channel,
                    due_on=step.due_on, text_zh=step.text_zh, text_en=step.text_en,
                    status="done" if done else ("open" if alert.status in OPEN else "cancelled"),
                    done_at=step.done_at, done_by_id=step.done_by_id, created_on=alert.raised_on,
                )
                if done and (worked_at is None or step.done_at < worked_at):
                    worked_at = step.done_at
            events = []
            for event in AlertEvent.objects.filter(alert_id=alert.pk).order_by("at", "pk"):
                if event.actor_id is not None and (worked_at is None or event.at < worked_at):
                    worked_at = event.at
                events.append(CaseEvent(
                    case=case, actor_id=event.actor_id, action=ACTIONS.get(event.action, event.action),
                    from_status=event.from_status, to_status=event.to_status, note=event.note,
                    data={**event.data, "kind": alert.kind, "alert": alert.pk},
                ))
            created = CaseEvent.objects.bulk_create(events)
            # Keep each event's time (auto_now_add stamped them now).
            for new, old in zip(created, AlertEvent.objects.filter(alert_id=alert.pk).order_by("at", "pk")):
                CaseEvent.objects.filter(pk=new.pk).update(at=old.at)
        if worked_at is not None:
            Case.objects.filter(pk=case.pk).update(worked_at=worked_at)


class Migration(migrations.Migration):

    dependencies = [
        ("retention", "0003_cases"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
