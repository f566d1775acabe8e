"""The Django admin follows the pages' rules: ID numbers and phones masked without the
reveal permission (in list and change views, with no way to read the raw value through
the form), a customer's change form is a customer view in the audit trail, and every
admin change is an audit event."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from customers.masking import mask
from tests.retention.factories import UserFactory

pytestmark = pytest.mark.django_db


def _staff(*codenames):
    user = UserFactory(username="clerk", is_staff=True, role="admin")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def _client(world, user):
    client = world.client("anonymous")
    client.force_login(user)
    return client


@pytest.mark.parametrize("codenames", [("view_customer",), ("view_customer", "change_customer")])
def test_staff_without_the_reveal_permission_see_masked_values_only(world, codenames):
    customer = world.customers["own"]
    client = _client(world, _staff(*codenames))
    change = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert change.status_code == 200
    html = change.content.decode()
    assert customer.id_number not in html and customer.phone not in html
    assert mask(customer.id_number) in html and mask(customer.phone) in html
    listing = client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert customer.name in listing
    assert customer.id_number not in listing and customer.phone not in listing


def test_staff_with_the_reveal_permission_see_and_edit_the_values(world):
    customer = world.customers["own"]
    client = _client(world, _staff("view_customer", "change_customer", "reveal_personal_data"))
    html = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
    assert customer.id_number in html and customer.phone in html


def test_a_change_without_the_permission_keeps_the_masked_values(world):
    customer = world.customers["own"]
    client = _client(world, _staff("view_customer", "change_customer"))
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {key: "" if value is None else value for key, value in data.items()}
    data.update(name="王小明改", phone="10000000000", id_number="000000000000000000")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    customer.refresh_from_db()
    assert customer.name == "王小明改"
    assert customer.phone == "13812345678" and customer.id_number == "310101198001011234"


def test_opening_a_customer_in_the_admin_is_a_customer_view(world):
    customer = world.customers["own"]
    user = _staff("view_customer")
    _client(world, user).get(reverse("admin:customers_customer_change", args=[customer.pk]))
    event = AuditEvent.objects.filter(action=AuditAction.VIEW, customer=customer, actor=user).get()
    assert event.detail == {"part": "admin", "via": "admin"}
    assert event.path == reverse("admin:customers_customer_change", args=[customer.pk])


def test_every_admin_change_is_an_audit_event(world):
    admin_client = world.client("admin")
    branch = world.branch
    url = reverse("admin:customers_branch_change", args=[branch.pk])
    response = admin_client.post(url, {"code": branch.code, "name": "Renamed", "city": branch.city})
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action=AuditAction.CHANGE, object_type="customers.branch").get()
    assert event.actor == world.users["admin"] and event.object_id == str(branch.pk)
    assert event.detail["admin_action"] == "change" and "name" in event.detail["message"].lower()
