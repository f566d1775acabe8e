"""retention.models: the choice lists it shares with the bank data are the bank data's."""

from __future__ import annotations

from customers.models import ContactChannel, Role
from retention.models import OwnerRole, PlaybookStep, Task


def test_owner_roles_are_the_branch_roles_of_staff_with_the_same_values_and_labels():
    assert OwnerRole.choices == [(role.value, role.label) for role in (Role.RM, Role.LOBBY, Role.HEAD)]
    assert OwnerRole.RM == Role.RM and OwnerRole.HEAD.label == Role.HEAD.label
    assert Task._meta.get_field("owner_role").choices == OwnerRole.choices


def test_playbook_steps_and_tasks_take_the_contact_channels():
    for model in (PlaybookStep, Task):
        assert model._meta.get_field("channel").choices == ContactChannel.choices
