"""Reads about lines: the filtered, sorted list that the page, its CSV and the API share.

One selector answers "which lines, in which order" for every caller, so the
page, the CSV it exports and the API can never disagree about what a filter
means or leak a row that another of them would hide.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import DateField, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from selfcare.models import Line, LineKind, LineStatus, Membership, Offer, SimKind
from selfcare.selectors.companies import lines_visible_to

# The sort keys a caller may ask for, and what each sorts by. Anything else is
# ignored: a sort key must never become an arbitrary `order_by` (which would
# let a caller sort, and so probe, by PIN or by another table's columns).
# The first field of each is an attribute of the row (a field or an
# annotation of `line_filters_apply`), because the API's cursor pagination
# keeps its place by that attribute's value; the number breaks ties.
LINE_SORTS: dict[str, tuple[str, ...]] = {
    "number": ("number", "id"),
    "offer": ("offer_name", "number", "id"),
    "status": ("status", "number", "id"),
    "cost_centre": ("cost_centre", "number", "id"),
    "activated_on": ("activation_sort", "number", "id"),
}
DEFAULT_LINE_SORT = "number"
LINE_SORT_CHOICES: list[str] = [f"{sign}{key}" for key in LINE_SORTS for sign in ("", "-")]

# A line never activated sorts first, as the oldest: a cursor cannot keep its
# place on NULL, so the sort key is never NULL.
_NEVER_ACTIVATED = datetime.date(1, 1, 1)
_DIGITS = re.compile(r"\D+")


@dataclass(frozen=True)
class LineFilters:
    """What the caller asked for; empty values filter nothing."""

    search: str = ""
    statuses: tuple[str, ...] = ()
    kind: str = ""
    offer_code: str = ""
    cost_centre: str = ""
    ordering: str = ""

    @property
    def narrows(self) -> bool:
        """Whether any filter (not the ordering) is set: "no line matches" rather than "no lines"."""
        return bool(self.search or self.statuses or self.kind or self.offer_code or self.cost_centre)


def number_search_digits(text: str) -> str:
    """The digits to look for in a number: "+39 333 12" and "0039 333 12" both look for "3933312".

    Numbers are stored in E.164 (`+39…`); a user types part of one with or
    without the country code, with spaces or dashes. "00" is the international
    prefix dialled for "+", so it is not part of the number.
    """
    digits = _DIGITS.sub("", text)
    if text.strip().startswith("00"):
        digits = digits.removeprefix("00")
    return digits


def line_ordering(ordering: str) -> tuple[str, ...]:
    """The `order_by` of a sort key such as "cost_centre" or "-activated_on"; unknown keys sort by number."""
    key = ordering.removeprefix("-")
    if key not in LINE_SORTS:
        return LINE_SORTS[DEFAULT_LINE_SORT]
    fields = LINE_SORTS[key]
    return tuple(f"-{field}" for field in fields) if ordering.startswith("-") else fields


def line_filters_apply(*, lines: QuerySet[Line], filters: LineFilters) -> QuerySet[Line]:
    """Narrow and sort `lines`, already scoped to what a membership may see."""
    digits = number_search_digits(filters.search)
    if digits:
        lines = lines.filter(number__contains=digits)
    if filters.statuses:
        lines = lines.filter(status__in=filters.statuses)
    if filters.kind:
        lines = lines.filter(kind=filters.kind)
    if filters.offer_code:
        lines = lines.filter(offer__code=filters.offer_code)
    if filters.cost_centre:
        lines = lines.filter(cost_centre=filters.cost_centre)
    return (
        lines.select_related("offer", "assigned_to__user")
        # Never read by a list: not decrypted for every row, not held in memory.
        .defer("pin", "puk")
        .annotate(
            offer_name=F("offer__name"),
            activation_sort=Coalesce("activated_on", Value(_NEVER_ACTIVATED), output_field=DateField()),
        )
        .order_by(*line_ordering(filters.ordering))
    )


def lines_filtered(*, membership: Membership, filters: LineFilters) -> QuerySet[Line]:
    """The lines `membership` may see that match `filters`, in the order asked for, with offer and user."""
    return line_filters_apply(lines=lines_visible_to(membership=membership), filters=filters)


def line_filter_offers(*, membership: Membership) -> list[Offer]:
    """The offers of the lines `membership` may see: the offer filter's choices."""
    # A semi-join on the offer ids, not a join and DISTINCT: a company has
    # thousands of lines but a handful of offers.
    offer_ids = lines_visible_to(membership=membership).values("offer_id")
    return list(Offer.objects.filter(pk__in=offer_ids).order_by("name"))


def line_filter_cost_centres(*, membership: Membership) -> list[str]:
    """The cost centres of the lines `membership` may see: the cost centre filter's choices."""
    return list(
        lines_visible_to(membership=membership)
        .exclude(cost_centre="")
        .order_by("cost_centre")
        .values_list("cost_centre", flat=True)
        .distinct()
    )


# ---------------------------------------------------------------------------
# The CSV of a list of lines
# ---------------------------------------------------------------------------
# Spreadsheets run a cell that starts with one of these as a formula; a cost
# centre or an offer name comes from the feed, so it is neutralised. Numbers
# ("+39…") and dates are written by the portal itself and left as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _assignee(line: Line) -> str:
    if line.assigned_to is None:
        return ""
    user = line.assigned_to.user
    return f"{user.name} <{user.email}>" if user.name else user.email


class _Echo:
    """A file-like object whose write returns the line: csv.writer then yields rows one at a time."""

    def write(self, value: str) -> str:
        return value


def lines_csv_header() -> list[str]:
    """The CSV's header, in the active language. Never PIN or PUK: the CSV leaves the portal."""
    return [
        _("Number"),
        _("Kind"),
        _("SIM"),
        _("ICCID"),
        _("Offer"),
        _("Status"),
        _("Cost centre"),
        _("Assigned to"),
        _("Activated on"),
        _("Ceased on"),
    ]


def lines_csv(*, lines: QuerySet[Line]) -> Iterator[str]:
    """The CSV of `lines`, one text line at a time, read from the database in chunks.

    The header and the labels are translated now, in the request's language:
    the rows are produced later, while the response streams.
    """
    header = lines_csv_header()
    labels = {
        "kind": {value: str(label) for value, label in LineKind.choices},
        "sim": {value: str(label) for value, label in SimKind.choices},
        "status": {value: str(label) for value, label in LineStatus.choices},
    }

    def rows() -> Iterable[list[str]]:
        yield header
        for line in lines.iterator(chunk_size=1000):
            yield [
                line.number,
                labels["kind"].get(line.kind, line.kind),
                labels["sim"].get(line.sim, line.sim),
                line.iccid,
                _text_cell(line.offer.name),
                labels["status"].get(line.status, line.status),
                _text_cell(line.cost_centre),
                _text_cell(_assignee(line)),
                line.activated_on.isoformat() if line.activated_on else "",
                line.ceased_on.isoformat() if line.ceased_on else "",
            ]

    writer = csv.writer(_Echo())
    return (writer.writerow(row) for row in rows())
