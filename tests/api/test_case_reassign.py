"""POST /api/v1/cases/reassign/: the head's bulk reassign through the API — owner, colleague,
outsider, the lobby and the head of another branch refused; the history kept."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import Role
from retention.models import Case, CaseEvent, Task
from tests.api.conftest import PASSWORD, _user

pytestmark = pytest.mark.django_db

URL = reverse("api:case_reassign")


def _post(world, role, payload):
    return world.client(role).post(URL, payload, content_type="application/json")


def test_the_head_reassigns_the_owners_and_the_colleagues_cases_in_one_call(world):
    own, colleague = world.cases["own"], world.cases["colleague"]
    target = world.users["rm_colleague"]

    response = _post(world, "head", {"cases": [own.pk, colleague.pk], "to": target.pk})

    assert response.status_code == 200
    body = response.json()
    assert body["moved"] == [own.pk] and body["unchanged"] == [colleague.pk]
    assert body["to"]["id"] == target.pk and body["tasks_moved"] == 1
    own.refresh_from_db()
    assert own.owner == target and own.customer.rm == target
    assert Task.objects.get(pk=world.tasks["own"].pk).owner == target
    event = own.events.get(action=CaseEvent.Action.REASSIGNED)
    assert event.data["owner_before"] == world.users["rm_owner"].pk and event.data["by"] == world.users["head"].pk


@pytest.mark.parametrize("role", ["rm_owner", "rm_colleague", "rm_outsider", "lobby", "analyst"])
def test_anyone_but_the_head_and_an_administrator_is_refused_with_403(world, role):
    response = _post(world, role, {"cases": [world.cases["own"].pk], "to": world.users["rm_colleague"].pk})

    assert response.status_code == 403
    assert Case.objects.get(pk=world.cases["own"].pk).owner == world.users["rm_owner"]


def test_the_head_of_another_branch_gets_404_for_this_branchs_case(world):
    _user("head_bj", world.other_branch, Role.HEAD)
    client = world.client("anonymous")
    client.login(username="head_bj", password=PASSWORD)

    response = client.post(URL, {"cases": [world.cases["own"].pk], "to": world.users["rm_outsider"].pk},
                           content_type="application/json")

    assert response.status_code == 404
    assert Case.objects.get(pk=world.cases["own"].pk).owner == world.users["rm_owner"]


def test_the_head_cannot_reach_another_branchs_case(world):
    response = _post(world, "head", {"cases": [world.cases["other"].pk], "to": world.users["rm_colleague"].pk})

    assert response.status_code == 404


@pytest.mark.parametrize("target", ["rm_outsider", "lobby", "head"])
def test_a_target_who_is_not_an_rm_of_the_branch_is_refused_with_400(world, target):
    response = _post(world, "head", {"cases": [world.cases["own"].pk], "to": world.users[target].pk})

    assert response.status_code == 400
    assert Case.objects.get(pk=world.cases["own"].pk).owner == world.users["rm_owner"]


def test_an_unknown_target_or_no_case_is_refused_with_400(world):
    assert _post(world, "head", {"cases": [world.cases["own"].pk], "to": 999_999}).status_code == 400
    assert _post(world, "head", {"cases": [], "to": world.users["rm_colleague"].pk}).status_code == 400


def test_an_administrator_reassigns_in_any_branch(world):
    other_rm = _user("rm_bj2", world.other_branch, Role.RM)

    response = _post(world, "admin", {"cases": [world.cases["other"].pk], "to": other_rm.pk})

    assert response.status_code == 200 and response.json()["moved"] == [world.cases["other"].pk]
