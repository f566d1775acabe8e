"""web.templatetags.roles: templates ask the same role rules as the views."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template, TemplateSyntaxError

from customers.models import Role
from tests.customers.factories import UserFactory


def _render(text: str, user) -> str:
    return Template("{% load roles %}" + text).render(Context({"user": user}))


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "shown"), [(Role.ANALYST, True), (Role.ADMIN, True), (Role.HEAD, False),
                                             (Role.RM, False)])
def test_the_model_pages_menu_shows_exactly_for_the_roles_the_view_admits(role, shown):
    text = '{% if user|can:"use_model_pages" %}models{% endif %}'
    assert (_render(text, UserFactory(role=role)) == "models") is shown
    assert _render(text, AnonymousUser()) == ""


@pytest.mark.django_db
def test_an_unknown_rule_is_an_error_not_a_silent_no():
    with pytest.raises((KeyError, TemplateSyntaxError)):
        _render('{% if user|can:"fly" %}x{% endif %}', UserFactory())
