"""The API of lines: the list (search, filters, ordering), one line, and the list as CSV.

Search, filters and ordering mean what they mean on the portal's line page:
both go through selfcare.selectors.lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import django_filters
from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.filters import BaseFilterBackend
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from selfcare.api.base import TenantAPIMixin
from selfcare.api.companies import CompanyUserSerializer
from selfcare.api.renderers import CSVRenderer
from selfcare.forms_lines import SEARCH_MAX_LENGTH, NumberSearchField
from selfcare.models import Line, LineKind, LineStatus, Offer
from selfcare.selectors.lines import LINE_SORT_CHOICES, LineFilters, line_filters_apply, line_ordering
from selfcare.views.lines import lines_csv_response

if TYPE_CHECKING:
    from rest_framework.views import APIView

_M = TypeVar("_M", bound=Model)
_R = TypeVar("_R")


class OfferSerializer(serializers.ModelSerializer[Offer]):
    class Meta:
        model = Offer
        fields = ["code", "name", "payment"]


class LineSerializer(serializers.ModelSerializer[Line]):
    offer = OfferSerializer(read_only=True)
    assigned_to = CompanyUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Line
        fields = [
            "id",
            "number",
            "kind",
            "sim",
            "iccid",
            "offer",
            "cost_centre",
            "status",
            "activated_on",
            "ceased_on",
            "assigned_to",
        ]


# ---------------------------------------------------------------------------
# Filters and ordering
# ---------------------------------------------------------------------------
class NumberSearchFilter(django_filters.CharFilter):
    field_class = NumberSearchField


class LineFilter(django_filters.FilterSet):
    search = NumberSearchFilter(
        max_length=SEARCH_MAX_LENGTH,
        help_text=_('Part of the number: digits, with or without +39 ("333 12", "+39333").'),
    )
    status = django_filters.MultipleChoiceFilter(choices=LineStatus.choices, help_text=_("Repeatable."))
    kind = django_filters.ChoiceFilter(choices=LineKind.choices)
    offer = django_filters.CharFilter(field_name="offer__code", help_text=_("The offer's code."))
    cost_centre = django_filters.CharFilter()

    class Meta:
        model = Line
        fields = ["search", "status", "kind", "offer", "cost_centre"]

    def filter_queryset(self, queryset: QuerySet[Line]) -> QuerySet[Line]:
        # The declared filters document and validate the parameters; the
        # selector applies them, exactly as for the portal's page.
        data = self.form.cleaned_data
        filters = LineFilters(
            search=data.get("search") or "",
            statuses=tuple(data.get("status") or ()),
            kind=data.get("kind") or "",
            offer_code=data.get("offer") or "",
            cost_centre=data.get("cost_centre") or "",
        )
        return line_filters_apply(lines=queryset, filters=filters)


class LineOrderingFilter(BaseFilterBackend):
    """`ordering`: one of the line sort keys (selectors.lines.LINE_SORTS), "-" for descending.

    It answers the cursor pagination's `get_ordering`, so the cursor keeps its
    place in the order asked for. Without it (or with an unknown key, which is
    ignored) a list keeps the pagination's own stable order, by id.
    """

    ordering_param = "ordering"

    def get_ordering(
        self, request: Request, queryset: QuerySet[Any, Any], view: APIView
    ) -> tuple[str, ...] | None:
        ordering = request.query_params.get(self.ordering_param, "")
        return line_ordering(ordering) if ordering in LINE_SORT_CHOICES else None

    def filter_queryset(
        self, request: Request, queryset: QuerySet[_M, _R], view: APIView
    ) -> QuerySet[_M, _R]:
        ordering = self.get_ordering(request, queryset, view)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": str(
                    _(
                        "Sort by number, offer, status, cost centre or activation date; prefix with - to reverse."
                    )
                ),
                "schema": {"type": "string", "enum": LINE_SORT_CHOICES},
            }
        ]


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------
class LineViewSet(TenantAPIMixin[Line], viewsets.ReadOnlyModelViewSet[Line]):
    """The company's lines; a line user sees only the lines assigned to them."""

    tenant_model = Line
    serializer_class = LineSerializer
    filterset_class = LineFilter
    filter_backends = [DjangoFilterBackend, LineOrderingFilter]

    def get_queryset(self) -> QuerySet[Line]:
        return super().get_queryset().select_related("offer", "assigned_to__user")


class LineExportView(TenantAPIMixin[Line], GenericAPIView[Line]):
    """The lines the caller may see, as CSV: the same search, filters and ordering as the list, every row."""

    tenant_model = Line
    filterset_class = LineFilter
    filter_backends = [DjangoFilterBackend, LineOrderingFilter]
    pagination_class = None
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="lines_export_csv",
        filters=True,
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description=str(
                    _(
                        "UTF-8, comma-separated, a header row in the caller's language: number, kind, SIM, "
                        "ICCID, offer, status, cost centre, assigned to, activated on, ceased on."
                    )
                ),
            )
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return lines_csv_response(lines=self.filter_queryset(self.get_queryset()))
