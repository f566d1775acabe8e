"""customers.permissions: the role rules the pages and the API both ask."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from customers.models import Role
from customers.permissions import (
    user_can_hand_over,
    user_can_override_segment,
    user_can_read_branch_figures,
    user_can_reveal_personal_data,
    user_can_use_model_pages,
    user_is_admin,
)
from tests.customers.factories import UserFactory

WHO = ["rm", "lobby", "head", "analyst", "admin", "superuser", "inactive_admin", "anonymous"]

# predicate -> who may
ALLOWED = {
    user_is_admin: {"admin", "superuser"},
    user_can_use_model_pages: {"analyst", "admin", "superuser"},
    user_can_read_branch_figures: {"head", "analyst", "admin", "superuser"},
    user_can_override_segment: {"rm", "head", "admin", "superuser"},
    user_can_hand_over: {"lobby", "head", "superuser"},
}


def _user(who: str):
    if who == "anonymous":
        return AnonymousUser()
    if who == "superuser":
        # A superuser without a staff role of their own.
        return UserFactory(username=who, role=Role.RM, is_superuser=True, branch=None)
    if who == "inactive_admin":
        return UserFactory(username=who, role=Role.ADMIN, is_active=False, branch=None)
    return UserFactory(username=who, role=who)


@pytest.mark.django_db
@pytest.mark.parametrize("predicate", list(ALLOWED), ids=lambda p: p.__name__)
@pytest.mark.parametrize("who", WHO)
def test_each_role_rule_allows_exactly_its_roles(predicate, who):
    assert predicate(_user(who)) is (who in ALLOWED[predicate])


@pytest.mark.django_db
def test_revealing_personal_data_is_granted_by_permission_not_by_role():
    head, granted = UserFactory(username="a_head", role=Role.HEAD), UserFactory(username="granted", role=Role.RM)
    granted.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    granted = type(granted).objects.get(pk=granted.pk)  # a fresh object: permissions are cached per instance

    assert not user_can_reveal_personal_data(head)
    assert user_can_reveal_personal_data(granted)
    assert user_can_reveal_personal_data(_user("superuser"))
    assert not user_can_reveal_personal_data(AnonymousUser())
