"""Uploads: only known CSV files, size-limited, text in UTF-8, no formula cells, no
absurd lines, and nothing written when anything is wrong."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditAction, AuditEvent
from customers.models import Branch

pytestmark = pytest.mark.django_db

GOOD_BRANCHES = b"branch_code,name,city\nGZ01,Guangzhou Tianhe,Guangzhou\n"


def _post(world, *files, role="analyst"):
    return world.client(role).post("/api/v1/imports/", {"files": list(files)})


def _csv(name, content: bytes):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_a_good_file_is_imported_and_audited(world):
    response = _post(world, _csv("branches.csv", GOOD_BRANCHES))
    assert response.status_code == 201, response.json()
    assert Branch.objects.filter(code="GZ01").exists()
    event = AuditEvent.objects.filter(action=AuditAction.IMPORT, actor=world.users["analyst"]).get()
    assert event.detail["files"] == ["branches.csv"] and event.detail["ok"] is True


@pytest.mark.parametrize("name,content,message", [
    ("branches.xlsx", GOOD_BRANCHES, "not an interchange file"),
    ("branches.csv", b"PK\x03\x04" + b"\x00" * 100, "zip/xlsx"),
    ("branches.csv", b"branch_code,name\x00,city\n", "binary"),
    ("branches.csv", "branch_code,name,city\nGZ01,广州天河,广州\n".encode("gbk"), "not UTF-8"),
    ("branches.csv", b"branch_code,name,city\nGZ01," + b"x" * (1024 * 1024 + 10) + b",Guangzhou\n", "longer than"),
    ("branches.csv", b'branch_code,name,city\nGZ01,"=HYPERLINK(""http://x"")",Guangzhou\n', "formula"),
    ("branches.csv", b"branch_code,name,city\nGZ01,@SUM(A1),Guangzhou\n", "formula"),
    ("branches.csv", b"branch_code,name,city\nGZ01,-2+3+cmd|' /C calc'!A0,Guangzhou\n", "formula"),
])
def test_a_hostile_file_gets_a_clear_error_and_changes_nothing(world, name, content, message):
    response = _post(world, _csv(name, content))
    assert response.status_code == 400
    report = response.json()
    assert report["ok"] is False
    assert any(message in problem for problem in report["problems"]), report
    assert not Branch.objects.filter(code="GZ01").exists()


def test_row_level_problems_come_from_the_import_engine_and_change_nothing(world):
    bad = b"branch_code,name,city\nGZ01,Guangzhou Tianhe,Guangzhou\nGZ01,Again,Guangzhou\n"
    response = _post(world, _csv("branches.csv", bad))
    assert response.status_code == 400
    assert response.json()["problem_count"] >= 1
    assert not Branch.objects.filter(code="GZ01").exists()


def test_a_signed_number_or_phone_is_not_a_formula():
    from core.spreadsheet import looks_like_formula

    assert not looks_like_formula("+8613812345678")
    assert not looks_like_formula("-1250.50")
    assert looks_like_formula("-cmd")
    assert looks_like_formula("=1+1")


def test_too_large_a_file_is_refused_before_it_is_read(world, settings):
    settings.IMPORT_MAX_FILE_BYTES = 10
    response = _post(world, _csv("branches.csv", GOOD_BRANCHES))
    assert response.status_code in (400, 413)
    assert not Branch.objects.filter(code="GZ01").exists()


def test_rms_cannot_import(world):
    assert _post(world, _csv("branches.csv", GOOD_BRANCHES), role="rm_owner").status_code == 403


@pytest.mark.parametrize("via,path", [("page", "/analyst/import/"), ("api", "/api/v1/imports/")])
@pytest.mark.parametrize("content,ok", [(GOOD_BRANCHES, True), (b"branch_code,name\nGZ01,x\n", False)])
def test_every_import_is_audited_once_with_its_actor_address_and_path(world, via, path, content, ok):
    """The page and the API share one upload-and-import service, which writes one event."""
    before = AuditEvent.objects.filter(action=AuditAction.IMPORT).count()
    world.client("analyst").post(path, {"files": [_csv("branches.csv", content)]})
    events = list(AuditEvent.objects.filter(action=AuditAction.IMPORT).order_by("pk")[before:])
    assert len(events) == 1
    event = events[0]
    assert event.actor == world.users["analyst"]
    assert event.ip_address == "127.0.0.1" and event.path == path
    assert event.detail["via"] == via and event.detail["ok"] is ok and event.detail["files"] == ["branches.csv"]
