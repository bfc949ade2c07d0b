"""The API of the roaming app: the lines' status abroad and their switches, the price list, a trip's estimate.

The lines' routes name a line, loaded through `visible()` first
(TenantAPIMixin): another company's line, or a line user's unassigned
line, is 404 on every method. The price list and the estimate are public,
like the rates page (CONTRACTS.md, "HTTP").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from roaming.forms import MAX_DAYS, MAX_MB_A_DAY, MAX_MINUTES_A_DAY, MAX_SMS_A_DAY
from roaming.models import RoamingZone, ZoneKind
from roaming.pricing import CostKind, TripUsage
from roaming.selectors import (
    LineRoamingStatus,
    TripEstimate,
    ZonePrices,
    roaming_lines,
    roaming_price_list,
    roaming_status_of,
    roaming_trip_estimate,
)
from roaming.services import (
    line_data_roaming_set,
    line_roaming_month_continue,
    line_roaming_set,
    line_spending_cap_set,
)
from selfcare.api.base import Capability, TenantAPIMixin
from selfcare.models import Line
from selfcare.permissions import can_manage_spending_cap


def _money(**kwargs: Any) -> serializers.DecimalField:
    """An amount in euro, two places (as a string in JSON, never a float)."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, **kwargs)


def _unit_price(**kwargs: Any) -> serializers.DecimalField:
    """A unit price in euro, up to four places, VAT excluded."""
    return serializers.DecimalField(max_digits=10, decimal_places=4, read_only=True, **kwargs)


# ---------------------------------------------------------------------------
# The lines' status abroad
# ---------------------------------------------------------------------------
class LineRoamingStatusSerializer(serializers.Serializer[LineRoamingStatus]):
    id = serializers.IntegerField(source="line.pk", read_only=True)
    number = serializers.CharField(source="line.number", read_only=True)
    line_status = serializers.CharField(source="line.status", read_only=True)
    roaming_enabled = serializers.BooleanField(read_only=True)
    data_enabled = serializers.BooleanField(read_only=True)
    works_abroad = serializers.BooleanField(
        read_only=True, help_text=_("The line is active and roaming is on: it will work abroad.")
    )
    data_works_abroad = serializers.BooleanField(
        read_only=True, help_text=_("It works abroad, data abroad is on and not stopped by the spending cap.")
    )
    data_stopped = serializers.BooleanField(
        read_only=True, help_text=_("Data abroad stopped this month because the spending cap was reached.")
    )
    spending_cap = _money(help_text=_("A month, in euro, VAT excluded."))
    month = serializers.DateField(read_only=True, help_text=_("The first day of this month, Rome time."))
    month_spend = _money(help_text=_("Chargeable spend abroad this month, in euro, VAT excluded."))
    month_data_spend = _money(
        help_text=_("Chargeable data abroad this month, in euro, VAT excluded: what the cap counts.")
    )
    spending_cap_granted = _money(
        help_text=_("The highest cap the company may set itself; staff raise it on request.")
    )
    cap_used_percent = serializers.IntegerField(
        read_only=True, help_text=_("This month's chargeable data abroad against the cap, in whole percent.")
    )
    cap_state = serializers.ChoiceField(
        choices=[("ok", "ok"), ("warning", "warning"), ("reached", "reached")],
        read_only=True,
        help_text=_("warning: the 80% alert was sent this month; reached: the 100% alert."),
    )
    continued = serializers.BooleanField(
        read_only=True,
        help_text=_("The customer chose to continue this month after the cap stopped data abroad."),
    )


class SpendingCapSerializer(serializers.Serializer[Any]):
    spending_cap = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text=_("A month, in euro, VAT excluded: from 0 (data abroad off) up to spending_cap_granted."),
    )


class LineRoamingSwitchSerializer(serializers.Serializer[Any]):
    roaming_enabled = serializers.BooleanField(required=False, help_text=_("Switch international roaming."))
    data_enabled = serializers.BooleanField(required=False, help_text=_("Switch data abroad."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Give roaming_enabled, data_enabled or both."))
        return attrs


class RoamingLineViewSet(
    TenantAPIMixin[Line],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Line],
):
    """The mobile lines the caller may see, with their status abroad; PATCH switches roaming or data abroad."""

    tenant_model = Line
    serializer_class = LineRoamingStatusSerializer  # type: ignore[assignment]  # a view of the line
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Line]:
        if self.membership is None:
            return Line.objects.none()
        return roaming_lines(membership=self.membership).order_by("pk")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lines = self.paginate_queryset(self.get_queryset())
        statuses = [roaming_status_of(line=line) for line in lines or []]
        return self.get_paginated_response(self.get_serializer(statuses, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(LineRoamingStatusSerializer(roaming_status_of(line=self.get_object())).data)

    @extend_schema(request=LineRoamingSwitchSerializer, responses=LineRoamingStatusSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        switches = LineRoamingSwitchSerializer(data=request.data)
        switches.is_valid(raise_exception=True)
        line = self.get_object()
        membership = self.get_current_membership()
        try:
            for field, service in (
                ("roaming_enabled", line_roaming_set),
                ("data_enabled", line_data_roaming_set),
            ):
                wanted = switches.validated_data.get(field)
                # Asking for the state the line has already is no change, not an error: PATCH is idempotent.
                if wanted is not None and wanted != getattr(roaming_status_of(line=line), field):
                    service(line=line, enabled=wanted, actor=membership)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return Response(LineRoamingStatusSerializer(roaming_status_of(line=line)).data)

    def get_required_capability(self) -> Capability | None:
        # Setting the cap and consenting to go on are the company's money: its managers only (403 otherwise).
        if self.action in ("spending_cap", "continue_month"):
            return can_manage_spending_cap
        return super().get_required_capability()

    @extend_schema(request=SpendingCapSerializer, responses=LineRoamingStatusSerializer)
    @action(detail=True, methods=["post"], url_path="spending-cap")
    def spending_cap(self, request: Request, pk: str | None = None) -> Response:
        """Set the line's monthly spending cap, up to the cap staff granted; recorded and audited."""
        data = SpendingCapSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = self.get_object()
        try:
            line_spending_cap_set(
                line=line, cap=data.validated_data["spending_cap"], actor=self.get_current_membership()
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages
            ) from error
        return self._status_now(line)

    @extend_schema(request=None, responses=LineRoamingStatusSerializer)
    @action(detail=True, methods=["post"], url_path="continue")
    def continue_month(self, request: Request, pk: str | None = None) -> Response:
        """Consent to go on using data abroad this month after the cap stopped it; recorded and audited."""
        line = self.get_object()
        try:
            line_roaming_month_continue(line=line, actor=self.get_current_membership())
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return self._status_now(line)

    def _status_now(self, line: Line) -> Response:
        # The line loaded for the checks carries this month's figures as they were before the change.
        fresh = self.get_queryset().get(pk=line.pk)
        return Response(LineRoamingStatusSerializer(roaming_status_of(line=fresh)).data)


# ---------------------------------------------------------------------------
# The price list (public)
# ---------------------------------------------------------------------------
class RoamingRateSerializer(serializers.Serializer[Any]):
    valid_from = serializers.DateField(read_only=True)
    call_made_per_minute = _unit_price()
    call_received_per_minute = _unit_price()
    sms = _unit_price()
    data_per_mb = _unit_price()


class RoamingRateWithVatSerializer(serializers.Serializer[Any]):
    call_made_per_minute = _money()
    call_received_per_minute = _money()
    sms = _money()
    data_per_mb = _money()


class CountrySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(read_only=True, help_text=_("ISO 3166-1 alpha-2."))
    name = serializers.CharField(read_only=True, help_text=_("In the language of the request."))


class RoamingZoneSerializer(serializers.Serializer[ZonePrices]):
    code = serializers.CharField(source="zone.code", read_only=True)
    name = serializers.CharField(source="zone.name", read_only=True)
    kind = serializers.ChoiceField(source="zone.kind", choices=ZoneKind.choices, read_only=True)
    rate = RoamingRateSerializer(
        read_only=True,
        allow_null=True,
        help_text=_("The rate in force today, VAT excluded; null when not rated."),
    )
    rate_with_vat = RoamingRateWithVatSerializer(
        read_only=True,
        allow_null=True,
        help_text=_("The same prices with VAT at 22%, rounded half-up to the cent."),
    )
    countries = CountrySerializer(many=True, read_only=True)


class RoamingZoneQuerySerializer(serializers.Serializer[Any]):
    # Blank is all zones: DRF reads an empty query parameter as one left out.
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=60,
        help_text=_("Part of a country's name, in Italian or English."),
    )


class RoamingZoneListView(GenericAPIView[RoamingZone]):
    """The roaming zones with today's rates and their countries; `q` finds countries by name."""

    permission_classes = [AllowAny]
    queryset = RoamingZone.objects.none()  # the schema's model; the rows come from the selector
    serializer_class = RoamingZoneSerializer  # type: ignore[assignment]
    pagination_class = None

    @extend_schema(parameters=[RoamingZoneQuerySerializer], responses=RoamingZoneSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = RoamingZoneQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        zones = roaming_price_list(query=query.validated_data.get("q", ""))
        return Response(self.get_serializer(zones, many=True).data)


# ---------------------------------------------------------------------------
# The trip estimate (public)
# ---------------------------------------------------------------------------
class TripQuerySerializer(serializers.Serializer[Any]):
    country = serializers.CharField(min_length=2, max_length=2, help_text=_("ISO 3166-1 alpha-2, e.g. US."))
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS)
    minutes_made = serializers.IntegerField(
        min_value=0, max_value=MAX_MINUTES_A_DAY, default=0, help_text=_("A day.")
    )
    minutes_received = serializers.IntegerField(
        min_value=0, max_value=MAX_MINUTES_A_DAY, default=0, help_text=_("A day.")
    )
    sms = serializers.IntegerField(min_value=0, max_value=MAX_SMS_A_DAY, default=0, help_text=_("A day."))
    megabytes = serializers.IntegerField(
        min_value=0, max_value=MAX_MB_A_DAY, default=0, help_text=_("A day.")
    )


class CostLineSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=CostKind.choices, read_only=True)
    quantity = serializers.IntegerField(read_only=True, help_text=_("Over the whole trip."))
    unit_price = _unit_price()
    amount = _money()


class TripEstimateSerializer(serializers.Serializer[TripEstimate]):
    country = serializers.CharField(read_only=True)
    country_name = serializers.CharField(read_only=True)
    zone = serializers.CharField(source="zone.code", read_only=True)
    zone_name = serializers.CharField(source="zone.name", read_only=True)
    zone_kind = serializers.ChoiceField(source="zone.kind", choices=ZoneKind.choices, read_only=True)
    roam_like_at_home = serializers.BooleanField(
        read_only=True, help_text=_("True: € 0 extra within the domestic offer, subject to fair use.")
    )
    rates_valid_from = serializers.DateField(source="rate.valid_from", read_only=True, allow_null=True)
    lines = CostLineSerializer(source="cost.lines", many=True, read_only=True)
    total = _money(
        source="cost.total",
        help_text=_("Excluding VAT."),
    )
    vat = _money(
        source="cost.vat",
    )
    total_with_vat = _money(
        source="cost.total_with_vat",
    )


class TripEstimateView(GenericAPIView[RoamingZone]):
    """The estimated cost of a trip at today's rates: daily quantities times days, priced by the country's zone."""

    permission_classes = [AllowAny]
    queryset = RoamingZone.objects.none()  # the schema's model; the estimate comes from the selector
    serializer_class = TripEstimateSerializer  # type: ignore[assignment]

    @extend_schema(parameters=[TripQuerySerializer], responses=TripEstimateSerializer)
    def get(self, request: Request) -> Response:
        query = TripQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        usage = TripUsage(
            days=data["days"],
            minutes_made=data["minutes_made"],
            minutes_received=data["minutes_received"],
            sms=data["sms"],
            megabytes=data["megabytes"],
        )
        try:
            estimate = roaming_trip_estimate(country=data["country"], usage=usage)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"country": error.messages}) from error
        return Response(TripEstimateSerializer(estimate).data)
