"""How the analyst pages word a model version's activation, in the reader's language."""

from __future__ import annotations

from django import template

from churn.reasons import algorithm_label, evaluation_method_sentence, model_kind_label, version_activation_text

register = template.Library()


@register.filter
def activation_text(version) -> str:
    """Why ``version`` is active or not, in the reader's language."""
    return version_activation_text(version)


@register.filter
def evaluation_method_text(version) -> str:
    """How ``version`` was evaluated: on a later period, or on held-out customers (say so)."""
    return evaluation_method_sentence((version.metrics or {}).get("evaluation_method"))


@register.filter
def scoring_model_label(version) -> str:
    """Which model scores for ``version``: the gradient-boosted one or a baseline that beat it."""
    kind = (version.metrics or {}).get("champion")
    if not kind:  # versions trained before the champion was recorded: read the algorithm
        algorithm = (version.algorithm or "").lower()
        kind = ("logistic_regression" if "logistic" in algorithm
                else "rule_aum_drop_30pct_3m" if algorithm.startswith("rule") else "gradient_boosting")
    return model_kind_label(kind)


@register.filter
def algorithm_text(version) -> str:
    """The version's algorithm in the reader's language (stored in English by the training)."""
    return algorithm_label(version.algorithm)
