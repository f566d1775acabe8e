"""The analyst's upload page: file guards, the row-level report, and all-or-nothing import."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from customers.models import Branch

pytestmark = pytest.mark.django_db


def upload(client, user, *files):
    client.force_login(user)
    return client.post(reverse("churn:data_import"), {"files": list(files)})


def csv_file(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_a_good_file_is_imported_and_reported(client, bank):
    response = upload(client, bank.analyst, csv_file("branches.csv", "branch_code,name,city\nGZ01,广州天河,广州\n"))
    assert response.status_code == 200
    assert Branch.objects.filter(code="GZ01", name="广州天河").exists()
    assert "branches.csv" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()


def test_a_bad_row_changes_nothing_and_is_reported_with_its_line(client, bank):
    text = "branch_code,name,city\nGZ01,广州天河,广州\n,没有代码,广州\n"
    response = upload(client, bank.analyst, csv_file("branches.csv", text))
    assert response.status_code == 422
    assert not Branch.objects.filter(code="GZ01").exists()
    assert "branches.csv:3" in response.content.decode()
    assert AuditEvent.objects.get(action=AuditAction.IMPORT).detail["ok"] is False


def test_a_file_with_an_unknown_name_is_refused_before_the_import(client, bank):
    response = upload(client, bank.analyst, csv_file("clients.csv", "a,b\n1,2\n"))
    assert response.status_code == 422
    assert "clients.csv" in response.content.decode()


def test_only_analysts_and_admins_may_import(client, bank):
    for user in (bank.owner, bank.lobby, bank.head):
        response = upload(client, user, csv_file("branches.csv", "branch_code,name,city\nGZ01,x,y\n"))
        assert response.status_code == 404
    assert not Branch.objects.filter(code="GZ01").exists()
