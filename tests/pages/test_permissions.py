"""Who sees what, page by page: the owner RM, a colleague (another RM of the same
branch), an outsider (an RM of another branch), the branch's lobby manager and head,
and their counterparts in the other branch. Anything outside a user's scope is a 404,
never a 403, so nobody learns that a customer or a case exists."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AuditAction, AuditEvent
from retention.models import Case, CaseStatus, TaskStatus
from tests.pages.conftest import open_case
from tests.retention.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def post(client, user, url, data=None, htmx=True):
    client.force_login(user)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data or {}, headers=headers)


# --- customer 360 and its actions -----------------------------------------------------------


def test_customer_360_is_for_the_owner_and_the_branch_only(client, bank, case):
    url = reverse("customers:detail", args=[bank.customer.pk])
    for user in (bank.owner, bank.lobby, bank.head):
        assert get(client, user, url).status_code == 200, user
    # Analysts read aggregates only, never one customer's record.
    for user in (bank.colleague, bank.outsider, bank.other_lobby, bank.other_head, bank.analyst):
        assert get(client, user, url).status_code == 404, user


def test_every_view_of_a_customer_is_audited(client, bank, case):
    get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]))
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (event.customer_id, event.actor_id) == (bank.customer.pk, bank.owner.pk)


def grant_reveal(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))


def test_id_number_and_phone_are_masked_and_the_reveal_is_audited(client, bank, case):
    grant_reveal(bank.head)
    page = get(client, bank.head, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    assert bank.customer.id_number not in page and bank.customer.phone not in page
    assert "5678" in page and "1234" in page

    response = post(client, bank.head, reverse("customers:reveal", args=[bank.customer.pk, "phone"]))
    assert response.status_code == 200 and bank.customer.phone in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.REVEAL)
    assert event.detail == {"field": "phone", "via": "page"} and event.customer_id == bank.customer.pk


def test_the_id_number_reveal_needs_the_permission_and_a_refusal_is_audited(client, bank, case):
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    assert "/reveal/id_number/" not in page  # no button without the permission
    response = post(client, bank.owner, reverse("customers:reveal", args=[bank.customer.pk, "id_number"]))
    assert response.status_code == 403 and bank.customer.id_number not in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, customer=bank.customer).exists()


def test_reveal_refuses_other_fields_and_customers_out_of_scope(client, bank, case):
    for user in (bank.colleague, bank.outsider, bank.other_head, bank.head):
        grant_reveal(user)
    assert post(client, bank.head, reverse("customers:reveal", args=[bank.customer.pk, "name"])).status_code == 404
    for user in (bank.colleague, bank.outsider, bank.other_head):
        url = reverse("customers:reveal", args=[bank.customer.pk, "id_number"])
        assert post(client, user, url).status_code == 404, user
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


def test_rm_overrides_the_segment_with_a_reason(client, bank, case):
    url = reverse("customers:segment", args=[bank.customer.pk])
    refused = post(client, bank.owner, url, {"segment_override": "service", "segment_override_reason": ""})
    assert refused.status_code == 422
    response = post(client, bank.owner, url, {"segment_override": "service", "segment_override_reason": "complained"})
    assert response.status_code == 200
    bank.customer.refresh_from_db()
    assert (bank.customer.segment_override, bank.customer.segment_override_reason) == ("service", "complained")
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE, customer=bank.customer).exists()
    for user in (bank.colleague, bank.outsider, bank.lobby):
        data = {"segment_override": "product", "segment_override_reason": "x"}
        assert post(client, user, url, data).status_code == 404


# --- actions on a case ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("retention:case_start", {}),
        ("retention:case_snooze", {"until": "2024-05-20"}),
        ("retention:case_dismiss", {"reason": "moved abroad"}),
        ("retention:case_close", {"outcome": "retained", "reason": "renewed with us"}),
        ("retention:case_contact", {"channel": "call", "result": "reached"}),
    ],
)
def test_case_actions_are_for_the_owner_and_the_branch_only(client, bank, case, name, data):
    url = reverse(name, args=[case.pk])
    for user in (bank.colleague, bank.outsider, bank.other_head, bank.other_lobby):
        assert post(client, user, url, data).status_code == 404, user
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, detail__object_type="retention.case").count() == 4
    response = post(client, bank.owner, url, data)
    assert response.status_code == 200
    assert f'id="case-{case.pk}"' in response.content.decode()
    assert Case.objects.get(pk=case.pk).status != CaseStatus.OPEN
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE, object_type="retention.case",
                                     object_id=str(case.pk)).exists()


def test_ticking_a_task_is_for_the_owner_only_and_can_be_undone(client, bank, case):
    task = case.tasks.order_by("order").first()
    url = reverse("retention:task_toggle", args=[case.pk, task.pk])
    for user in (bank.colleague, bank.outsider):
        assert post(client, user, url, {"done": "1"}).status_code == 404
    assert post(client, bank.owner, url, {"done": "1"}).status_code == 200
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.done_by == bank.owner
    assert post(client, bank.owner, url, {"done": "0"}).status_code == 200
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.done_by is None


def test_a_task_of_another_case_is_a_404(client, bank, case):
    foreign_task = Case.objects.get(customer=bank.outsider_customer).tasks.first()
    url = reverse("retention:task_toggle", args=[case.pk, foreign_task.pk])
    assert post(client, bank.owner, url, {"done": "1"}).status_code == 404
    foreign_task.refresh_from_db()
    assert foreign_task.status == TaskStatus.OPEN


def test_a_held_out_case_is_a_404_even_for_its_owner(client, bank, case):
    Case.objects.filter(pk=case.pk).update(is_control=True)
    response = post(client, bank.owner, reverse("retention:case_close", args=[case.pk]),
                    {"outcome": "retained", "reason": "x"})
    assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    assert f'id="case-{case.pk}"' not in page
    assert bank.customer.name not in get(client, bank.owner, reverse("retention:case_list")).content.decode()


def test_dismiss_without_a_reason_is_refused_on_the_card(client, bank, case):
    response = post(client, bank.owner, reverse("retention:case_dismiss", args=[case.pk]), {"reason": " "})
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN


@pytest.mark.parametrize("until", ["9999-12-31", "2024-05-14", "2024-05-15"])
def test_a_snooze_beyond_the_horizon_or_in_the_past_is_refused_with_its_message(client, bank, case, until):
    response = post(client, bank.owner, reverse("retention:case_snooze", args=[case.pk]), {"until": until})
    assert response.status_code == 422
    body = response.content.decode()
    message = body.split('role="alert">', 1)[1].split("</p>", 1)[0]
    assert ("30" in message and "2024-06-14" in message) if until > "2024-05-15" else message.strip()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_plain_form_posts_go_back_to_the_customer_page(client, bank, case):
    response = post(client, bank.owner, reverse("retention:case_close", args=[case.pk]),
                    {"outcome": "lost", "reason": "moved to another city"}, htmx=False)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customers:detail", args=[bank.customer.pk]))


# --- lists, search and exports ----------------------------------------------------------------------


def test_rm_list_shows_only_own_cases(client, bank, case):
    owner_page = get(client, bank.owner, reverse("retention:case_list")).content.decode()
    assert bank.customer.name in owner_page
    assert bank.outsider_customer.name not in owner_page
    for user in (bank.colleague, bank.other_head):
        assert bank.customer.name not in get(client, user, reverse("retention:case_list")).content.decode()
    assert bank.customer.name in get(client, bank.head, reverse("retention:case_list")).content.decode()


def test_the_old_list_address_leads_to_the_cases(client, bank, case):
    response = get(client, bank.owner, reverse("retention:alert_list"), signal="aum_drop")
    assert response.status_code == 301
    assert response["Location"] == reverse("retention:case_list") + "?signal=aum_drop"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_follow_the_list_scope_and_are_audited(client, bank, case, fmt):
    url = reverse("retention:case_export", args=[fmt])

    def rows(user):
        response = get(client, user, url)
        assert response.status_code == 200
        if fmt == "csv":
            return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        return [list(row) for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]

    owner_rows = rows(bank.owner)
    assert len(owner_rows) == 2 and bank.customer.customer_id in owner_rows[1]
    assert len(rows(bank.colleague)) == 1  # the header only
    assert len(rows(bank.outsider)) == 2 and bank.customer.customer_id not in rows(bank.outsider)[1]
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT, actor=bank.owner).get()
    assert event.detail["format"] == fmt and event.detail["rows"] == 1


def test_exports_never_list_a_held_out_case(client, bank, case):
    held_out = open_case(CustomerFactory(customer_id="HELD-1", branch=bank.branch, rm=bank.owner), is_control=True)
    body = get(client, bank.owner, reverse("retention:case_export", args=["csv"])).content.decode("utf-8-sig")
    assert bank.customer.customer_id in body and held_out.customer.customer_id not in body


def test_exports_neutralise_spreadsheet_formulas(client, bank, case):
    bank.customer.name = "=HYPERLINK(\"http://evil\",\"x\")"
    bank.customer.save()
    body = get(client, bank.owner, reverse("retention:case_export", args=["csv"])).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body
    response = get(client, bank.owner, reverse("retention:case_export", args=["xlsx"]))
    cells = [c for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True) for c in row]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells


def test_export_respects_the_filters(client, bank, case):
    response = get(client, bank.owner, reverse("retention:case_export", args=["csv"]), signal="aum_drop")
    assert len(list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))) == 1
    response = get(client, bank.owner, reverse("retention:case_export", args=["csv"]), signal="model_risk")
    assert len(list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))) == 2


def test_walk_in_lookup_searches_only_what_the_user_may_see(client, bank, case):
    url = reverse("customers:walkin_results")
    assert "王小明" in post(client, bank.lobby, url, {"q": "王"}).content.decode()
    assert "王大力" not in post(client, bank.lobby, url, {"q": "王"}).content.decode()
    assert "王小明" not in post(client, bank.other_lobby, url, {"q": "王"}).content.decode()
    assert "王小明" not in post(client, bank.colleague, url, {"q": "王"}).content.decode()
    assert "王小明" in post(client, bank.owner, url, {"q": "1234"}).content.decode()
    assert "王小明" in post(client, bank.owner, url, {"q": "5678"}).content.decode()
    # A full phone number is not searched (only the last four digits are indexed and allowed).
    assert "王小明" not in post(client, bank.owner, url, {"q": bank.customer.phone}).content.decode()


def test_walk_in_flags_an_at_risk_customer_with_talking_points(client, bank, case):
    page = post(client, bank.lobby, reverse("customers:walkin_results"), {"q": "王小"}).content.decode()
    assert "match flagged" in page
    assert "Product-oriented" in page or "产品导向型" in page


def test_dashboard_is_for_heads_and_admins_and_counts_the_branch_only(client, bank, case):
    url = reverse("retention:dashboard")
    for user in (bank.owner, bank.lobby):
        assert get(client, user, url).status_code == 404
    assert get(client, bank.head, url).status_code == 200
    assert get(client, bank.analyst, url).status_code == 200


def test_analyst_pages_are_for_analysts(client, bank):
    for name in ("churn:model_list", "churn:data_import"):
        for user in (bank.owner, bank.lobby, bank.head):
            assert get(client, user, reverse(name)).status_code == 404, (name, user)
        assert get(client, bank.analyst, reverse(name)).status_code == 200


@pytest.mark.parametrize(
    ("role_user", "landing"),
    [("owner", "/cases/"), ("lobby", "/lookup/"), ("head", "/callbacks/"), ("analyst", "/analyst/models/")],
)
def test_home_sends_each_role_to_its_page(client, bank, role_user, landing):
    response = get(client, getattr(bank, role_user), reverse("home"))
    assert response.status_code == 302 and response["Location"] == landing
