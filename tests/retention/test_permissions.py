"""Every selector and service, tried by the owner RM, a colleague RM of the same
branch, an outsider RM of another branch, and the branch's lobby manager and head."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from retention import services
from retention.models import Alert, AlertKind, AlertStatus
from retention.selectors import (
    alert_get_for_user,
    alert_list_for_user,
    branch_dashboard,
    callback_queue,
    interception_list,
)
from retention.services import alerts_raise_for_date
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import AppointmentFactory, ChurnScoreFactory, SurveyFactory

SEES = {"owner": True, "colleague": False, "outsider": False, "lobby": True, "head": True}


@pytest.fixture
def alerts(bank, frozen_day, settings):
    settings.RETENTION_CONTROL_SHARE = 0.0
    bank.customer.tier = "platinum"
    bank.customer.save()
    ChurnScoreFactory(customer=bank.customer, scored_on=RUN_DATE)
    AppointmentFactory(customer=bank.customer, scheduled_on=RUN_DATE)
    SurveyFactory(customer=bank.customer, surveyed_on=RUN_DATE - dt.timedelta(days=3), score=4)
    alerts_raise_for_date(run_date=RUN_DATE)
    return {alert.kind: alert for alert in Alert.objects.all()}


def user(bank, who):
    return getattr(bank, who)


@pytest.mark.parametrize("who", SEES)
def test_alert_list_and_get(bank, alerts, who):
    model_risk = alerts[AlertKind.MODEL_RISK]
    listed = model_risk in alert_list_for_user(user=user(bank, who))
    assert listed is SEES[who]
    if SEES[who]:
        assert alert_get_for_user(user=user(bank, who), alert_id=model_risk.pk) == model_risk
    else:
        with pytest.raises(Http404):
            alert_get_for_user(user=user(bank, who), alert_id=model_risk.pk)


@pytest.mark.parametrize("who", SEES)
def test_interception_list(bank, alerts, who):
    listed = list(interception_list(user=user(bank, who), today=RUN_DATE))
    assert (listed == [alerts[AlertKind.LARGE_WITHDRAWAL]]) is SEES[who]


@pytest.mark.parametrize("who,sees", [("owner", False), ("colleague", False), ("outsider", False),
                                      ("lobby", True), ("head", True)])
def test_callback_queue_holds_the_heads_calls(bank, alerts, who, sees):
    # The satisfaction callback for a core customer is the head's; an RM's list shows only their own alerts.
    callback = alerts[AlertKind.SATISFACTION_DROP]
    assert callback.owner == bank.head
    assert (list(callback_queue(user=user(bank, who))) == [callback]) is sees


@pytest.mark.parametrize("who,open_alerts", [("owner", 2), ("colleague", 0), ("outsider", 0), ("lobby", 3),
                                             ("head", 3)])
def test_branch_dashboard(bank, alerts, who, open_alerts):
    board = branch_dashboard(user=user(bank, who), month=RUN_DATE)
    assert board["totals"]["open_alerts"] == open_alerts


ACTIONS = {
    "alert_start": lambda alert, u: services.alert_start(alert=alert, user=u),
    "alert_snooze": lambda alert, u: services.alert_snooze(alert=alert, user=u, until=RUN_DATE + dt.timedelta(3)),
    "alert_dismiss": lambda alert, u: services.alert_dismiss(alert=alert, user=u, reason="duplicate"),
    "alert_step_tick": lambda alert, u: services.alert_step_tick(step=alert.steps.first(), user=u),
    "alert_outcome_record": lambda alert, u: services.alert_outcome_record(alert=alert, user=u, outcome="retained"),
    "contact_log": lambda alert, u: services.contact_log(alert=alert, user=u, channel="call", result="reached",
                                                         note="", next_step_on=None),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", SEES)
def test_services_check_scope(bank, alerts, action, who):
    alert = alerts[AlertKind.MODEL_RISK]
    if SEES[who]:
        ACTIONS[action](alert, user(bank, who))
        alert.refresh_from_db()
        assert alert.events.filter(actor=user(bank, who)).exists()
    else:
        with pytest.raises(PermissionDenied):
            ACTIONS[action](alert, user(bank, who))
        alert.refresh_from_db()
        assert alert.status == AlertStatus.OPEN
        assert not alert.events.exclude(actor=None).exists()


def test_held_out_alerts_are_invisible_even_to_their_owner(bank, alerts):
    alert = alerts[AlertKind.MODEL_RISK]
    Alert.objects.filter(pk=alert.pk).update(is_control=True)
    with pytest.raises(Http404):
        alert_get_for_user(user=bank.owner, alert_id=alert.pk)
    with pytest.raises(PermissionDenied):
        services.alert_start(alert=alert, user=bank.owner)
