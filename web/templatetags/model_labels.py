"""How the analyst pages word a model version's activation, in the reader's language."""

from __future__ import annotations

from django import template

from churn.reasons import version_activation_text

register = template.Library()


@register.filter
def activation_text(version) -> str:
    """Why ``version`` is active or not, in the reader's language."""
    return version_activation_text(version)
