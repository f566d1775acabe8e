"""Amounts for people at a bank counter: CNY with a comma every three digits.

Django's zh-hans locale has no thousands separator (and groups by four when forced),
but Chinese banks print amounts as 1,234,567.89, so both languages use that here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def _grouped(value, decimals: int) -> str:
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number:,.{decimals}f}"


@register.filter
def cny(value, decimals: int = 0) -> str:
    """``1234567.8|cny`` -> ``1,234,568``; ``|cny:2`` keeps the fen."""
    return _grouped(value, int(decimals))


@register.filter
def thousands(value) -> str:
    """A count with a comma every three digits: ``12345|thousands`` -> ``12,345``."""
    return _grouped(value, 0)
