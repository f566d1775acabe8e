"""The bulk writers' access to a model's concrete columns (core.fields)."""

from __future__ import annotations

import pytest
from django.db import connection

from core.fields import column_name, column_type, concrete_field
from customers.models import Branch, Customer, MonthlyBalance, User


def test_a_foreign_key_is_written_to_its_id_column():
    assert column_name(MonthlyBalance, "customer") == "customer_id"
    assert column_name(Customer, "customer_id") == "customer_id"


def test_a_reverse_relation_is_refused_because_it_has_no_column():
    with pytest.raises(TypeError, match="Customer.balances has no column in its table"):
        concrete_field(Customer, "balances")


def test_a_many_to_many_is_refused_because_its_rows_live_in_another_table():
    with pytest.raises(TypeError, match="User.groups has no column in its table"):
        concrete_field(User, "groups")


def test_a_text_column_has_its_length_in_its_type():
    field = concrete_field(Branch, "code")
    assert column_type(field, connection) == f"varchar({field.max_length})"
