"""Customer endpoints: scoping, masking, audit, reveal."""

from __future__ import annotations

import pytest

from audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db

PHONE_OWN = "13812345678"
ID_OWN = "310101198001011234"


def test_rm_lists_only_own_customers_masked(world):
    response = world.client("rm_owner").get("/api/v1/customers/")
    assert response.status_code == 200
    body = response.json()
    assert [c["customer_id"] for c in body["results"]] == ["C000001"]
    row = body["results"][0]
    assert row["phone_masked"].endswith("5678") and PHONE_OWN not in response.content.decode()
    assert row["id_number_masked"].endswith("1234") and ID_OWN not in response.content.decode()


def test_head_lists_the_branch_admin_everyone_analyst_nobody(world):
    def ids(role):
        return [c["customer_id"] for c in world.client(role).get("/api/v1/customers/").json()["results"]]

    assert ids("head") == ["C000001", "C000002"]
    assert ids("lobby") == ["C000001", "C000002"]
    assert ids("admin") == ["C000001", "C000002", "C000003"]
    assert ids("analyst") == []


def test_token_authentication_works_and_is_scoped(world):
    response = world.client("anonymous").get("/api/v1/customers/", headers=world.token_headers("rm_outsider"))
    assert response.status_code == 200
    assert [c["customer_id"] for c in response.json()["results"]] == ["C000003"]


def test_detail_is_masked_and_audited(world):
    customer = world.customers["own"]
    response = world.client("rm_owner").get(f"/api/v1/customers/{customer.pk}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert PHONE_OWN not in text and ID_OWN not in text
    event = AuditEvent.objects.filter(action=AuditAction.VIEW, customer=customer).get()
    assert event.actor == world.users["rm_owner"] and event.detail["part"] == "detail"


def test_rm_cannot_see_another_rms_customer_and_the_attempt_is_audited(world):
    other = world.customers["colleague"]
    response = world.client("rm_owner").get(f"/api/v1/customers/{other.pk}/")
    assert response.status_code == 404
    event = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert event.actor == world.users["rm_owner"] and event.detail["object_id"] == str(other.pk)


def test_the_id_number_reveal_needs_the_permission_and_is_audited(world):
    customer = world.customers["own"]
    url = f"/api/v1/customers/{customer.pk}/reveal/"
    refused = world.client("rm_owner").post(url, {"field": "id_number"}, content_type="application/json")
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=world.users["rm_owner"]).exists()
    revealed = world.client("head").post(url, {"field": "id_number"}, content_type="application/json")
    assert revealed.status_code == 200
    assert revealed.json() == {"field": "id_number", "value": ID_OWN}
    event = AuditEvent.objects.get(action=AuditAction.REVEAL)
    assert event.customer == customer and event.detail["field"] == "id_number"


def test_the_owner_rm_reveals_the_phone_number_through_the_api_too(world):
    customer = world.customers["own"]
    url = f"/api/v1/customers/{customer.pk}/reveal/"
    revealed = world.client("rm_owner").post(url, {"field": "phone"}, content_type="application/json")
    assert revealed.status_code == 200 and revealed.json() == {"field": "phone", "value": customer.phone}
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL, actor=world.users["rm_owner"]).exists()


def test_reveal_of_a_customer_outside_scope_is_404_even_with_the_permission(world):
    other = world.customers["other"]
    response = world.client("head").post(f"/api/v1/customers/{other.pk}/reveal/", {"field": "phone"},
                                         content_type="application/json")
    assert response.status_code == 404


def test_search_by_phone_tail_is_scoped_and_masked(world):
    response = world.client("lobby").post("/api/v1/customers/search/", {"q": "5678"},
                                          content_type="application/json")
    assert response.status_code == 200
    # The other branch's customer has the same phone tail but is not the lobby's.
    assert [c["customer_id"] for c in response.json()] == ["C000001"]
    assert PHONE_OWN not in response.content.decode()


def test_balances_holdings_scores(world):
    customer = world.customers["own"]
    client = world.client("rm_owner")
    for part in ("balances", "holdings", "scores"):
        response = client.get(f"/api/v1/customers/{customer.pk}/{part}/")
        assert response.status_code == 200, part
        assert len(response.json()["results"]) == 1
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, customer=customer).count() == 3


def test_export_is_masked_neutralised_and_audited(world):
    customer = world.customers["own"]
    customer.name = "=HYPERLINK(\"http://evil\")"
    customer.save()
    response = world.client("rm_owner").get("/api/v1/customers/export/")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert PHONE_OWN not in text and ID_OWN not in text
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, actor=world.users["rm_owner"]).get().detail["rows"] == 1


def test_a_customer_without_an_rm_is_the_branchs_not_any_rms_and_shows_as_null(world):
    from tests.retention.factories import CustomerFactory

    unassigned = CustomerFactory(customer_id="C000009", name="王无主", branch=world.branch, rm=None, opened_on=None)

    def ids(role):
        return [c["customer_id"] for c in world.client(role).get("/api/v1/customers/").json()["results"]]

    assert "C000009" not in ids("rm_owner") and "C000009" not in ids("rm_colleague")
    assert world.client("rm_owner").get(f"/api/v1/customers/{unassigned.pk}/").status_code == 404
    assert ids("head") == ["C000001", "C000002", "C000009"]
    listed = world.client("head").get("/api/v1/customers/", {"customer_id": "C000009"}).json()["results"]
    assert listed[0]["rm"] is None
    detail = world.client("head").get(f"/api/v1/customers/{unassigned.pk}/").json()
    assert (detail["rm"], detail["opened_on"]) == (None, None)
    export = world.client("head").get("/api/v1/customers/export/").content.decode("utf-8-sig")
    row = next(line for line in export.splitlines() if line.startswith("C000009"))
    assert row.split(",")[3] == "" and "None" not in export
