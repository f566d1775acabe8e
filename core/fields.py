"""A model's concrete columns by field name, for the code that writes SQL by hand.

`Model._meta.get_field` may return a reverse relation, a many-to-many or a generic foreign
key, none of which has a column in the model's table; the bulk writers always name fields
that do, and say so here once instead of narrowing at each call.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


def concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The field ``name`` of ``model``, which has a column in the model's table."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field not in model._meta.concrete_fields:
        raise TypeError(f"{model.__name__}.{name} has no column in its table")
    return field


def column_name(model: type[models.Model], name: str) -> str:
    return field_column(concrete_field(model, name))


def field_column(field: models.Field[Any, Any]) -> str:
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column


def column_type(field: models.Field[Any, Any], connection: BaseDatabaseWrapper) -> str:
    sql_type = field.db_type(connection)
    if sql_type is None:
        raise TypeError(f"{field} has no column type")
    return sql_type
