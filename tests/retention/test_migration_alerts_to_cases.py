"""Migration 0004: today's alerts become cases, signals and tasks, with their history.

The database is taken back to 0003 (alerts and the new case tables side by side), old-style
alerts are written through the historical models as the old code wrote them, and the
migrations are run forward to the latest.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("retention", "0003_cases")]
SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db(transaction=True)


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, tzinfo=SHANGHAI)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps():
    """The models as of 0003, with the playbooks 0002 loaded; afterwards the schema is put
    back at the latest migration.

    0005 cannot be reversed over existing playbooks (it would add back ``control_salt``,
    NOT NULL without a default), so the playbooks are removed first and loaded again at
    0003 by 0002's own loader: exactly what a database at 0003 holds."""
    from retention.models import Playbook

    Playbook.objects.all().delete()
    try:
        apps = migrate(BEFORE)
        import_module("retention.migrations.0002_playbooks").load_playbooks(apps, None)
        yield apps
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def latest_apps():
    executor = MigrationExecutor(connection)
    return migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def old_bank(old_apps):
    """Alerts as the old code left them:

    - 张 has two open alerts: model risk (in progress, one of two steps ticked) and a tier
      downgrade (open, nothing done);
    - 李 had an alert closed as retained and measured at the end of its window;
    - 王 had an alert held out (control group): no steps, never shown.
    """
    Branch = old_apps.get_model("customers", "Branch")
    User = old_apps.get_model("customers", "User")
    Customer = old_apps.get_model("customers", "Customer")
    Playbook = old_apps.get_model("retention", "Playbook")
    Alert = old_apps.get_model("retention", "Alert")
    AlertStep = old_apps.get_model("retention", "AlertStep")
    AlertEvent = old_apps.get_model("retention", "AlertEvent")

    assert not Playbook.objects.exclude(signal_kind="").exists()  # 0003's new field, still empty

    branch = Branch.objects.create(code="SH01", name="Shanghai 1", city="Shanghai")
    rm = User.objects.create(username="rm1", staff_code="RM1", branch=branch, role="rm")
    head = User.objects.create(username="head1", staff_code="HD1", branch=branch, role="head")

    def customer(code, name):
        return Customer.objects.create(customer_id=code, name=name, birth_date=dt.date(1980, 1, 1),
                                       id_number=f"3101011980{code}", phone=f"13800{code}", branch=branch, rm=rm)

    zhang, li, wang = customer("0001", "张"), customer("0002", "李"), customer("0003", "王")
    segment = Playbook.objects.get(key="segment_product")
    tier = Playbook.objects.get(key="tier_downgrade")
    drop = Playbook.objects.get(key="aum_drop")

    def alert(**fields):
        defaults = {"branch": branch, "owner": rm, "owner_role": "rm", "window_start_month": dt.date(2024, 2, 1),
                    "window_ends_on": dt.date(2024, 5, 31), "aum": Decimal("800000"),
                    "aum_at_risk": Decimal("800000"), "control_draw": 0.5}
        return Alert.objects.create(**{**defaults, **fields})

    def event(alert, action, when, actor=None, **fields):
        made = AlertEvent.objects.create(alert=alert, action=action, actor=actor, **fields)
        AlertEvent.objects.filter(pk=made.pk).update(at=when)  # auto_now_add: set the old time afterwards

    risk = alert(customer=zhang, kind="model_risk", playbook=segment, status="in_progress", probability=0.6,
                 raised_on=dt.date(2024, 3, 1), last_triggered_on=dt.date(2024, 3, 14), trigger_count=14,
                 expected_aum_at_risk=Decimal("480000"), priority=71950.0, rank=1, ranked_on=dt.date(2024, 3, 14),
                 in_budget=True, reasons=[{"feature": "aum_change_3m", "contribution": 0.8, "value": -0.4}])
    AlertStep.objects.create(alert=risk, order=1, owner_role="rm", owner=rm, channel="call",
                             due_on=dt.date(2024, 3, 1), text_zh="致电", text_en="Call", done_at=at(2, 10),
                             done_by=rm)
    AlertStep.objects.create(alert=risk, order=2, owner_role="head", owner=head, channel="visit",
                             due_on=dt.date(2024, 3, 4), text_zh="拜访", text_en="Visit")
    event(risk, "raised", at(1, 2), to_status="open", data={"held_out": False, "control_draw": 0.5})
    event(risk, "started", at(1, 9), actor=rm, from_status="open", to_status="in_progress")
    event(risk, "step_ticked", at(2, 10), actor=rm, from_status="in_progress", to_status="in_progress",
          data={"step": 1})

    downgrade = alert(customer=zhang, kind="tier_downgrade", playbook=tier, status="open", probability=0.3,
                      raised_on=dt.date(2024, 3, 10), last_triggered_on=dt.date(2024, 3, 14), trigger_count=5,
                      event_on=dt.date(2024, 2, 1), expected_aum_at_risk=Decimal("156000"), priority=23350.0,
                      rank=2, ranked_on=dt.date(2024, 3, 14), in_budget=True,
                      reasons=[{"feature": "aum_near_tier_floor", "contribution": None, "value": 0.04}])
    AlertStep.objects.create(alert=downgrade, order=1, owner_role="rm", owner=rm, channel="call",
                             due_on=dt.date(2024, 3, 10), text_zh="致电", text_en="Call")
    event(downgrade, "raised", at(10, 2), to_status="open")

    retained = alert(customer=li, kind="aum_drop", playbook=drop, status="closed_retained", probability=0.3,
                     raised_on=dt.date(2023, 11, 6), last_triggered_on=dt.date(2023, 11, 20),
                     window_start_month=dt.date(2023, 10, 1), window_ends_on=dt.date(2024, 1, 31),
                     closed_at=at(1, 9) - dt.timedelta(days=100), close_reason="Moved money back",
                     outcome="retained", outcome_measured_on=dt.date(2024, 2, 1),
                     aum_at_window_start=Decimal("300000"), aum_kept=Decimal("280000"), priority=9000.0)
    AlertStep.objects.create(alert=retained, order=1, owner_role="rm", owner=rm, channel="call",
                             due_on=dt.date(2023, 11, 6), text_zh="致电", text_en="Call",
                             done_at=at(1, 9) - dt.timedelta(days=110), done_by=rm)
    AlertStep.objects.create(alert=retained, order=2, owner_role="rm", owner=rm, channel="visit",
                             due_on=dt.date(2023, 11, 9), text_zh="拜访", text_en="Visit")
    event(retained, "raised", dt.datetime(2023, 11, 6, 2, tzinfo=SHANGHAI), to_status="open")
    event(retained, "closed", at(1, 9) - dt.timedelta(days=100), actor=rm, from_status="in_progress",
          to_status="closed_retained", note="Moved money back")
    event(retained, "outcome_measured", dt.datetime(2024, 2, 1, 4, tzinfo=SHANGHAI), to_status="closed_retained",
          data={"outcome": "retained"})

    held_out = alert(customer=wang, kind="model_risk", playbook=segment, status="open", probability=0.5,
                     raised_on=dt.date(2024, 3, 5), last_triggered_on=dt.date(2024, 3, 14), is_control=True,
                     control_draw=0.03, priority=40000.0)
    event(held_out, "raised", at(5, 2), to_status="open", data={"held_out": True, "control_draw": 0.03})

    return {"zhang": zhang.pk, "li": li.pk, "wang": wang.pk, "rm": rm.pk, "head": head.pk,
            "segment": segment.pk, "tier": tier.pk}


def test_open_alerts_of_a_customer_become_one_case_with_a_signal_each_and_their_tasks(old_bank):
    apps = latest_apps()
    Case = apps.get_model("retention", "Case")
    zhang = old_bank["zhang"]

    [case] = Case.objects.filter(customer_id=zhang)
    assert case.status == "in_progress" and case.kind == "retention"
    assert case.owner_id == old_bank["rm"]
    assert case.opened_on == dt.date(2024, 3, 1) and case.last_signal_on == dt.date(2024, 3, 14)
    # Led by the signal of higher expected value, whose playbook the report groups by.
    assert case.leading_kind == "model_risk" and case.playbook_id == old_bank["segment"]
    assert case.priority == 71950.0 and case.probability == 0.6
    assert not case.is_control and case.control_period == dt.date(2024, 1, 1)
    assert case.window_start_month == dt.date(2024, 2, 1) and case.window_ends_on == dt.date(2024, 5, 31)
    assert case.worked_at == at(2, 10)  # the first step ticked by staff ("started" is not work done)

    signals = {s.kind: s for s in case.signals.all()}
    assert set(signals) == {"model_risk", "tier_downgrade"}
    assert all(s.is_active and s.cleared_on is None for s in signals.values())
    assert signals["model_risk"].seen_count == 14 and signals["tier_downgrade"].event_on == dt.date(2024, 2, 1)
    assert signals["tier_downgrade"].reasons[0]["feature"] == "aum_near_tier_floor"
    assert signals["tier_downgrade"].playbook_id == old_bank["tier"]

    tasks = {(t.signal.kind, t.order): t for t in case.tasks.select_related("signal")}
    assert set(tasks) == {("model_risk", 1), ("model_risk", 2), ("tier_downgrade", 1)}
    ticked = tasks[("model_risk", 1)]
    assert ticked.status == "done" and ticked.done_at == at(2, 10) and ticked.done_by_id == old_bank["rm"]
    assert tasks[("model_risk", 2)].status == "open" and tasks[("model_risk", 2)].owner_id == old_bank["head"]
    assert tasks[("model_risk", 2)].owner_role == "head" and tasks[("model_risk", 2)].channel == "visit"
    assert tasks[("tier_downgrade", 1)].status == "open" and tasks[("tier_downgrade", 1)].due_on == dt.date(2024, 3, 10)

    # One open case per customer: the constraint holds after the migration.
    assert Case.objects.filter(customer_id=zhang, status__in=["open", "in_progress", "snoozed"]).count() == 1


def test_the_alerts_history_is_the_cases_history_with_its_times(old_bank):
    apps = latest_apps()
    Case = apps.get_model("retention", "Case")
    case = Case.objects.get(customer_id=old_bank["zhang"])

    events = list(case.events.order_by("at", "pk").values_list("action", "at", "actor_id", "data", "task_id"))
    assert [(action, when) for action, when, *_ in events] == [
        ("opened", at(1, 2)), ("started", at(1, 9)), ("task_done", at(2, 10)), ("signal_added", at(10, 2))]
    assert [actor for _, _, actor, *_ in events] == [None, old_bank["rm"], old_bank["rm"], None]
    assert events[0][3]["kind"] == "model_risk" and events[3][3]["kind"] == "tier_downgrade"
    # The ticked step's event points at the task it completed.
    Task = apps.get_model("retention", "Task")
    assert events[2][4] == Task.objects.get(case=case, signal__kind="model_risk", order=1).pk


def test_a_closed_measured_alert_keeps_its_outcome_and_its_tasks_state(old_bank):
    apps = latest_apps()
    Case = apps.get_model("retention", "Case")

    [case] = Case.objects.filter(customer_id=old_bank["li"])
    assert case.status == "closed_retained" and case.close_reason == "Moved money back"
    assert case.closed_at == at(1, 9) - dt.timedelta(days=100) and case.closed_by_id == old_bank["rm"]
    assert (case.outcome, case.outcome_measured_on) == ("retained", dt.date(2024, 2, 1))
    assert (case.aum_at_window_start, case.aum_kept) == (Decimal("300000.00"), Decimal("280000.00"))
    assert case.window_start_month == dt.date(2023, 10, 1) and case.window_ends_on == dt.date(2024, 1, 31)
    assert case.control_period == dt.date(2023, 10, 1)
    [signal] = case.signals.all()
    assert not signal.is_active and signal.cleared_on == (at(1, 9) - dt.timedelta(days=100)).date()
    assert sorted(case.tasks.values_list("order", "status")) == [(1, "done"), (2, "cancelled")]
    assert [e.action for e in case.events.order_by("at")] == ["opened", "closed", "outcome_measured"]
    assert case.worked_at == at(1, 9) - dt.timedelta(days=110)


def test_a_held_out_alert_stays_held_out_without_tasks(old_bank):
    apps = latest_apps()
    Case = apps.get_model("retention", "Case")

    [case] = Case.objects.filter(customer_id=old_bank["wang"])
    assert case.is_control and case.control_draw == 0.03
    assert case.status == "open" and case.worked_at is None
    assert not case.tasks.exists()
    assert [s.kind for s in case.signals.all()] == ["model_risk"]


def test_the_playbooks_keep_their_kind_under_its_new_name_and_the_win_back_playbook_exists(old_bank):
    apps = latest_apps()
    Playbook = apps.get_model("retention", "Playbook")

    assert Playbook.objects.get(key="tier_downgrade").signal_kind == "tier_downgrade"
    assert Playbook.objects.get(key="competitor_maturity").signal_kind == "competitor_maturity"
    assert Playbook.objects.get(key="segment_product").signal_kind == ""  # a segment's playbook
    win_back = Playbook.objects.get(key="win_back")
    assert win_back.signal_kind == "already_lost" and win_back.is_active
    steps = list(win_back.steps.order_by("order").values_list("owner_role", "channel"))
    assert steps == [("rm", "call"), ("rm", "visit"), ("head", "call")]
    assert not apps.get_model("retention", "Case").objects.filter(customer__isnull=True).exists()
