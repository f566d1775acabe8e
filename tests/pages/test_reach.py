"""Reaching the customer: who may reveal the phone number (the owner RM, the head and the
lobby manager of the customer's branch, administrators; not a colleague RM, an outsider or
another branch's staff), the audit of every reveal and refusal, the tel: link with the call
logged right there (on the 360 and from a row of today's list), and the 360's timeline and
rough edges (score points per night, matured holdings folded, a readable contact log)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from audit.services import AuditOrigin
from customers.models import Role
from customers.services import customer_field_reveal
from retention.models import Case, CaseStatus, TaskStatus
from retention.selectors import customer_timeline
from tests.pages.conftest import TODAY, add_history, make_user, open_case
from tests.retention.factories import (
    ChurnScoreFactory,
    ContactLogFactory,
    CustomerFactory,
    HoldingFactory,
    ModelVersionFactory,
    SurveyFactory,
)

pytestmark = pytest.mark.django_db


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def post(client, user, url, data=None, htmx=True):
    client.force_login(user)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data or {}, headers=headers)


def reveal_phone(client, user, customer, **data):
    return post(client, user, reverse("customers:reveal", args=[customer.pk, "phone"]), data)


# --- who may reveal the phone number ---------------------------------------------------------


def test_the_owner_rm_and_the_branchs_head_and_lobby_manager_reveal_the_phone_as_a_tel_link(client, bank, case):
    for user in (bank.owner, bank.head, bank.lobby):
        response = reveal_phone(client, user, bank.customer)
        assert response.status_code == 200, user
        assert f'href="tel:{bank.customer.phone}"' in response.content.decode(), user
    events = AuditEvent.objects.filter(action=AuditAction.REVEAL, customer=bank.customer).order_by("pk")
    assert [(event.actor_id, event.detail["field"]) for event in events] == [
        (bank.owner.pk, "phone"), (bank.head.pk, "phone"), (bank.lobby.pk, "phone")]


def test_an_administrator_reveals_any_customers_phone(client, bank, case):
    admin = make_user("admin", None, Role.ADMIN)
    for customer in (bank.customer, bank.outsider_customer):
        assert customer.phone in reveal_phone(client, admin, customer).content.decode()


def test_a_colleague_an_outsider_and_another_branchs_staff_are_refused_and_it_is_audited(client, bank, case):
    for user in (bank.colleague, bank.outsider, bank.other_lobby, bank.other_head, bank.analyst):
        response = reveal_phone(client, user, bank.customer)
        assert response.status_code == 404 and bank.customer.phone not in response.content.decode(), user
        assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=user).exists(), user
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


def test_the_reveal_itself_refuses_a_colleague_rm_whatever_the_scope_says(bank):
    # The rule lives in the service, not only in the page's scope: a caller that skipped the
    # scope (a future page, a script) still gets a refusal, audited.
    with pytest.raises(PermissionDenied):
        customer_field_reveal(customer=bank.customer, field="phone", origin=AuditOrigin(actor=bank.colleague))
    with pytest.raises(PermissionDenied):
        customer_field_reveal(customer=bank.customer, field="phone", origin=AuditOrigin(actor=bank.other_head))
    denied = AuditEvent.objects.filter(action=AuditAction.DENIED, customer=bank.customer)
    assert sorted(denied.values_list("actor_id", flat=True)) == sorted([bank.colleague.pk, bank.other_head.pk])
    assert all(event.detail["reveal"] == "phone" for event in denied)


def test_the_id_number_keeps_its_rule_the_owner_without_the_permission_is_refused(client, bank, case):
    response = post(client, bank.owner, reverse("customers:reveal", args=[bank.customer.pk, "id_number"]))
    assert response.status_code == 403 and bank.customer.id_number not in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=bank.owner).exists()


# --- where the control is, and the call logged right after -------------------------------------


def test_the_360_the_list_row_and_the_callback_queue_offer_the_reveal(client, bank, case):
    url = f"/customers/{bank.customer.pk}/reveal/phone/"
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    assert url in page and bank.customer.phone not in page and "•5678" in page
    listing = get(client, bank.owner, reverse("retention:case_list")).content.decode()
    assert url in listing and bank.customer.phone not in listing
    unhappy = CustomerFactory(customer_id="C000003", name="李娜", branch=bank.branch, rm=bank.owner)
    callback = open_case(unhappy, signals=("satisfaction_drop",))
    assert callback.tasks.filter(owner_role="head").exists()
    queue = get(client, bank.head, reverse("retention:callback_queue")).content.decode()
    assert f"/customers/{unhappy.pk}/reveal/phone/" in queue and unhappy.phone not in queue


def test_the_revealed_number_offers_the_call_log_on_the_customers_open_case(client, bank, case):
    on_card = reveal_phone(client, bank.owner, bank.customer, case=case.pk, where="card").content.decode()
    assert reverse("retention:case_contact", args=[case.pk]) in on_card
    assert 'name="channel" value="call"' in on_card and f'hx-target="#case-{case.pk}"' in on_card
    in_row = reveal_phone(client, bank.owner, bank.customer, case=case.pk, where="row").content.decode()
    assert 'name="reply" value="row"' in in_row
    # No form for a case of another customer, one out of scope, or from the head's callback queue.
    other = Case.objects.get(customer=bank.outsider_customer)
    for data in ({"case": other.pk}, {"case": "x"}, {"case": case.pk, "where": "queue"}):
        answer = reveal_phone(client, bank.owner, bank.customer, **data).content.decode()
        assert "/contact/" not in answer and f"tel:{bank.customer.phone}" in answer, data


def test_a_call_logged_from_the_list_row_completes_the_rms_open_call_task(client, bank, case):
    call_task = case.tasks.filter(channel="call", owner=bank.owner).order_by("due_on", "order").first()
    response = post(client, bank.owner, reverse("retention:case_contact", args=[case.pk]),
                    {"channel": "call", "result": "reached", "note": "客户考虑续存", "reply": "row"})
    assert response.status_code == 200
    html = response.content.decode()
    assert call_task.text in html and "☑" in html
    call_task.refresh_from_db()
    assert call_task.status == TaskStatus.DONE and call_task.contact.note == "客户考虑续存"
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS


def test_a_call_logged_from_the_row_without_a_result_is_refused_in_the_row(client, bank, case):
    response = post(client, bank.owner, reverse("retention:case_contact", args=[case.pk]),
                    {"channel": "call", "result": "", "reply": "row"})
    assert response.status_code == 422 and 'role="alert"' in response.content.decode()
    assert not bank.customer.contacts.exists()


def test_a_colleague_cannot_log_a_call_on_the_owners_case(client, bank, case):
    response = post(client, bank.colleague, reverse("retention:case_contact", args=[case.pk]),
                    {"channel": "call", "result": "reached", "reply": "row"})
    assert response.status_code == 404 and not bank.customer.contacts.exists()


# --- the 360's timeline ----------------------------------------------------------------------------


def test_the_timeline_has_cases_tasks_contacts_surveys_outcomes_and_reveals_newest_first(client, bank, case):
    past = open_case(bank.customer, opened_on=TODAY - dt.timedelta(days=120), status=CaseStatus.CLOSED_RETAINED,
                     closed_at=timezone.now() - dt.timedelta(days=100), close_reason="续存一年",
                     outcome="retained", outcome_measured_on=TODAY - dt.timedelta(days=10), aum_kept=Decimal(300000))
    SurveyFactory(customer=bank.customer, surveyed_on=TODAY - dt.timedelta(days=5), score=4, comment="排队太久")
    reveal_phone(client, bank.owner, bank.customer)
    post(client, bank.owner, reverse("retention:case_contact", args=[case.pk]),
         {"channel": "call", "result": "reached", "note": "已致电"})

    items, more = customer_timeline(user=bank.owner, customer=bank.customer)
    kinds = [item.kind for item in items]
    assert not more
    assert {"case_opened", "case_closed", "case_outcome", "task_created", "task_done", "contact", "survey",
            "reveal"} <= set(kinds)
    assert [item.at for item in items] == sorted((item.at for item in items), reverse=True)
    # Today's work on top (the contact and the task it completed, the reveal), the past case at the bottom.
    assert set(kinds[:3]) == {"contact", "task_done", "reveal"}
    assert kinds[-1] == "case_opened" and items[-1].obj == past

    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    timeline = page[page.index('id="timeline"'):]
    for text in ("已致电", "排队太久", "续存一年", "300,000"):
        assert text in timeline, text


def test_the_timeline_shows_only_cases_the_user_may_see(bank, case):
    held_out = open_case(bank.customer, opened_on=TODAY - dt.timedelta(days=400), status=CaseStatus.CLOSED_LOST,
                         is_control=True, tasks=False)
    items, _more = customer_timeline(user=bank.owner, customer=bank.customer)
    assert held_out not in [item.obj for item in items if item.kind.startswith("case_")]
    assert case in [item.obj for item in items if item.kind == "case_opened"]


def test_the_timeline_is_bounded_and_offers_more(client, bank, case):
    for i in range(8):
        ContactLogFactory(customer=bank.customer, staff=bank.owner,
                          contacted_at=timezone.now() - dt.timedelta(hours=i))
    items, more = customer_timeline(user=bank.owner, customer=bank.customer, limit=5)
    assert len(items) == 5 and more
    assert [item.kind for item in items] == ["contact"] * 5
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]), timeline=5)
    assert "?timeline=55#timeline" in page.content.decode()
    everything = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]), timeline=500)
    assert "#timeline" not in everything.content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_the_timeline_takes_six_queries_whatever_the_history(bank, case, n, django_assert_num_queries):
    for i in range(n):
        ContactLogFactory(customer=bank.customer, staff=bank.owner)
        SurveyFactory(customer=bank.customer, surveyed_on=TODAY - dt.timedelta(days=i), score=8)
        open_case(bank.customer, opened_on=TODAY - dt.timedelta(days=200 + i), status=CaseStatus.CLOSED_LOST)
    with django_assert_num_queries(6):
        customer_timeline(user=bank.owner, customer=bank.customer)


# --- the 360's rough edges ---------------------------------------------------------------------------


def test_the_score_chart_has_one_point_per_night(client, bank):
    model = ModelVersionFactory()
    for night in range(7):
        ChurnScoreFactory(customer=bank.customer, model_version=model, scored_on=TODAY - dt.timedelta(days=night),
                          probability=0.5 + night / 100)
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    chart = json.loads(page.split('<script id="score-data" type="application/json">')[1].split("</script>")[0])
    assert len(chart["values"]) == 7 and len(set(chart["dates"])) == 7


def test_matured_holdings_are_folded_away_with_their_count(client, bank):
    HoldingFactory(customer=bank.customer, maturity_on=TODAY + dt.timedelta(days=20))
    for days in (5, 40, 90):
        HoldingFactory(customer=bank.customer, maturity_on=TODAY - dt.timedelta(days=days))
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    folded = page[page.index('id="holdings-matured"'):]
    folded = folded[:folded.index("</details>")]
    assert "3 matured holdings" in folded or "3 笔已到期" in folded
    assert folded.count("<tr>") == 1 + 3  # the header and the three matured ones


def test_the_contact_log_note_has_its_own_readable_column(client, bank):
    ContactLogFactory(customer=bank.customer, staff=bank.owner, note="A long note " * 20)
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    assert 'class="grid compact contact-log"' in page and '<td class="note">A long note' in page


def test_a_borrowers_chart_data_carries_the_loan_with_its_axis_title(client, bank, case):
    add_history(bank.customer)
    page = get(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk])).content.decode()
    chart = json.loads(page.split('<script id="aum-data" type="application/json">')[1].split("</script>")[0])
    assert max(chart["loans"]) > 0 and chart["labels_text"]["loans_axis"]
