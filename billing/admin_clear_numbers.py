"""The admin of the grants of numbers in clear: read-only, each linked to the request it came from.

A request for numbers in clear is a request of the procedures
(procedures.kinds.clear_numbers): staff review, approve and reject it in the
requests' work queue, which calls billing.clear_numbers' services. This admin
only shows the grants the traffic downloads read, and links each to its
request. Registered in billing.admin.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.models import ClearNumbersRequest
from procedures.kinds.clear_numbers import clear_numbers_procedure_of
from selfcare.admin_base import ReadOnlyModelAdmin

_FIELDS = (
    "company",
    "procedure",
    "requested_by",
    "requested_at",
    "line_numbers",
    "period_start",
    "period_end",
    "users_informed",
    "status",
    "decided_by",
    "decided_at",
    "rejection_reason",
)


class ClearNumbersRequestAdmin(ReadOnlyModelAdmin[ClearNumbersRequest]):
    # The grant is what the downloads read; it changes only through the request's review.
    """Grants of numbers in clear: read-only; decided through the procedures' request."""

    list_display = [
        "company",
        "period_start",
        "period_end",
        "line_count",
        "requested_by",
        "requested_at",
        "status",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status", ("company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["company__name"]
    list_select_related = ["company", "requested_by", "decided_by"]
    date_hierarchy = "requested_at"
    fields = _FIELDS
    readonly_fields = _FIELDS
    actions = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClearNumbersRequest]:
        return super().get_queryset(request).prefetch_related("lines")

    @admin.display(description=_("lines"))
    def line_count(self, asked: ClearNumbersRequest) -> int:
        return len(asked.lines.all())

    @admin.display(description=_("lines"))
    def line_numbers(self, asked: ClearNumbersRequest) -> str:
        return ", ".join(sorted(line.number for line in asked.lines.all()))

    @admin.display(description=_("request"))
    def procedure(self, asked: ClearNumbersRequest) -> str:
        """The procedures' request to review, approve or reject (none for a grant asked before them)."""
        procedure = clear_numbers_procedure_of(asked)
        if procedure is None:
            return "—"
        try:
            url = reverse("admin:procedures_request_change", args=[procedure.pk])
        except NoReverseMatch:  # the requests' work queue not registered in this admin site
            return procedure.reference
        return format_html('<a href="{}">{}</a>', url, procedure.reference)
