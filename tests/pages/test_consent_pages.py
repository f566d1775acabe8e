"""Contact preferences on the customer 360 (set and cleared by the owner RM, the branch's
lobby manager and head; a colleague RM and an outsider get a 404), and a blocked case as
the pages and the API show it: the reason instead of the contact form, at the end of the
RM's list, out of today's budget."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from customers.models import ContactConsent
from tests.pages.conftest import TODAY, open_case, score
from tests.retention.factories import CustomerFactory

pytestmark = pytest.mark.django_db

REASON_EN = "The customer asked not to be contacted: phone call (2024-05-10, 本人致电)"
REASON_ZH = "客户要求不接受电话联系（2024-05-10，本人致电）"


def post_consent(client, user, customer, *, htmx: bool = True, **data):
    client.force_login(user)
    fields = {"channel": "call", "do_not_contact": "1", "reason": "本人致电", "effective_on": "2024-05-10", **data}
    headers = {"Accept-Language": "en", **({"HX-Request": "true"} if htmx else {})}
    return client.post(reverse("customers:consent", args=[customer.pk]),
                       {f"consent-{key}": value for key, value in fields.items()}, headers=headers)


def page_of(client, user, url, language="en") -> str:
    client.force_login(user)
    response = client.get(url, headers={"Accept-Language": language})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def calls_only(bank):
    """A case whose every task is a call: the tier-downgrade playbook's two calls."""
    score(bank.customer)
    return open_case(bank.customer, signals=("tier_downgrade",), priority=50_000.0)


@pytest.mark.parametrize("who", ["owner", "lobby", "head"])
def test_the_owner_and_the_branch_record_a_do_not_contact_request_on_the_360(client, bank, calls_only, who):
    response = post_consent(client, getattr(bank, who), bank.customer)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="consents"' in html and "Do not contact" in html and "本人致电" in html
    consent = ContactConsent.objects.get(customer=bank.customer)
    assert (consent.channel, consent.do_not_contact, consent.set_by) == ("call", True, getattr(bank, who))
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE, customer=bank.customer,
                                     detail__field="contact_consent").count() == 1


@pytest.mark.parametrize("who", ["colleague", "outsider", "other_head", "analyst"])
def test_a_colleague_an_outsider_and_the_other_branch_get_a_404_and_change_nothing(client, bank, calls_only, who):
    response = post_consent(client, getattr(bank, who), bank.customer)

    assert response.status_code == 404
    assert not ContactConsent.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=getattr(bank, who)).exists()


def test_a_request_without_a_reason_is_refused_on_the_card(client, bank, calls_only):
    response = post_consent(client, bank.owner, bank.customer, reason="")

    assert response.status_code == 422
    assert "Say why the customer does not want to be contacted." in response.content.decode()
    assert not ContactConsent.objects.exists()


def test_the_answer_brings_the_case_with_its_reason_instead_of_the_contact_form(client, bank, calls_only):
    html = post_consent(client, bank.owner, bank.customer).content.decode()

    cases = html.split('<section id="cases" hx-swap-oob="true">', 1)[1]
    assert REASON_EN in cases and "Not to be contacted now" in cases
    assert reverse("retention:case_contact", args=[calls_only.pk]) not in cases


def test_clearing_the_request_brings_the_contact_form_back(client, bank, calls_only):
    post_consent(client, bank.owner, bank.customer)

    html = post_consent(client, bank.head, bank.customer, do_not_contact="0", reason="",
                        effective_on=TODAY.isoformat()).content.decode()

    assert ContactConsent.objects.get(customer=bank.customer).do_not_contact is False
    assert "No do-not-contact request" in html and REASON_EN not in html
    assert reverse("retention:case_contact", args=[calls_only.pk]) in html


def test_a_plain_form_post_goes_back_to_the_360(client, bank, calls_only):
    response = post_consent(client, bank.owner, bank.customer, htmx=False)

    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[bank.customer.pk]) + "#consents"


@pytest.mark.parametrize("language, reason", [("en", REASON_EN), ("zh-hans", REASON_ZH)])
def test_the_360_shows_the_card_and_the_case_with_why_it_cannot_be_called(client, bank, calls_only, language,
                                                                          reason):
    post_consent(client, bank.owner, bank.customer)

    html = page_of(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]), language)

    assert html.count('id="consents"') == 1
    card = html.split(f'id="case-{calls_only.pk}"', 1)[1].split("</article>", 1)[0]
    assert reason in card
    assert reverse("retention:case_contact", args=[calls_only.pk]) not in card


def test_a_case_with_a_task_on_another_channel_keeps_its_contact_form(client, bank):
    score(bank.customer)
    case = open_case(bank.customer)  # the product segment's playbook: calls, a visit, a message
    post_consent(client, bank.owner, bank.customer)

    html = page_of(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]))

    assert reverse("retention:case_contact", args=[case.pk]) in html
    assert "Not to be contacted now" not in html


def test_the_rm_list_shows_the_blocked_case_last_with_its_reason_and_out_of_the_budget(client, bank, calls_only,
                                                                                     settings):
    settings.RETENTION_DAILY_BUDGET = 5
    others = [open_case(CustomerFactory(customer_id=f"L{i}", branch=bank.branch, rm=bank.owner),
                        priority=1_000.0 - i) for i in range(2)]
    post_consent(client, bank.owner, bank.customer)

    html = page_of(client, bank.owner, reverse("retention:case_list"))

    rows = html.split('id="row-')[1:]
    assert [int(row.split('"', 1)[0]) for row in rows] == [others[0].pk, others[1].pk, calls_only.pk]
    assert REASON_EN in rows[2] and REASON_EN not in rows[0]
    assert html.count('<tr class="budget"') == 2


def test_the_api_gives_the_reason_in_the_case_representation(client, bank, calls_only):
    other = open_case(CustomerFactory(customer_id="L9", branch=bank.branch, rm=bank.owner), priority=10.0)
    post_consent(client, bank.owner, bank.customer)
    client.force_login(bank.owner)

    listed = client.get(reverse("api:case_list"), headers={"Accept-Language": "en"}).json()["results"]
    detail = client.get(reverse("api:case_detail", args=[calls_only.pk]),
                        headers={"Accept-Language": "zh-hans"}).json()

    reasons = {row["id"]: row["contact_blocked_reason"] for row in listed}
    assert reasons == {calls_only.pk: REASON_EN, other.pk: ""}
    assert detail["contact_blocked_reason"] == REASON_ZH


def test_logging_a_call_on_the_blocked_case_is_refused_on_the_card(client, bank, calls_only):
    post_consent(client, bank.owner, bank.customer)
    client.force_login(bank.owner)

    response = client.post(reverse("retention:case_contact", args=[calls_only.pk]),
                           {"channel": "call", "result": "reached"},
                           headers={"HX-Request": "true", "Accept-Language": "en"})

    assert response.status_code == 422
    assert REASON_EN in response.content.decode()
    assert not calls_only.customer.contacts.exists()


def test_the_cap_is_shown_with_the_next_possible_day(client, bank, calls_only):
    from customers.models import ContactLog

    for days_ago in (1, 3):
        ContactLog.objects.create(customer=bank.customer, staff=bank.owner, channel="call", result="no_answer",
                                  contacted_at=dt.datetime(2024, 5, 15 - days_ago, 10, tzinfo=dt.UTC))

    html = page_of(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]))

    assert "2 contacts in the last 7 days: next possible on 05-19" in html


def test_the_request_form_offers_today_in_the_date_inputs_format_in_both_languages(client, bank, calls_only):
    for language in ("en", "zh-hans"):
        html = page_of(client, bank.owner, reverse("customers:detail", args=[bank.customer.pk]), language)

        assert 'name="consent-effective_on" value="2024-05-15"' in html
