"""Reaching a customer from any page: ``{% if user|can_reach:customer %}`` (the phone rule of
``customers.permissions``) and ``{{ customer.phone|masked }}``."""

from __future__ import annotations

from django import template

from customers.masking import mask
from customers.models import Customer
from customers.permissions import user_can_reach_customer

register = template.Library()


@register.filter
def can_reach(user, customer: Customer) -> bool:
    """Whether ``user`` may reveal ``customer``'s phone number to call them."""
    return user_can_reach_customer(user, customer)


@register.filter
def masked(value: str) -> str:
    return mask(value)
