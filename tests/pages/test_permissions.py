"""Who sees what, page by page: the owner RM, a colleague (another RM of the same
branch), an outsider (an RM of another branch), the branch's lobby manager and head,
and their counterparts in the other branch. Anything outside a user's scope is a 404,
never a 403, so nobody learns that a customer or an alert exists."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AuditAction, AuditEvent
from customers.models import ContactLog
from retention.models import Alert, AlertStatus
from tests.pages.conftest import TODAY, raise_alerts, score
from tests.retention.factories import SurveyFactory

pytestmark = pytest.mark.django_db


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def post(client, user, url, data=None, htmx=True):
    client.force_login(user)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data or {}, headers=headers)


# --- customer 360 and its actions -----------------------------------------------------------


def test_customer_360_is_for_the_owner_and_the_branch_only(client, bank, alert):
    url = reverse("customers:detail", args=[bank.customer.pk])
    for user in (bank.owner, bank.lobby, bank.head):
        assert get(client, user, url).status_code == 200, user
    # Analysts read aggregates only, never one customer's record.
    for user in (bank.colleague, bank.outsider, bank.other_lobby, bank.other_head, bank.analyst):
        assert get(client, user, url).status_code == 404, user


def test_every_view_of_a_customer_is_audited(client, bank, alert):
    get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]))
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (event.customer_id, event.actor_id) == (bank.customer.pk, bank.owner.pk)


def grant_reveal(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))


def test_id_number_and_phone_are_masked_and_the_reveal_is_audited(client, bank, alert):
    grant_reveal(bank.head)
    page = get(client, bank.head, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    assert bank.customer.id_number not in page and bank.customer.phone not in page
    assert "5678" in page and "1234" in page

    response = post(client, bank.head, reverse("customers:reveal", args=[bank.customer.pk, "phone"]))
    assert response.status_code == 200 and bank.customer.phone in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.REVEAL)
    assert event.detail == {"field": "phone", "via": "page"} and event.customer_id == bank.customer.pk


def test_reveal_needs_the_permission_and_a_refusal_is_audited(client, bank, alert):
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    assert "/reveal/" not in page  # no button without the permission
    response = post(client, bank.owner, reverse("customers:reveal", args=[bank.customer.pk, "phone"]))
    assert response.status_code == 403 and bank.customer.phone not in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, customer=bank.customer).exists()


def test_reveal_refuses_other_fields_and_customers_out_of_scope(client, bank, alert):
    for user in (bank.colleague, bank.outsider, bank.other_head, bank.head):
        grant_reveal(user)
    assert post(client, bank.head, reverse("customers:reveal", args=[bank.customer.pk, "name"])).status_code == 404
    for user in (bank.colleague, bank.outsider, bank.other_head):
        url = reverse("customers:reveal", args=[bank.customer.pk, "id_number"])
        assert post(client, user, url).status_code == 404, user
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


def test_rm_overrides_the_segment_with_a_reason(client, bank, alert):
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


# --- actions on an alert ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("retention:alert_snooze", {"until": "2024-05-20"}),
        ("retention:alert_dismiss", {"reason": "moved abroad"}),
        ("retention:alert_outcome", {"outcome": "retained"}),
        ("retention:alert_contact", {"channel": "call", "result": "reached"}),
    ],
)
def test_alert_actions_are_for_the_owner_only(client, bank, alert, name, data):
    url = reverse(name, args=[alert.pk])
    for user in (bank.colleague, bank.outsider, bank.other_head, bank.other_lobby):
        assert post(client, user, url, data).status_code == 404, user
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN
    response = post(client, bank.owner, url, data)
    assert response.status_code == 200
    assert f'id="alert-{alert.pk}"' in response.content.decode()
    assert Alert.objects.get(pk=alert.pk).status != AlertStatus.OPEN
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE, object_id=str(alert.pk)).exists()


def test_ticking_a_step_is_for_the_owner_only(client, bank, alert):
    step = alert.steps.order_by("order").first()
    url = reverse("retention:alert_step_tick", args=[alert.pk, step.pk])
    for user in (bank.colleague, bank.outsider):
        assert post(client, user, url, {"done": "1"}).status_code == 404
    assert post(client, bank.owner, url, {"done": "1"}).status_code == 200
    step.refresh_from_db()
    assert step.done_at is not None


def test_a_step_of_another_alert_is_a_404(client, bank, alert):
    other_alert = Alert.objects.get(customer=bank.outsider_customer)
    foreign_step = other_alert.steps.first()
    url = reverse("retention:alert_step_tick", args=[alert.pk, foreign_step.pk])
    assert post(client, bank.owner, url, {"done": "1"}).status_code == 404


def test_dismiss_without_a_reason_is_refused_on_the_card(client, bank, alert):
    response = post(client, bank.owner, reverse("retention:alert_dismiss", args=[alert.pk]), {"reason": " "})
    assert response.status_code == 422
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN


def test_plain_form_posts_go_back_to_the_customer_page(client, bank, alert):
    response = post(client, bank.owner, reverse("retention:alert_outcome", args=[alert.pk]), {"outcome": "lost"},
                    htmx=False)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customers:detail", args=[bank.customer.pk]))


# --- lists, search and exports ----------------------------------------------------------------------


def test_rm_list_shows_only_own_alerts(client, bank, alert):
    owner_page = get(client, bank.owner, reverse("retention:alert_list")).content.decode()
    assert bank.customer.name in owner_page
    assert bank.outsider_customer.name not in owner_page
    for user in (bank.colleague, bank.other_head):
        assert bank.customer.name not in get(client, user, reverse("retention:alert_list")).content.decode()
    assert bank.customer.name in get(client, bank.head, reverse("retention:alert_list")).content.decode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_follow_the_list_scope_and_are_audited(client, bank, alert, fmt):
    url = reverse("retention:alert_export", args=[fmt])

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


def test_exports_neutralise_spreadsheet_formulas(client, bank, alert):
    bank.customer.name = "=HYPERLINK(\"http://evil\",\"x\")"
    bank.customer.save()
    body = get(client, bank.owner, reverse("retention:alert_export", args=["csv"])).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body
    response = get(client, bank.owner, reverse("retention:alert_export", args=["xlsx"]))
    cells = [c for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True) for c in row]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells


def test_export_respects_the_filters(client, bank, alert):
    response = get(client, bank.owner, reverse("retention:alert_export", args=["csv"]), kind="aum_drop")
    assert len(list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))) == 1


def test_walk_in_lookup_searches_only_what_the_user_may_see(client, bank, alert):
    url = reverse("customers:walkin_results")
    assert "王小明" in post(client, bank.lobby, url, {"q": "王"}).content.decode()
    assert "王大力" not in post(client, bank.lobby, url, {"q": "王"}).content.decode()
    assert "王小明" not in post(client, bank.other_lobby, url, {"q": "王"}).content.decode()
    assert "王小明" not in post(client, bank.colleague, url, {"q": "王"}).content.decode()
    assert "王小明" in post(client, bank.owner, url, {"q": "1234"}).content.decode()
    assert "王小明" in post(client, bank.owner, url, {"q": "5678"}).content.decode()
    # A full phone number is not searched (only the last four digits are indexed and allowed).
    assert "王小明" not in post(client, bank.owner, url, {"q": bank.customer.phone}).content.decode()


def test_walk_in_flags_an_at_risk_customer_with_talking_points(client, bank, alert):
    page = post(client, bank.lobby, reverse("customers:walkin_results"), {"q": "王小"}).content.decode()
    assert "match flagged" in page
    assert "Product-oriented" in page or "产品导向型" in page


def test_hand_over_is_for_the_branch_lobby_and_lands_on_the_rms_alert(client, bank, alert):
    url = reverse("customers:handover", args=[bank.customer.pk])
    for user in (bank.other_lobby, bank.owner, bank.colleague):
        assert post(client, user, url, {"note": "loan"}).status_code == 404, user
    response = post(client, bank.lobby, url, {"note": "wants a loan"})
    assert response.status_code == 200
    contact = ContactLog.objects.get(customer=bank.customer)
    assert "wants a loan" in contact.note and contact.next_step_on == TODAY and contact.staff == bank.lobby
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.IN_PROGRESS


def test_hand_over_without_an_open_alert_leaves_a_follow_up_for_the_rm(client, bank):
    response = post(client, bank.lobby, reverse("customers:handover", args=[bank.customer.pk]), {"note": "hi"})
    assert response.status_code == 200
    assert ContactLog.objects.get(customer=bank.customer).next_step_on == TODAY
    page = get(client, bank.owner, reverse("retention:alert_list")).content.decode()
    assert "hi" in page  # in the RM's "follow-ups due" box


def test_interception_list_is_branch_only(client, bank):
    from tests.retention.factories import AppointmentFactory

    AppointmentFactory(customer=bank.customer, scheduled_on=TODAY)
    AppointmentFactory(customer=bank.outsider_customer, scheduled_on=TODAY)
    raise_alerts()
    url = reverse("customers:interceptions")
    lobby_page = get(client, bank.lobby, url).content.decode()
    assert bank.customer.name in lobby_page and bank.outsider_customer.name not in lobby_page
    assert bank.customer.name not in get(client, bank.other_lobby, url).content.decode()
    assert bank.customer.name not in get(client, bank.colleague, url).content.decode()


# --- branch head ---------------------------------------------------------------------------------


@pytest.fixture
def callback(bank):
    """A core customer whose satisfaction fell: a callback for the branch head."""
    SurveyFactory(customer=bank.customer, surveyed_on=TODAY.replace(day=1), score=9)
    SurveyFactory(customer=bank.customer, surveyed_on=TODAY.replace(day=10), score=3, comment="waited an hour")
    score(bank.customer, band="low", probability=0.05)
    raise_alerts()
    return Alert.objects.get(customer=bank.customer, kind="satisfaction_drop")


def test_callback_queue_is_the_branch_heads(client, bank, callback):
    url = reverse("retention:callback_queue")
    page = get(client, bank.head, url).content.decode()
    assert bank.customer.name in page and "waited an hour" in page
    assert bank.customer.name not in get(client, bank.other_head, url).content.decode()


def test_branch_head_records_a_callback(client, bank, callback):
    url = reverse("retention:callback_record", args=[callback.pk])
    data = {"result": "reached", "note": "apologised", "close_as": "retained"}
    for user in (bank.other_head, bank.outsider):
        assert post(client, user, url, data).status_code == 404
    assert post(client, bank.head, url, data).status_code == 200
    assert Alert.objects.get(pk=callback.pk).status == AlertStatus.CLOSED_RETAINED
    assert ContactLog.objects.get(customer=bank.customer).note == "apologised"


def test_dashboard_is_for_heads_and_admins_and_counts_the_branch_only(client, bank, alert):
    url = reverse("retention:dashboard")
    for user in (bank.owner, bank.lobby):
        assert get(client, user, url).status_code == 404
    head = get(client, bank.head, url)
    assert head.status_code == 200
    assert head.context["totals"]["open_alerts"] == 1
    assert get(client, bank.analyst, url).status_code == 200


def test_analyst_pages_are_for_analysts(client, bank):
    for name in ("churn:model_list", "churn:data_import"):
        for user in (bank.owner, bank.lobby, bank.head):
            assert get(client, user, reverse(name)).status_code == 404, (name, user)
        assert get(client, bank.analyst, reverse(name)).status_code == 200


@pytest.mark.parametrize(
    ("role_user", "landing"),
    [("owner", "/alerts/"), ("lobby", "/lookup/"), ("head", "/callbacks/"), ("analyst", "/analyst/models/")],
)
def test_home_sends_each_role_to_its_page(client, bank, role_user, landing):
    response = get(client, getattr(bank, role_user), reverse("home"))
    assert response.status_code == 302 and response["Location"] == landing
