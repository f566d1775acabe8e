"""The audit trail: append-only (in the application, and on PostgreSQL in the database),
readable and exportable by administrators only, and exporting it is audited."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db


def test_the_application_refuses_to_change_or_delete_an_event(world):
    event = audit_record(action=AuditAction.VIEW, actor=world.users["rm_owner"])
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_the_database_refuses_update_and_delete_even_in_raw_sql(world):
    event = audit_record(action=AuditAction.VIEW, actor=world.users["rm_owner"])
    for statement in ("UPDATE audit_auditevent SET action = 'login' WHERE id = %s",
                      "DELETE FROM audit_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="login")
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.VIEW


def test_admin_reads_and_exports_the_trail_through_the_api(world):
    customer = world.customers["own"]
    world.client("rm_owner").get(f"/api/v1/customers/{customer.pk}/")
    admin = world.client("admin")
    listed = admin.get("/api/v1/audit-events/", {"customer": customer.customer_id, "action": "view"})
    assert listed.status_code == 200
    assert [e["actor_name"] for e in listed.json()["results"]] == ["rm_owner"]
    exported = admin.get("/api/v1/audit-events/export/")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    assert "rm_owner" in exported.content.decode("utf-8-sig")
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, actor=world.users["admin"]).exists()


def test_admin_site_lists_and_exports_the_trail(world):
    event = audit_record(action=AuditAction.VIEW, actor=world.users["rm_owner"], customer=world.customers["own"])
    admin = world.client("admin")
    assert admin.get("/admin/audit/auditevent/").status_code == 200
    assert admin.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    response = admin.post("/admin/audit/auditevent/", {"action": "export_csv", "_selected_action": [event.pk]})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "C000001" in response.content.decode("utf-8-sig")


@pytest.mark.parametrize("role", ["rm_owner", "lobby", "head", "analyst"])
def test_nobody_but_the_admin_reads_the_trail(world, role):
    assert world.client(role).get("/api/v1/audit-events/").status_code == 403
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=world.users[role]).exists()


def test_alert_changes_through_the_api_are_audited(world):
    alert = world.alerts["own"]
    response = world.client("rm_owner").post(f"/api/v1/alerts/{alert.pk}/dismiss/", {"reason": "moved abroad"},
                                             content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    event = AuditEvent.objects.get(action=AuditAction.CHANGE)
    assert event.customer == alert.customer and event.detail["alert_action"] == "dismiss"
