"""The API of lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, viewsets

from selfcare.models import (
    Line,
    LineKind,
    LineStatus,
    Offer,
)

if TYPE_CHECKING:
    pass

from selfcare.api.base import TenantAPIMixin
from selfcare.api.companies import CompanyUserSerializer


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


class LineFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=LineStatus.choices, help_text=_("Repeatable."))
    kind = django_filters.ChoiceFilter(choices=LineKind.choices)
    offer = django_filters.CharFilter(field_name="offer__code", help_text=_("The offer's code."))
    cost_centre = django_filters.CharFilter()

    class Meta:
        model = Line
        fields = ["status", "kind", "offer", "cost_centre"]


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------
class LineViewSet(TenantAPIMixin[Line], viewsets.ReadOnlyModelViewSet[Line]):
    """The company's lines; a line user sees only the lines assigned to them."""

    tenant_model = Line
    serializer_class = LineSerializer
    filterset_class = LineFilter

    def get_queryset(self) -> QuerySet[Line]:
        return super().get_queryset().select_related("offer", "assigned_to__user")
