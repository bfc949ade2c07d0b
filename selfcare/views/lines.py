"""Lines and SIMs: the list (search, filters, sorting, CSV) and the line page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from selfcare.forms_lines import LineFilterForm
from selfcare.models import Line, LineKind, LineStatus, Membership, SimKind
from selfcare.selectors.lines import DEFAULT_LINE_SORT, LINE_SORTS, LineFilters, lines_csv, lines_filtered
from selfcare.views.base import CompanyView

LINES_PER_PAGE = 50


@dataclass(frozen=True)
class Column:
    label: str | Promise
    # The query string that sorts by this column, or "" for a column that does not sort.
    query: str = ""
    aria_sort: str = ""  # "ascending", "descending" or "none" for a sortable column


# The table's columns in order: the sortable ones by their sort key (selectors.lines.LINE_SORTS).
_COLUMNS: list[tuple[str, str | Promise]] = [
    ("number", _("Number")),
    ("offer", _("Offer")),
    ("", _("Kind")),
    ("status", _("Status")),
    ("cost_centre", _("Cost centre")),
    ("", _("Assigned to")),
    ("activated_on", _("Activated on")),
]


def _columns(form: LineFilterForm, filters: LineFilters) -> list[Column]:
    """Each column's header: a sortable one links to ascending order first, then descending."""
    current = filters.ordering if filters.ordering.removeprefix("-") in LINE_SORTS else DEFAULT_LINE_SORT
    columns = []
    for key, label in _COLUMNS:
        if not key:
            columns.append(Column(label))
        elif current == key:
            columns.append(Column(label, form.query(ordering=f"-{key}"), "ascending"))
        elif current == f"-{key}":
            columns.append(Column(label, form.query(ordering=key), "descending"))
        else:
            columns.append(Column(label, form.query(ordering=key), "none"))
    return columns


@dataclass(frozen=True)
class LineRow:
    """What a row of the list shows, worked out once in Python rather than by 50 rows of template lookups."""

    line: Line
    url: str
    kind: str
    status: str
    assigned_to: str
    activated_on: str


def _rows(lines: Iterable[Line]) -> list[LineRow]:
    kinds = {value: str(label) for value, label in LineKind.choices}
    sims = {value: str(label) for value, label in SimKind.choices}
    statuses = {value: str(label) for value, label in LineStatus.choices}
    # Every row's address is the list's own plus the id (selfcare/urls.py): one reverse, not fifty.
    detail_url = reverse("selfcare:line-detail", args=[0]).removesuffix("0/")
    return [
        LineRow(
            line=line,
            url=f"{detail_url}{line.pk}/",
            kind=kinds.get(line.kind, line.kind) + (f" · {sims.get(line.sim, line.sim)}" if line.sim else ""),
            status=statuses.get(line.status, line.status),
            assigned_to=str(line.assigned_to.user) if line.assigned_to else "",
            activated_on=date_format(line.activated_on, "SHORT_DATE_FORMAT") if line.activated_on else "",
        )
        for line in lines
    ]


def lines_csv_response(*, lines: QuerySet[Line]) -> StreamingHttpResponse:
    """The CSV of a list of lines, streamed: the page's export and the API's share it."""
    today = timezone.localdate()
    response = StreamingHttpResponse(lines_csv(lines=lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lines-{today:%Y-%m-%d}.csv"'
    # The list of a company's lines: not for shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


def _filtered(request: HttpRequest, membership: Membership) -> tuple[LineFilterForm, LineFilters]:
    form = LineFilterForm(request.GET, membership=membership)
    return form, form.filters()


class LineListView(CompanyView):
    """The lines the membership may see: search, filters and sorting kept in the query string."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form, filters = _filtered(request, self.membership)
        lines = lines_filtered(membership=self.membership, filters=filters)
        page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
        query = form.query()
        return render(
            request,
            "selfcare/lines/list.html",
            {
                "form": form,
                "filters": filters,
                "page": page,
                "rows": _rows(page),
                "query": query,
                "columns": _columns(form, filters),
                "export_url": reverse("selfcare:line-export") + (f"?{query}" if query else ""),
            },
        )


class LineExportView(CompanyView):
    """The list as filtered on the page, as CSV: every matching line, not just one page."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        _form, filters = _filtered(request, self.membership)
        return lines_csv_response(lines=lines_filtered(membership=self.membership, filters=filters))


class LineDetailView(CompanyView):
    """Everything about one line. Another company's line, or a line user's unassigned one, is 404."""

    tenant_model = Line

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        line: Line = self.object
        return render(request, "selfcare/lines/detail.html", {"line": line})
