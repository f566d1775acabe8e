"""How the analyst pages word a model version's activation, in the reader's language."""

from __future__ import annotations

from django import template

from churn.reasons import activation_sentence

register = template.Library()


@register.filter
def activation_text(version) -> str:
    """Why ``version`` is active or not, from the decision training recorded in its metrics;
    versions trained before that was recorded keep their note."""
    decision = (version.metrics or {}).get("activation")
    return activation_sentence(decision) if decision else version.activation_note
