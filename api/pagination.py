from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts (the nightly job adds rows while a client
    pages), and no page number to jump to, so no COUNT over a large table."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"

    def decode_cursor(self, request):
        # A cursor that does not decode is bad input (400), not a missing resource (DRF says 404).
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": [self.invalid_cursor_message]}) from None
