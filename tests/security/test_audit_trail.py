"""The audit trail: append-only (in the application, and in the database: PostgreSQL and SQLite),
readable and exportable by administrators only, and exporting it is audited."""

from __future__ import annotations

import re

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


REFUSED_STATEMENTS = [
    "UPDATE audit_auditevent SET action = 'login' WHERE id = %s",
    "DELETE FROM audit_auditevent WHERE id = %s",
]


@pytest.mark.parametrize("statement", REFUSED_STATEMENTS)
def test_the_database_refuses_update_and_delete_in_raw_sql(world, statement):
    event = audit_record(action=AuditAction.VIEW, actor=world.users["rm_owner"])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.VIEW


def test_the_database_refuses_queryset_update_and_delete(world):
    event = audit_record(action=AuditAction.VIEW, actor=world.users["rm_owner"])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="login")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.VIEW


def _append_only_triggers() -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass"
                           " AND NOT tgisinternal ORDER BY tgname")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                           " AND tbl_name = 'audit_auditevent' ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


def test_the_migrated_database_carries_the_append_only_triggers():
    # Fails if a later migration rebuilds the table on SQLite (which drops its triggers)
    # without creating them again.
    expected = {
        "postgresql": ["audit_auditevent_append_only"],
        "sqlite": ["audit_auditevent_no_delete", "audit_auditevent_no_update"],
    }
    assert _append_only_triggers() == expected[connection.vendor]


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_the_trail_and_leaves_the_triggers_in_place():
    # The test runner flushes after every transactional test (TRUNCATE on PostgreSQL, DELETE
    # on SQLite through config/sqlite): the flush must pass, and the rule hold afterwards.
    from django.core.management import call_command

    audit_record(action=AuditAction.LOGIN_FAILED, actor_name="someone")
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert len(_append_only_triggers()) >= 1
    event = audit_record(action=AuditAction.LOGIN_FAILED, actor_name="someone")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


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


def test_the_admin_filter_names_the_empty_object_type_of_events_about_no_object(world):
    audit_record(action=AuditAction.LOGIN, actor=world.users["rm_owner"])
    audit_record(action=AuditAction.VIEW, actor=world.users["rm_owner"], customer=world.customers["own"],
                 obj=world.customers["own"])
    page = world.client("admin").get("/admin/audit/auditevent/").content.decode()
    # A link with no text is unusable with a screen reader; the admin's empty value stands in.
    links = dict(re.findall(r'<a href="\?object_type=([^"&]*)">([^<]*)</a>', page))
    assert links.pop("") == "-"
    assert len(links) == 1 and all(text == value for value, text in links.items())


@pytest.mark.parametrize("role", ["rm_owner", "lobby", "head", "analyst"])
def test_nobody_but_the_admin_reads_the_trail(world, role):
    assert world.client(role).get("/api/v1/audit-events/").status_code == 403
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=world.users[role]).exists()


def test_case_changes_through_the_api_are_audited(world):
    case = world.cases["own"]
    response = world.client("rm_owner").post(f"/api/v1/cases/{case.pk}/dismiss/", {"reason": "moved abroad"},
                                             content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    event = AuditEvent.objects.get(action=AuditAction.CHANGE)
    assert event.customer == case.customer and event.actor == world.users["rm_owner"]
    assert event.object_type == "retention.case" and event.object_id == str(case.pk)
    assert event.detail["via"] == "api"


def test_task_changes_through_the_api_are_audited(world):
    task = world.tasks["own"]
    client = world.client("rm_owner")
    assert client.post(f"/api/v1/tasks/{task.pk}/done/", {}, content_type="application/json").status_code == 200
    assert client.post(f"/api/v1/tasks/{task.pk}/undo/", {}, content_type="application/json").status_code == 200
    events = list(AuditEvent.objects.filter(action=AuditAction.CHANGE).order_by("pk"))
    assert len(events) == 2 and all(e.customer == task.case.customer for e in events)


def test_a_refused_case_action_is_audited_and_changes_nothing(world):
    case = world.cases["colleague"]
    response = world.client("rm_owner").post(f"/api/v1/cases/{case.pk}/close/", {"outcome": "retained"},
                                             content_type="application/json")
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.CHANGE).exists()
    event = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert event.actor == world.users["rm_owner"] and event.detail["object_id"] == str(case.pk)
    case.refresh_from_db()
    assert case.status == "open"
