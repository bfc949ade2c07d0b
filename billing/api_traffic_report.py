"""The API of the 90-day traffic report: the records as a paginated list, and the CSV for integrations.

`GET /api/v1/traffic/` and `GET /api/v1/traffic/export.csv` (CONTRACTS.md,
"HTTP"): optional `line` (E.164, repeatable), `from` and `to` (Rome dates),
`service` and `direction`; every line the caller may see over the last 90
days by default. Both speak the traffic feed's column names, `started_at` in
ISO 8601 with its offset, `other_party` masked unless an approved request
covers the record. Bad filters, and a line the caller may not see, are a
400 naming the field. The rules are billing.traffic_report's.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from billing.clear_numbers import clear_windows_for
from billing.forms_traffic import TrafficFilterForm
from billing.models import TrafficDirection, TrafficRecord, TrafficService
from billing.traffic_csv import traffic_csv_response
from billing.traffic_report import TrafficFilters, feed_value, traffic_download_audit, traffic_report_queryset
from selfcare.api.base import TenantAPIMixin
from selfcare.api.pagination import StableCursorPagination
from selfcare.api.renderers import CSVRenderer
from selfcare.models import Membership, User

TRAFFIC_FILTER_PARAMETERS = [
    OpenApiParameter(
        "line",
        OpenApiTypes.STR,
        many=True,
        explode=True,
        description=str(
            _("A line of yours, E.164 (+393331234567); repeat it for several. Default: every line.")
        ),
    ),
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description=str(_("First day (Rome time), within the last 90 days. Default: 89 days ago.")),
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description=str(_("Last day (Rome time), within the last 90 days. Default: today.")),
    ),
    OpenApiParameter("service", OpenApiTypes.STR, enum=TrafficService.values),
    OpenApiParameter("direction", OpenApiTypes.STR, enum=TrafficDirection.values),
]


def traffic_filters_of(request: Request, membership: Membership) -> TrafficFilters:
    """The filters of the query string, or a 400 that names each bad field."""
    form = TrafficFilterForm(request.query_params, membership=membership)
    if not form.is_valid():
        raise ValidationError(
            {field: [str(error) for error in errors] for field, errors in form.errors.items()}
        )
    return form.filters()


# The feed's columns (CONTRACTS.md), read from the report's named values.
_FEED_SOURCES = {
    "record_id": "record_id",
    "line": "line_number",
    "started_at": "started_at_feed",
    "direction": "direction",
    "service": "service",
    "other_party": "other_party_shown",
    "other_operator": "other_operator",
    "other_network": "other_network",
    "duration_s": "duration_s",
    "volume_bytes": "volume_bytes",
    "country": "country",
    "topup": "topup_flag",
}


class TrafficRecordSerializer(serializers.Serializer[dict[str, Any]]):
    """One record with the feed's column names; `other_party` as the caller may see it."""

    record_id = serializers.CharField(read_only=True)
    line = serializers.CharField(source="line_number", read_only=True)
    started_at = serializers.SerializerMethodField()
    direction = serializers.ChoiceField(choices=TrafficDirection.choices, read_only=True)
    service = serializers.ChoiceField(choices=TrafficService.choices, read_only=True)
    other_party = serializers.CharField(
        source="other_party_shown",
        read_only=True,
        help_text=str(_("The last three digits are XXX unless an approved request covers the record.")),
    )
    other_operator = serializers.CharField(read_only=True)
    other_network = serializers.CharField(read_only=True)
    duration_s = serializers.IntegerField(read_only=True)
    volume_bytes = serializers.IntegerField(read_only=True)
    country = serializers.CharField(read_only=True)
    topup = serializers.IntegerField(source="topup_flag", read_only=True)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_started_at(self, record: dict[str, Any]) -> str:
        return str(feed_value(record["started_at_feed"]))


class TrafficCursorPagination(StableCursorPagination):
    """A cursor on the report's order (time, then id): the hundredth page costs what the first does."""

    ordering = ("started_at", "id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class TrafficListAPIView(TenantAPIMixin[TrafficRecord], ListAPIView[TrafficRecord]):
    """The records the caller may see, a page at a time, with the feed's columns."""

    tenant_model = TrafficRecord
    serializer_class = TrafficRecordSerializer  # type: ignore[assignment]
    pagination_class = TrafficCursorPagination
    filter_backends: list[Any] = []

    @extend_schema(operation_id="traffic_list", parameters=TRAFFIC_FILTER_PARAMETERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[TrafficRecord]:
        if self.membership is None:
            # drf-spectacular builds the schema from a view with no caller.
            return TrafficRecord.objects.none()
        membership = self.get_current_membership()
        filters = traffic_filters_of(self.request, membership)
        report = traffic_report_queryset(
            membership=membership, filters=filters, clear_windows=clear_windows_for(membership)
        )
        # Named values, with the columns the cursor reads its position from.
        rows: Any = report.values("id", "started_at", *_FEED_SOURCES.values())
        return rows  # type: ignore[no-any-return]


class TrafficExportCsvAPIView(TenantAPIMixin[TrafficRecord], GenericAPIView[TrafficRecord]):
    """The records the caller may see as CSV, streamed: the traffic feed's header and columns."""

    tenant_model = TrafficRecord
    pagination_class = None
    filter_backends: list[Any] = []
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="traffic_export_csv",
        parameters=TRAFFIC_FILTER_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description=str(
                    _(
                        "UTF-8, comma-separated, streamed: the traffic feed's header and columns "
                        "(record_id, line, started_at, direction, service, other_party, other_operator, "
                        "other_network, duration_s, volume_bytes, country, topup), started_at in ISO 8601 "
                        "with its offset, other_party masked unless an approved request covers the record."
                    )
                ),
            ),
            400: OpenApiResponse(description=str(_("A filter is not valid: the answer names it."))),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        membership = self.get_current_membership()
        filters = traffic_filters_of(request, membership)
        windows = clear_windows_for(membership)
        traffic_download_audit(
            membership=membership,
            actor=request.user if isinstance(request.user, User) else None,
            filters=filters,
            clear_windows=windows,
            file_format="csv",
        )
        return traffic_csv_response(
            membership=membership, filters=filters, clear_windows=windows, localized=False
        )
