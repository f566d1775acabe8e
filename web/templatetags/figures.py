"""Rates and intervals of the retention figures: ``{{ rate|percent }}`` -> ``61.3%``,
``{{ interval|points }}`` -> ``+5.2 [+1.1, +9.3]`` (percentage points). Missing -> an em dash."""

from __future__ import annotations

from django import template

register = template.Library()

DASH = "—"


@register.filter
def percent(value) -> str:
    """A share in [0, 1] as a percentage with one decimal."""
    if value is None or value == "":
        return DASH
    return f"{float(value) * 100:.1f}%"


@register.filter
def points(interval) -> str:
    """A difference of two shares with its interval, in percentage points."""
    if interval is None:
        return DASH
    return f"{interval.estimate * 100:+.1f} [{interval.low * 100:+.1f}, {interval.high * 100:+.1f}]"
