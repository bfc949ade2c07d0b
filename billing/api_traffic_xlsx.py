"""The API of the traffic report as XLSX: the file at once when small, else `202 Accepted` and an export to poll.

Routes (selfcare.api.urls), CONTRACTS.md "HTTP":
- `GET /api/v1/traffic/export.xlsx`, with the CSV's filters (`line`
  repeatable, `from`, `to`) plus `service` and `direction`: 200 with the file,
  or 202 with the export and a `Location` to poll; 400 naming each bad filter.
- `GET /api/v1/traffic/exports/{id}/`: its state, percent and rows, and the
  download address once ready.
- `GET /api/v1/traffic/exports/{id}/file/`: the file.

An export is its requester's only (TrafficExport.visible_to): another
user's id, in the same company or another, is 404 for every method
(selfcare.api.base.TenantAPIMixin).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billing.forms_traffic import TrafficFilterForm
from billing.models import TrafficDirection, TrafficExport, TrafficExportStatus, TrafficService
from billing.traffic_xlsx import (
    XLSX_CONTENT_TYPE,
    traffic_export_download,
    traffic_xlsx_file_name,
    traffic_xlsx_request,
)
from billing.views_traffic_xlsx import export_file_response, xlsx_file_response
from selfcare.api.base import TenantAPIMixin
from selfcare.api.renderers import XlsxRenderer
from selfcare.models import User


class ExportNotReady(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The report is not ready yet: poll the export until its status is ready.")
    default_code = "export_not_ready"


class TrafficExportSerializer(serializers.ModelSerializer[TrafficExport]):
    percent = serializers.IntegerField(
        read_only=True, help_text=_("How much of the report is written, 0 to 100.")
    )
    download = serializers.SerializerMethodField(
        help_text=_("Where the file is downloaded from, once ready; null before.")
    )

    class Meta:
        model = TrafficExport
        fields = [
            "id",
            "status",
            "requested_at",
            "finished_at",
            "rows_total",
            "rows_done",
            "percent",
            "in_clear",
            "download",
        ]
        read_only_fields = fields

    def get_download(self, export: TrafficExport) -> str | None:
        if export.status != TrafficExportStatus.READY:
            return None
        path = reverse("api:traffic-export-file", kwargs={"pk": export.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


def _user(request: Request) -> User | None:
    return request.user if isinstance(request.user, User) else None


FILTER_PARAMETERS = [
    OpenApiParameter(
        "line",
        OpenApiTypes.STR,
        many=True,
        explode=True,
        description=str(_("A line in E.164 (+39…), repeatable; none means every line you may see.")),
    ),
    OpenApiParameter(
        "from", OpenApiTypes.DATE, description=str(_("First day, Rome time; default 89 days ago."))
    ),
    OpenApiParameter("to", OpenApiTypes.DATE, description=str(_("Last day, Rome time; default today."))),
    OpenApiParameter("service", OpenApiTypes.STR, enum=TrafficService.values),
    OpenApiParameter("direction", OpenApiTypes.STR, enum=TrafficDirection.values),
]


class TrafficXlsxExportAPIView(TenantAPIMixin[TrafficExport], GenericAPIView[TrafficExport]):
    """The traffic report as XLSX: the file, or an export being built to poll."""

    tenant_model = TrafficExport
    serializer_class = TrafficExportSerializer
    pagination_class = None
    filter_backends: list[Any] = []
    renderer_classes = [JSONRenderer, XlsxRenderer]

    @extend_schema(
        operation_id="traffic_export_xlsx",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                location=OpenApiParameter.HEADER,
                response=[202],
                description=str(_("The export to poll.")),
            ),
        ],
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description=str(
                    _(
                        "A small report, built at once: a header row in the caller's language, then the "
                        "records; more than 1,048,575 records continue on further sheets."
                    )
                ),
            ),
            202: OpenApiResponse(
                TrafficExportSerializer,
                description=str(
                    _("A large report, being built: poll the Location until its status is ready.")
                ),
            ),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description=str(_("Bad filters: the errors, keyed by parameter."))
            ),
        },
    )
    def get(self, request: Request) -> Response | FileResponse:
        membership = self.get_current_membership()
        form = TrafficFilterForm(request.query_params, membership=membership)
        if not form.is_valid():
            raise ValidationError(
                {field: [str(error) for error in errors] for field, errors in form.errors.items()}
            )
        filters = form.filters()
        outcome = traffic_xlsx_request(
            membership=membership,
            filters=filters,
            language=translation.get_language() or "it",
            by=_user(request),
        )
        if outcome.path is not None:
            return xlsx_file_response(outcome.path, filename=traffic_xlsx_file_name(filters))
        # The export's state is JSON whatever type the caller accepted for the file.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
        serializer = TrafficExportSerializer(outcome.export, context=self.get_serializer_context())
        location = request.build_absolute_uri(
            reverse("api:traffic-export", kwargs={"pk": serializer.data["id"]})
        )
        return Response(serializer.data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class TrafficExportAPIView(TenantAPIMixin[TrafficExport], GenericAPIView[TrafficExport]):
    """One of your exports: its state, percent and rows, and where to download it once ready."""

    tenant_model = TrafficExport
    serializer_class = TrafficExportSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(operation_id="traffic_exports_retrieve", responses=TrafficExportSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)


class TrafficExportFileAPIView(TenantAPIMixin[TrafficExport], GenericAPIView[TrafficExport]):
    """A ready export's file; each download of one holding numbers in clear is audited."""

    tenant_model = TrafficExport
    pagination_class = None
    filter_backends: list[Any] = []
    renderer_classes = [JSONRenderer, XlsxRenderer]

    def get_queryset(self) -> QuerySet[TrafficExport]:
        return super().get_queryset().select_related("membership")

    @extend_schema(
        operation_id="traffic_exports_file",
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(
                response=OpenApiTypes.BINARY, description=str(_("The report as XLSX."))
            ),
            409: OpenApiResponse(OpenApiTypes.OBJECT, description=str(_("Not ready yet: poll the export."))),
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        export = self.get_object()
        if export.status != TrafficExportStatus.READY or not export.file:
            raise ExportNotReady
        traffic_export_download(export=export, by=_user(request))
        return export_file_response(export)
