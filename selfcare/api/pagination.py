"""Pagination of the API's long lists.

Named in REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"], which DRF imports while
defining its generic views: this module must not import them.
"""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    """Cursor pagination on the primary key.

    A cursor, unlike a page number, neither skips nor repeats rows when lines
    are added or removed between two requests, and costs the same on the
    hundredth page as on the first (no OFFSET, no COUNT). The key is the
    primary key because it is unique and never changes: a cursor on a field
    that can change (a status, a cost centre) would lose its place.
    """

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
