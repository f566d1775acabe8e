"""retention.services.customer_handover: the lobby hands a walk-in to the RM (or the head)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import ContactLog
from retention.models import Alert, AlertKind, AlertStatus, Playbook
from retention.services import customer_handover
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CustomerFactory


def _handover(customer, user, note=""):
    return customer_handover(customer=customer, user=user, note=note, origin=AuditOrigin(actor=user, via="page"))


def _open_alert(customer, owner) -> Alert:
    return Alert.objects.create(
        customer=customer, branch=customer.branch, kind=AlertKind.MODEL_RISK,
        playbook=Playbook.objects.get(key="segment_product"), owner=owner, owner_role="rm",
        status=AlertStatus.OPEN, raised_on=RUN_DATE, last_triggered_on=RUN_DATE,
        window_start_month=dt.date(2024, 4, 1), window_ends_on=dt.date(2024, 7, 31),
    )


@pytest.mark.parametrize("who", ["owner", "colleague"])
def test_an_rm_has_nobody_to_hand_over_to_and_nothing_is_written(bank, frozen_day, who):
    with pytest.raises(PermissionDenied):
        _handover(bank.customer, getattr(bank, who), "x")
    assert not ContactLog.objects.exists()
    refused = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert refused.actor == getattr(bank, who) and refused.detail["reason"] == "handover"


def test_the_hand_over_lands_on_the_rms_open_alert_as_a_follow_up_today(bank, frozen_day):
    alert = _open_alert(bank.customer, bank.owner)

    handover = _handover(bank.customer, bank.lobby, "wants a loan")

    assert handover.recipient == bank.owner and handover.alert == alert
    contact = ContactLog.objects.get()
    assert contact == handover.contact and contact.staff == bank.lobby and contact.next_step_on == RUN_DATE
    assert contact.note == f"Hand-over from the lobby to {bank.owner}: wants a loan"
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.IN_PROGRESS
    # One audit event, on the customer, naming the alert it landed on.
    [event] = AuditEvent.objects.filter(action=AuditAction.CHANGE)
    assert event.actor == bank.lobby and event.detail["action"] == "handover" and event.detail["alert"] == alert.pk


def test_without_an_open_alert_the_hand_over_is_a_contact_log_follow_up(bank, frozen_day):
    handover = _handover(bank.customer, bank.head)

    assert handover.alert is None and handover.recipient == bank.owner
    contact = ContactLog.objects.get()
    assert contact.channel == "branch" and contact.result == "reached" and contact.next_step_on == RUN_DATE
    assert contact.note.endswith(": —")


def test_a_customer_without_rm_goes_to_the_branch_head_and_without_head_nowhere(bank, frozen_day):
    unassigned = CustomerFactory(branch=bank.branch, rm=None)

    handover = _handover(unassigned, bank.lobby, "hi")
    assert handover.recipient == bank.head
    assert "branch head" in handover.contact.note

    bank.head.is_active = False
    bank.head.save()
    assert _handover(unassigned, bank.lobby, "hi").recipient is None
    assert ContactLog.objects.filter(customer=unassigned).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE).count() == 1  # nothing written, nothing audited
