"""Keyset paging for the pages' long lists: the next page is the rows after the last one shown,
in the list's order (its sort key, then the primary key), found by index; no page number to
jump to, so no COUNT over a whole branch per request.

A list names its order as ``Key``\\s. The cursor in the URL (``?after=…``) is the last row's
values of those keys, JSON in URL-safe base64: it says nothing a reader of the page does not
see, and a cursor that does not decode is the first page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy

CURSOR_PARAM = "after"


@dataclass(frozen=True)
class Key:
    """One sort key: a field path, descending or not, and for a nullable field where its
    nulls sort (``nulls_first``; None: the field is never null)."""

    field: str
    descending: bool = False
    nulls_first: bool | None = None

    def order_by(self) -> OrderBy:
        expression = F(self.field)
        if self.nulls_first is None:
            return expression.desc() if self.descending else expression.asc()
        where = {"nulls_first": True} if self.nulls_first else {"nulls_last": True}
        return expression.desc(**where) if self.descending else expression.asc(**where)

    def value_of(self, row: Any) -> Any:
        value = row
        for part in self.field.split("__"):
            value = getattr(value, part if part != "pk" else "pk")
        return value

    def equal(self, value: Any) -> Q:
        return Q(**{f"{self.field}__isnull": True}) if value is None else Q(**{self.field: value})

    def after(self, value: Any) -> Q | None:
        """The rows that sort after ``value`` on this key alone (None: no row does)."""
        if value is None:
            # Nulls first: every non-null value comes after; nulls last: nothing does.
            return Q(**{f"{self.field}__isnull": False}) if self.nulls_first else None
        beyond = Q(**{f"{self.field}__{'lt' if self.descending else 'gt'}": value})
        if self.nulls_first is False:
            beyond |= Q(**{f"{self.field}__isnull": True})
        return beyond


@dataclass
class KeysetPage:
    """One page of a keyset-paged list, for ``_pager.html``: its rows, whether more follow
    and the cursor of the next page, and whether it is the first."""

    object_list: list
    has_next: bool
    next_cursor: str | None
    is_first: bool
    is_keyset: bool = True

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def _encode(values: list[Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if hasattr(value, "as_tuple"):  # Decimal
            return str(value)
        return value

    raw = json.dumps([plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None, size: int) -> list[Any] | None:
    if not cursor or len(cursor) > 400:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != size:
        return None
    if not all(v is None or isinstance(v, bool | int | float | str) for v in values):
        return None
    return values


def _typed(model: Any, keys: list[Key], values: list[Any] | None) -> list[Any] | None:
    """The cursor's values as the fields' own types; None if any is not one (the first page)."""
    if values is None:
        return None
    typed: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        field: Any = None
        current = model
        for part in key.field.split("__"):
            field = current._meta.pk if part == "pk" else current._meta.get_field(part)
            current = field.related_model or current
        if value is None:
            if key.nulls_first is None:
                return None
            typed.append(None)
            continue
        try:
            converted = field.to_python(value)
        except (ValidationError, ValueError, TypeError, OverflowError):
            return None
        if isinstance(converted, float) and not math.isfinite(converted):
            return None
        if isinstance(converted, int) and not isinstance(converted, bool) and not 0 <= converted <= 2**62:
            return None
        typed.append(converted)
    return typed


def keyset_filter(keys: list[Key], values: list[Any]) -> Q:
    """The rows after ``values`` in the order of ``keys``: lexicographically, key by key."""
    condition = Q(pk__in=[])
    equal_so_far = Q()
    for key, value in zip(keys, values, strict=True):
        after = key.after(value)
        if after is not None:
            condition |= equal_so_far & after
        equal_so_far &= key.equal(value)
    return condition


def keyset_page(queryset: QuerySet, *, keys: list[Key], cursor: str | None, size: int) -> KeysetPage:
    """The page of ``queryset`` after ``cursor`` (None or unreadable: the first), in the order
    of ``keys`` (the last one unique, the primary key). One query: ``size`` + 1 rows."""
    values = _typed(queryset.model, keys, _decode(cursor, len(keys)))
    rows = queryset.order_by(*(key.order_by() for key in keys))
    if values is not None:
        rows = rows.filter(keyset_filter(keys, values))
    fetched = list(rows[: size + 1])
    shown = fetched[:size]
    has_next = len(fetched) > size
    next_cursor = _encode([key.value_of(shown[-1]) for key in keys]) if has_next and shown else None
    return KeysetPage(object_list=shown, has_next=has_next, next_cursor=next_cursor, is_first=values is None)
