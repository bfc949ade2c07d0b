"""The API of invoices: the list (filters year, status, total) and one invoice with its lines.

For admins and legal representatives (selfcare.permissions.can_manage_billing);
the filters mean what they mean on the portal's invoice page (billing.selectors_invoices).
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, viewsets

from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.selectors_invoices import InvoiceFilters, invoice_filters_apply
from selfcare import permissions
from selfcare.api.base import TenantAPIMixin
from selfcare.api.pagination import StableCursorPagination


class InvoiceLineSerializer(serializers.ModelSerializer[InvoiceLine]):
    line_number = serializers.CharField(source="line.number", read_only=True, allow_null=True, default=None)

    class Meta:
        model = InvoiceLine
        fields = [
            "position",
            "line_number",
            "kind",
            "description",
            "cost_centre",
            "days",
            "quantity",
            "unit_amount",
            "amount",
            "vat_applicable",
        ]


class InvoiceSerializer(serializers.ModelSerializer[Invoice]):
    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "corrects",
            "issued_on",
            "due_on",
            "period_start",
            "period_end",
            "status",
            "payment_method",
            "taxable",
            "vat_rate",
            "vat",
            "untaxed",
            "concession_fee",
            "stamp_duty",
            "total",
            "sdi_state",
        ]


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "exemption_notes", "lines"]


class InvoiceFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(help_text=_("The year of issue."))
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    min_total = django_filters.NumberFilter(help_text=_("The lowest total, in euros."))
    max_total = django_filters.NumberFilter(help_text=_("The highest total, in euros."))

    class Meta:
        model = Invoice
        fields = ["year", "status", "min_total", "max_total"]

    def filter_queryset(self, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        # Validated by the declared filters; narrowed as on the portal's page.
        data = self.form.cleaned_data
        year = data.get("year")
        filters = InvoiceFilters(
            year=int(year) if year is not None else None,
            status=data.get("status") or "",
            min_total=data.get("min_total"),
            max_total=data.get("max_total"),
        )
        return invoice_filters_apply(invoices=queryset, filters=filters)


class InvoicePagination(StableCursorPagination):
    """Newest first; on the id, which is unique and never changes, so a cursor keeps its place."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class InvoiceViewSet(TenantAPIMixin[Invoice], viewsets.ReadOnlyModelViewSet[Invoice]):
    """The company's invoices and credit notes; one of them with its lines."""

    tenant_model = Invoice
    required_capability = permissions.can_manage_billing
    filterset_class = InvoiceFilter
    pagination_class = InvoicePagination

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Invoice]]:
        return InvoiceDetailSerializer if self.action == "retrieve" else InvoiceSerializer

    def get_queryset(self) -> QuerySet[Invoice]:
        invoices = super().get_queryset()
        if self.action == "retrieve":
            lines = InvoiceLine.objects.select_related("line").order_by("position")
            invoices = invoices.prefetch_related(Prefetch("lines", queryset=lines))
        return invoices
