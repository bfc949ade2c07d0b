"""Pagination of the API's long lists.

Named in REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"], which DRF imports while
defining its generic views: this module must not import them.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, _positive_int


class StableCursorPagination(CursorPagination):
    """Cursor pagination on the primary key.

    A cursor, unlike a page number, neither skips nor repeats rows when lines
    are added or removed between two requests, and costs the same on the
    hundredth page as on the first (no OFFSET, no COUNT). The key is the
    primary key because it is unique and never changes: a cursor on a field
    that can change (a status, a cost centre) would lose its place.
    """

    ordering: str | tuple[str, ...] = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Any) -> int:
        """The page size asked for, capped; one that is not a positive whole number is refused.

        DRF would fall back to the default size without a word: a client that
        sent `page_size=0.5` would read a page of another size than it asked for,
        and the schema says the parameter is an integer.
        """
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        try:
            return _positive_int(value, strict=True, cutoff=self.max_page_size)
        except ValueError:
            raise ValidationError(
                {self.page_size_query_param: [_("Enter a whole number above zero.")]}
            ) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters
