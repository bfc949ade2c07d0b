"""`iso_date`: a date kept as an ISO string in a request's data, as a date for the `date` filter."""

from __future__ import annotations

from datetime import date

from django import template

register = template.Library()


@register.filter
def iso_date(value: object) -> date | object:
    """`"2026-12-08"` → `date(2026, 12, 8)`, so that `|date:"DATE_FORMAT"` writes it in the reader's language.

    Request.data keeps dates as ISO strings (procedures.kinds.base.data_from);
    anything that is not one is returned as it is.
    """
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value
