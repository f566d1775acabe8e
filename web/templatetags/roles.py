"""The role rules of ``customers.permissions`` for templates: ``{% if user|can:"use_model_pages" %}``,
so a menu shows a page exactly when its view lets the user in."""

from __future__ import annotations

from django import template

from customers.permissions import (
    user_can_hand_over,
    user_can_override_segment,
    user_can_read_branch_figures,
    user_can_reassign_cases,
    user_can_reveal_personal_data,
    user_can_use_model_pages,
    user_gets_digest,
    user_is_admin,
)

register = template.Library()

RULES = {
    "be_admin": user_is_admin,
    "use_model_pages": user_can_use_model_pages,
    "read_branch_figures": user_can_read_branch_figures,
    "override_segment": user_can_override_segment,
    "hand_over": user_can_hand_over,
    "reveal_personal_data": user_can_reveal_personal_data,
    "read_digest": user_gets_digest,
    "reassign_cases": user_can_reassign_cases,
}


@register.filter
def can(user, rule: str) -> bool:
    """Whether ``user`` passes the named rule; an unknown name is an error, not a silent no."""
    return RULES[rule](user)
