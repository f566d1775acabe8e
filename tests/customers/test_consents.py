"""Contact preferences (customers.ContactConsent): one per customer and channel, set and
cleared by staff who may see the customer, audited with the values before and after."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import ConsentSource, ContactConsent, Role
from customers.selectors import customer_consents
from customers.services import contact_consent_set
from tests.customers.factories import BranchFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

ASKED_ON = dt.date(2024, 5, 3)


@pytest.fixture
def people():
    branch, other = BranchFactory(code="B1"), BranchFactory(code="B2")
    owner = UserFactory(branch=branch)
    return {
        "owner": owner,
        "colleague": UserFactory(branch=branch),
        "outsider": UserFactory(branch=other),
        "lobby": UserFactory(branch=branch, role=Role.LOBBY),
        "head": UserFactory(branch=branch, role=Role.HEAD),
        "other_head": UserFactory(branch=other, role=Role.HEAD),
        "analyst": UserFactory(branch=None, role=Role.ANALYST),
        "admin": UserFactory(branch=None, admin=True),
        "customer": CustomerFactory(branch=branch, rm=owner),
    }


def origin_of(user) -> AuditOrigin:
    return AuditOrigin(actor=user, ip_address="10.0.0.7", path="/customers/1/consent/", via="page")


def set_flag(people, who: str = "owner", **changes) -> ContactConsent:
    values = {"channel": "call", "do_not_contact": True, "reason": "本人致电", "effective_on": ASKED_ON, **changes}
    return contact_consent_set(customer=people["customer"], origin=origin_of(people[who]), **values)


@pytest.mark.parametrize("who", ["owner", "lobby", "head", "admin"])
def test_staff_who_may_see_the_customer_record_a_do_not_contact_request(people, who):
    consent = set_flag(people, who)

    consent.refresh_from_db()
    assert (consent.channel, consent.do_not_contact, consent.reason, consent.effective_on) == (
        "call", True, "本人致电", ASKED_ON)
    assert (consent.source, consent.set_by) == (ConsentSource.STAFF, people[who])


@pytest.mark.parametrize("who", ["colleague", "outsider", "other_head", "analyst"])
def test_staff_who_may_not_see_the_customer_are_refused_and_the_attempt_is_audited(people, who):
    with pytest.raises(PermissionDenied):
        set_flag(people, who)

    assert not ContactConsent.objects.exists()
    denied = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert denied.actor == people[who] and denied.detail["reason"] == "contact_consent"


def test_a_request_needs_the_customers_reason(people):
    with pytest.raises(ValidationError):
        set_flag(people, reason="   ")

    assert not ContactConsent.objects.exists()


def test_an_unknown_channel_is_refused(people):
    with pytest.raises(ValidationError):
        set_flag(people, channel="pigeon")


def test_clearing_keeps_the_row_and_says_who_cleared_it_and_when(people):
    set_flag(people, "owner")

    cleared = set_flag(people, "head", do_not_contact=False, reason="", effective_on=dt.date(2024, 5, 20))

    assert ContactConsent.objects.count() == 1
    assert (cleared.do_not_contact, cleared.set_by, cleared.effective_on) == (False, people["head"],
                                                                              dt.date(2024, 5, 20))


def test_every_change_is_audited_with_the_values_before_and_after(people):
    set_flag(people)
    set_flag(people, do_not_contact=False, reason="", effective_on=dt.date(2024, 5, 20))

    changes = list(AuditEvent.objects.filter(action=AuditAction.CHANGE).order_by("pk"))
    assert [event.detail["field"] for event in changes] == ["contact_consent", "contact_consent"]
    assert changes[0].customer == people["customer"] and changes[0].detail["channel"] == "call"
    assert changes[0].detail["before"] is None
    assert changes[1].detail["before"] == {"do_not_contact": True, "reason": "本人致电", "effective_on": "2024-05-03",
                                           "source": "staff"}
    assert changes[1].detail["after"]["do_not_contact"] is False
    assert changes[1].detail["via"] == "page"


def test_one_preference_per_customer_and_channel(people):
    set_flag(people)

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactConsent.objects.create(customer=people["customer"], channel="call", effective_on=ASKED_ON)


def test_the_customers_preferences_come_in_the_channels_order(people):
    for channel in ("message", "call", "visit"):
        set_flag(people, channel=channel)

    assert [consent.channel for consent in customer_consents(customer=people["customer"])] == [
        "call", "visit", "message"]
