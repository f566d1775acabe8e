from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from customers.models import ContactLog
from retention.models import Alert, AlertEvent, AlertKind, AlertStatus, catalogue_text
from retention.selectors import alert_list_for_user
from retention.services import (
    alert_dismiss,
    alert_snooze,
    alert_step_tick,
    alerts_raise_for_date,
    contact_log,
)
from tests.retention.conftest import RUN_DATE, SHANGHAI
from tests.retention.factories import AppointmentFactory, ChurnScoreFactory


@pytest.fixture(autouse=True)
def no_control_group(settings):
    settings.RETENTION_CONTROL_SHARE = 0.0


def travel_to(traveller, day: dt.date) -> None:
    traveller.move_to(dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI))


def raise_today() -> dict:
    return alerts_raise_for_date(run_date=timezone.localdate())


def test_second_raise_on_the_same_day_adds_nothing(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE)
    first = raise_today()
    alerts, events = Alert.objects.count(), AlertEvent.objects.count()

    second = raise_today()

    assert first["raised"] == 2
    assert second["raised"] == 0 and second["unchanged"] == 2
    assert (Alert.objects.count(), AlertEvent.objects.count()) == (alerts, events)


def test_a_new_trigger_updates_the_open_alert_in_place_and_keeps_history(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE, risk_band="high", probability=0.7)
    raise_today()
    alert = Alert.objects.get()

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=1))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE + dt.timedelta(days=1), risk_band="medium",
                      probability=0.45)
    raise_today()

    updated = Alert.objects.get()
    assert updated.pk == alert.pk
    assert updated.trigger_count == 2
    assert updated.probability == pytest.approx(0.45)
    assert updated.details["risk_band"] == "medium"
    retriggered = updated.events.get(action=AlertEvent.Action.RETRIGGERED)
    assert retriggered.data["before"]["risk_band"] == "high"
    assert updated.steps.count() == 4  # the checklist is not duplicated


def test_an_alert_closes_itself_when_its_condition_clears(bank, frozen_day):
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE + dt.timedelta(days=1))
    raise_today()

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=2))
    counts = raise_today()

    alert = Alert.objects.get()
    assert counts["cleared"] == 1
    assert alert.status == AlertStatus.CLEARED
    assert "No large withdrawal" in alert.close_reason
    assert alert.closed_at is not None
    event = alert.events.get(action=AlertEvent.Action.CLEARED)
    assert (event.from_status, event.to_status, event.actor) == (AlertStatus.OPEN, AlertStatus.CLEARED, None)


def test_the_reason_a_job_closed_an_alert_reads_in_each_users_language(bank, frozen_day):
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE + dt.timedelta(days=1))
    raise_today()
    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=2))
    with translation.override("zh-hans"):  # whatever language the job happens to run in
        raise_today()
    alert = Alert.objects.get()
    with translation.override("en"):
        assert catalogue_text(alert.close_reason) == "No large withdrawal or transfer is booked for today or tomorrow."
    with translation.override("zh-hans"):
        chinese = catalogue_text(alert.close_reason)
    assert chinese != alert.close_reason and "大额" in chinese
    # A member of staff's own words are not in the catalogue: they come back as written.
    assert catalogue_text("客户已搬家") == "客户已搬家"


def test_model_risk_alerts_stay_open_on_a_night_without_scores(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=1))
    counts = raise_today()

    assert "model_risk" in counts["skipped_rules"]
    assert Alert.objects.get().status == AlertStatus.OPEN


def test_dismiss_needs_a_reason_and_is_not_raised_again_at_once(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()
    alert = Alert.objects.get()

    with pytest.raises(ValidationError):
        alert_dismiss(alert=alert, user=bank.owner, reason="  ")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN

    alert_dismiss(alert=alert, user=bank.owner, reason="Customer is emigrating; nothing to do")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISMISSED
    event = alert.events.get(action=AlertEvent.Action.DISMISSED)
    assert event.actor == bank.owner and event.note.startswith("Customer is emigrating")

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=1))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE + dt.timedelta(days=1))
    counts = raise_today()
    assert counts["suppressed"] == 1
    assert Alert.objects.count() == 1


def test_snoozed_alert_leaves_the_list_and_comes_back_on_its_date(bank, frozen_day):
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE + dt.timedelta(days=1))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()
    alert = Alert.objects.get(kind=AlertKind.MODEL_RISK)

    with pytest.raises(ValidationError):
        alert_snooze(alert=alert, user=bank.owner, until=RUN_DATE)
    alert_snooze(alert=alert, user=bank.owner, until=RUN_DATE + dt.timedelta(days=2), note="on holiday")

    alert.refresh_from_db()
    assert alert.status == AlertStatus.SNOOZED and alert.rank is None
    assert alert not in alert_list_for_user(user=bank.owner)

    travel_to(frozen_day, RUN_DATE + dt.timedelta(days=2))
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE + dt.timedelta(days=2))
    counts = raise_today()
    alert.refresh_from_db()
    assert counts["woken"] == 1
    assert alert.status == AlertStatus.OPEN
    assert alert in alert_list_for_user(user=bank.owner)


def test_logging_a_contact_writes_the_contact_log_and_starts_the_alert(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()
    alert = Alert.objects.get()

    contact = contact_log(alert=alert, user=bank.owner, channel="call", result="reached", note="Will think",
                          next_step_on=RUN_DATE + dt.timedelta(days=3))

    alert.refresh_from_db()
    assert ContactLog.objects.get() == contact
    assert contact.customer == bank.customer and contact.staff == bank.owner
    assert alert.status == AlertStatus.IN_PROGRESS
    assert alert.next_step_on == RUN_DATE + dt.timedelta(days=3)
    assert alert.events.get(action=AlertEvent.Action.CONTACT_LOGGED).data["result"] == "reached"


def test_ticking_a_step_starts_the_alert(bank, frozen_day):
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()
    alert = Alert.objects.get()
    step = alert.steps.get(order=1)

    alert_step_tick(step=step, user=bank.owner)

    step.refresh_from_db()
    alert.refresh_from_db()
    assert step.done_by == bank.owner and step.done_at is not None
    assert alert.status == AlertStatus.IN_PROGRESS


def test_the_open_alert_constraint_forbids_a_second_open_alert(bank, frozen_day):
    from django.db import IntegrityError, transaction

    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    raise_today()
    alert = Alert.objects.get()
    alert.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        alert.save()
    assert Decimal(Alert.objects.get().aum) == Decimal("300000.00")
