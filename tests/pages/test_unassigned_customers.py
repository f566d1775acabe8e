"""A customer not assigned to an RM (customers.csv left rm_code empty): the branch's
lobby manager and head see them, no RM does, not even one of the same branch; pages
say "unassigned" rather than "None"; the lobby hands such a walk-in over to the head."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import ContactLog
from retention.models import Case
from tests.pages.conftest import open_case, score
from tests.retention.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NAME = "王无主"


def get(client, user, url, language="en", **params):
    client.force_login(user)
    return client.get(url, params, headers={"Accept-Language": language})


def post(client, user, url, data=None):
    client.force_login(user)
    return client.post(url, data or {}, headers={"HX-Request": "true", "Accept-Language": "en"})


@pytest.fixture
def unassigned(bank):
    """An at-risk customer of the owner RM's branch whom no RM has (and no opening date)."""
    customer = CustomerFactory(customer_id="C000009", name=NAME, branch=bank.branch, rm=None, opened_on=None,
                               phone="13800009999", id_number="310101199001019999")
    score(customer)
    open_case(customer)
    return customer


def test_no_rm_sees_an_unassigned_customer_of_their_branch_the_branch_does(client, bank, unassigned):
    detail = reverse("customers:detail", args=[unassigned.pk])
    lookup = reverse("customers:walkin_results")
    cases = reverse("retention:case_list")
    for user in (bank.owner, bank.colleague, bank.other_head):
        assert get(client, user, detail).status_code == 404, user
        assert NAME not in post(client, user, lookup, {"q": "王无"}).content.decode(), user
        assert NAME not in get(client, user, cases).content.decode(), user
    for user in (bank.lobby, bank.head):
        assert get(client, user, detail).status_code == 200, user
        assert NAME in post(client, user, lookup, {"q": "王无"}).content.decode(), user
    # The case went to the head, with the RM's tasks, and is on the head's list.
    case = Case.objects.get(customer=unassigned)
    assert case.owner == bank.head
    assert set(case.tasks.filter(owner_role="rm").values_list("owner", flat=True)) == {bank.head.pk}
    assert NAME in get(client, bank.head, cases).content.decode()


def test_customer_360_says_unassigned_instead_of_none(client, bank, unassigned):
    url = reverse("customers:detail", args=[unassigned.pk])

    english = get(client, bank.head, url).content.decode()
    chinese = get(client, bank.head, url, language="zh-hans").content.decode()

    assert "RM: <span class=\"muted\">unassigned</span>" in english
    assert "未分配" in chinese
    assert "None" not in english and "customer since" not in english


def test_walk_in_lookup_hands_an_unassigned_customer_over_to_the_branch_head(client, bank, unassigned):
    page = post(client, bank.lobby, reverse("customers:walkin_results"), {"q": "王无"}).content.decode()

    assert "No relationship manager assigned" in page
    assert "Hand over to the branch head" in page and str(bank.head) in page
    assert "Hand over to branch head" in page and "None" not in page

    response = post(client, bank.lobby, reverse("customers:handover", args=[unassigned.pk]), {"note": "wants a loan"})

    assert response.status_code == 200
    assert f"handed over to the branch head, {bank.head}" in response.content.decode()
    contact = ContactLog.objects.get(customer=unassigned)
    assert f"to the branch head {bank.head} (the customer has no RM): wants a loan" in contact.note


def test_a_walk_in_without_rm_or_branch_head_is_not_handed_over(client, bank, unassigned):
    bank.head.is_active = False
    bank.head.save()

    page = post(client, bank.lobby, reverse("customers:walkin_results"), {"q": "王无"}).content.decode()

    assert "The branch has no head to hand over to." in page
    assert reverse("customers:handover", args=[unassigned.pk]) not in page
    response = post(client, bank.lobby, reverse("customers:handover", args=[unassigned.pk]), {"note": "hi"})
    assert response.status_code == 200 and "Not handed over" in response.content.decode()
    assert not ContactLog.objects.filter(customer=unassigned).exists()


def test_an_assigned_customer_is_still_handed_over_to_their_rm(client, bank, case):
    page = post(client, bank.lobby, reverse("customers:walkin_results"), {"q": "王小"}).content.decode()

    assert "Hand over to RM" in page and str(bank.owner) in page
    assert "No relationship manager assigned" not in page
    response = post(client, bank.lobby, reverse("customers:handover", args=[bank.customer.pk]), {"note": "x"})
    assert f"Handed over to {bank.owner}" in response.content.decode()
