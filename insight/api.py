"""The Insight figures through the API, for companies that feed their own expense tools.

One read-only route per chart (`/api/v1/insight/<chart>/`), with the page's
filters as query parameters (`cost_centre`, `offer`, `line`): the same table
the page draws and the exports write (insight.reports), values as numbers
(euros as decimal strings), keyed by the columns' keys. Every member may call
it; a line user's figures cover the lines assigned to them and no company
total (insight.selectors). A filter naming a line, offer or cost centre the
caller cannot see is refused (400), as the page's form refuses it.

Not paginated: a table has at most one row per line of the company.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Max, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from insight.alerts import insight_alert_delete, insight_alert_save
from insight.forms import InsightFilterForm
from insight.models import InsightAlert
from insight.reports import MONTH, ChartTable, insight_table
from insight.selectors import InsightScope, insight_filter_choices
from selfcare import permissions
from selfcare.api.base import TenantAPIMixin
from selfcare.models import Line


class InsightColumnSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text=_("The key of the column's values in each row."))
    title = serializers.CharField(help_text=_("The column's name, in the caller's language."))
    unit = serializers.ChoiceField(
        choices=["eur", "count", "minutes", "mb", "text", "month", "day"],
        help_text=_(
            "eur: euros (decimal string); minutes and mb: one decimal; month: YYYY-MM; day: YYYY-MM-DD."
        ),
    )


class InsightTableSerializer(serializers.Serializer[Any]):
    chart = serializers.CharField(source="slug")
    title = serializers.CharField()
    note = serializers.CharField(help_text=_("What the figures include, e.g. 'no tax value'."))
    columns = InsightColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text=_("One object per row, by the columns' keys, in the order of the chart."),
    )


def _api_value(value: Any, unit: str) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return f"{value:%Y-%m}" if unit == MONTH else value.isoformat()
    return value


def table_as_api(table: ChartTable) -> dict[str, Any]:
    return {
        "slug": table.slug,
        "title": table.title,
        "note": table.note,
        "columns": [{"key": c.key, "title": c.label, "unit": c.unit} for c in table.columns],
        "rows": [
            {
                column.key: _api_value(value, column.unit)
                for value, column in zip(row, table.columns, strict=True)
            }
            for row in table.rows
        ],
    }


class InsightChartAPIView(TenantAPIMixin[Line]):
    """One chart's figures, as on the Reports page with the same filters."""

    tenant_model = Line
    serializer_class = InsightTableSerializer
    # Set per route (selfcare/api/urls.py).
    chart: ClassVar[str] = ""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cost_centre", OpenApiTypes.STR, description="A cost centre of the company's lines."
            ),
            OpenApiParameter("offer", OpenApiTypes.INT, description="An offer id of the company's lines."),
            OpenApiParameter("line", OpenApiTypes.INT, description="A line id the caller may see."),
        ],
        responses=InsightTableSerializer,
    )
    def get(self, request: Request) -> Response:
        membership = self.get_current_membership()
        form = InsightFilterForm(
            request.query_params or None, lines=insight_filter_choices(membership=membership)
        )
        if form.is_bound and not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        table = insight_table(
            scope=InsightScope(membership=membership, filters=form.filters()), slug=self.chart
        )
        return Response(InsightTableSerializer(table_as_api(table)).data)


# ---------------------------------------------------------------------------
# Alerts: the company's thresholds (insight.alerts), for its administrators and legal representatives
# ---------------------------------------------------------------------------


class InsightAlertSerializer(serializers.ModelSerializer[InsightAlert]):
    line = serializers.IntegerField(
        source="line_id",
        allow_null=True,
        required=False,
        help_text=_("The line's id, for the line alerts; a line of another company is refused."),
    )
    line_number = serializers.CharField(source="line.number", read_only=True, default=None)
    cost_centre = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_("For the cost centre alerts: one of the company's lines'."),
    )
    last_crossed = serializers.SerializerMethodField()

    class Meta:
        model = InsightAlert
        fields = [
            "id",
            "kind",
            "cost_centre",
            "line",
            "line_number",
            "amount",
            "percent",
            "gigabytes",
            "enabled",
            "created_at",
            "last_crossed",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "amount": {"help_text": _("Euros, VAT excluded: the 'above' kinds.")},
            "percent": {
                "help_text": _(
                    "The jump kinds: more than this percentage above the average of the three months before."
                )
            },
            "gigabytes": {"help_text": _("GB (10^9 bytes) in a Rome day: the daily data kind.")},
        }

    def get_last_crossed(self, alert: InsightAlert) -> date | None:
        return getattr(alert, "last_crossed", None)


class InsightAlertViewSet(
    TenantAPIMixin[InsightAlert],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[InsightAlert],
):
    """The company's alerts: list, read, create, change, delete. Line users are refused (403)."""

    tenant_model = InsightAlert
    serializer_class = InsightAlertSerializer
    required_capability = permissions.can_manage_billing

    def get_queryset(self) -> QuerySet[InsightAlert]:
        return (
            super()
            .get_queryset()
            .select_related("line")
            .annotate(last_crossed=Max("hits__period"))
            .order_by("pk")
        )

    def _save(self, request: Request, alert: InsightAlert | None, *, partial: bool) -> InsightAlert:
        form = InsightAlertSerializer(alert, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        data = form.validated_data

        def field(name: str, source: str | None = None) -> Any:
            key = source or name
            if key in data:
                return data[key]
            return getattr(alert, key) if alert is not None else None

        try:
            return insight_alert_save(
                membership=self.get_current_membership(),
                alert=alert,
                kind=field("kind") or "",
                cost_centre=field("cost_centre") or "",
                line_id=field("line", "line_id"),
                amount=field("amount"),
                percent=field("percent"),
                gigabytes=field("gigabytes"),
                enabled=True if field("enabled") is None else field("enabled"),
            )
        except DjangoValidationError as error:
            raise ValidationError(
                {"line" if k == "line" else k: v for k, v in error.message_dict.items()}
            ) from error

    def _answer(self, alert: InsightAlert, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(InsightAlertSerializer(self.get_queryset().get(pk=alert.pk)).data, status=status_code)

    def create(self, request: Request) -> Response:
        return self._answer(self._save(request, None, partial=False), status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(self._save(request, self.get_object(), partial=False))

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(self._save(request, self.get_object(), partial=True))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        insight_alert_delete(membership=self.get_current_membership(), alert=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
