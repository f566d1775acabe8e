from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts (the nightly job adds rows while a client
    pages), and no page number to jump to, so no COUNT over a large table."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering: str | tuple[str, ...] = "-pk"

    def decode_cursor(self, request):
        # A cursor that does not decode is bad input (400), not a missing resource (DRF says 404).
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": [self.invalid_cursor_message]}) from None

    def paginate_queryset(self, queryset, request, view=None) -> list[Any]:
        # A cursor decodes to any text a client cares to encode ("p=notadate", "p=1e4000"); the
        # ordering field refuses it only when the query is built or run. Bad input, not a 500.
        try:
            page = super().paginate_queryset(queryset, request, view=view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError, DataError):
            raise ValidationError({"cursor": [self.invalid_cursor_message]}) from None
        # Every page here has a size, so DRF's None (pagination switched off) never comes back.
        assert page is not None
        return page
