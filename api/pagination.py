from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts (the nightly job adds rows while a client
    pages), and no page number to jump to, so no COUNT over a large table."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"
