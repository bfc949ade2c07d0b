"""The API of activation orders.

For the customer (any member; a line user sees the orders of assigned lines,
ActivationOrder.visible_to): the orders with their timeline and
compensation, and "Keep me updated".

For the operator's provisioning system: `POST /api/v1/activations/steps/`
reports that an order reached a step. It takes a staff login (an account of
the operator with `is_staff`) that has the permission
`procedures.change_activationorder`, the one staff's "Procedures" group has
to advance steps in the admin (selfcare.staff); customers' tokens are
refused. The order is named by its reference, as the provisioning system
knows it. Reporting a step already reached answers 200 and changes nothing,
so the system may retry a call safely.
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.taxes import to_cents
from procedures.activation import (
    ActivationStepRefusedError,
    activation_compensation,
    activation_step_advance,
    activation_updates_set,
)
from procedures.models import ActivationOrder, ActivationStep, ActivationStepEvent
from procedures.selectors_activation import STATUS_FILTERS, activation_orders_filter, activation_timeline
from selfcare.api.base import TenantAPIMixin
from selfcare.api.pagination import StableCursorPagination
from selfcare.models import User

# Advancing a step is a change of the order: staff who may change orders may advance them.
ADVANCE_PERMISSION = "procedures.change_activationorder"


class TimelineEntrySerializer(serializers.Serializer[Any]):
    step = serializers.ChoiceField(choices=ActivationStep.choices)
    name = serializers.CharField(help_text=_("The step's name in the caller's language."))
    state = serializers.ChoiceField(
        choices=["done", "current", "upcoming", "not_reached"],
        help_text=_(
            "done, current (where the order is), upcoming, or not_reached (the order failed before it)."
        ),
    )
    reached_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()


class CompensationSerializer(serializers.Serializer[Any]):
    late = serializers.BooleanField()
    days_late = serializers.IntegerField(
        help_text=_(
            "From the day after the promised date to the day the order ended, or today while it is open."
        )
    )
    services = serializers.IntegerField()
    daily_per_service = serializers.DecimalField(
        max_digits=8,
        decimal_places=2,
        help_text=_("€7.50 (AGCOM 347/18/CONS), doubled for business customers."),
    )
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text=_("Accrued so far while the order is open; out of VAT scope."),
    )
    final = serializers.BooleanField(help_text=_("The order is over: the amount no longer grows."))
    credited = serializers.BooleanField(help_text=_("Written as a credit for the next invoice."))


class ActivationOrderSerializer(serializers.ModelSerializer[ActivationOrder]):
    """An order: where it stands, its timeline, its compensation, and whether the caller is kept updated."""

    line = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    compensation = serializers.SerializerMethodField()
    updates_to_me = serializers.SerializerMethodField(
        help_text=_("Whether the caller is the one kept updated (by e-mail, and SMS if a number was given).")
    )
    updates_sms_to = serializers.SerializerMethodField(
        help_text=_("The caller's number for SMS, if the caller is the one kept updated and gave one.")
    )

    class Meta:
        model = ActivationOrder
        fields = [
            "id",
            "reference",
            "line",
            "installation_address",
            "services",
            "ordered_on",
            "promised_on",
            "step",
            "completed_on",
            "appointment_at",
            "timeline",
            "compensation",
            "keep_me_updated",
            "updates_to_me",
            "updates_sms_to",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "integer"}, "number": {"type": "string"}},
        }
    )
    def get_line(self, order: ActivationOrder) -> dict[str, Any] | None:
        return {"id": order.line_id, "number": order.line.number} if order.line else None

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, order: ActivationOrder) -> list[dict[str, Any]]:
        events: list[ActivationStepEvent] = list(order.steps.all())
        return [
            {
                "step": str(entry.step),
                "name": entry.label,
                "state": entry.state,
                "reached_at": serializers.DateTimeField().to_representation(entry.reached_at)
                if entry.reached_at
                else None,
                "note": entry.note,
            }
            for entry in activation_timeline(order=order, events=events)
        ]

    @extend_schema_field(CompensationSerializer)
    def get_compensation(self, order: ActivationOrder) -> dict[str, Any]:
        compensation = activation_compensation(order=order)
        return {
            "late": compensation.late,
            "days_late": compensation.days_late,
            "services": compensation.services,
            "daily_per_service": str(to_cents(compensation.daily_per_service)),
            "amount": str(compensation.amount),
            "final": compensation.final,
            "credited": order.compensation_credit_id is not None,
        }

    def _mine(self, order: ActivationOrder) -> bool:
        request = self.context.get("request")
        user_id = getattr(getattr(request, "user", None), "pk", None)
        return bool(order.keep_me_updated and user_id is not None and order.updates_to_id == user_id)

    def get_updates_to_me(self, order: ActivationOrder) -> bool:
        return self._mine(order)

    def get_updates_sms_to(self, order: ActivationOrder) -> str:
        # A colleague's mobile number is theirs: only the one kept updated sees it.
        return order.updates_sms_to if self._mine(order) else ""


class ActivationOrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=list(STATUS_FILTERS.items()),
        method="filter_status",
        help_text=_("open (in progress), active, failed, or late (past the promised date)."),
    )
    step = django_filters.ChoiceFilter(choices=ActivationStep.choices)

    class Meta:
        model = ActivationOrder
        fields = ["status", "step"]

    def filter_status(
        self, queryset: QuerySet[ActivationOrder], name: str, value: str
    ) -> QuerySet[ActivationOrder]:
        return activation_orders_filter(orders=queryset, status=value)


class ActivationPagination(StableCursorPagination):
    """Newest first, on the id, which is unique and never changes, so a cursor keeps its place."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ActivationOrderViewSet(TenantAPIMixin[ActivationOrder], viewsets.ReadOnlyModelViewSet[ActivationOrder]):
    """The orders the caller sees (a line user: of assigned lines), each with its timeline and compensation."""

    tenant_model = ActivationOrder
    serializer_class = ActivationOrderSerializer
    filterset_class = ActivationOrderFilter
    pagination_class = ActivationPagination

    def get_queryset(self) -> QuerySet[ActivationOrder]:
        # The timeline's steps in one query for the page, whatever its size.
        return super().get_queryset().select_related("line").prefetch_related("steps")


class KeepMeUpdatedSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField(help_text=_("True to be told of every new step, false to stop."))
    sms_to = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text=_("A mobile number for SMS as well (e.g. +393331234567); empty for e-mail only."),
    )


class ActivationKeepMeUpdatedView(TenantAPIMixin[ActivationOrder], GenericAPIView[ActivationOrder]):
    """Tick or untick "Keep me updated" on an order: the caller becomes the one kept updated."""

    tenant_model = ActivationOrder
    serializer_class = KeepMeUpdatedSerializer

    @extend_schema(
        summary="Keep me updated on an order's steps",
        description=(
            "With enabled true the caller gets an e-mail (and an SMS at sms_to, a mobile number, if given) "
            "at every new step of the order, once per step; false stops it."
        ),
        request=KeepMeUpdatedSerializer,
        responses={200: ActivationOrderSerializer},
    )
    def put(self, request: Request, pk: int) -> Response:
        order = self.get_object()
        body = KeepMeUpdatedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            activation_updates_set(
                order=order,
                membership=self.get_current_membership(),
                enabled=body.validated_data["enabled"],
                sms_to=body.validated_data.get("sms_to", ""),
            )
        except DjangoValidationError as error:
            raise DRFValidationError(error.message_dict) from error
        fresh = self.get_queryset().select_related("line").prefetch_related("steps").get(pk=order.pk)
        return Response(ActivationOrderSerializer(fresh, context={"request": request}).data)


# ---------------------------------------------------------------------------
# The provisioning system (staff): an order reached a step
# ---------------------------------------------------------------------------
class IsStaffWhoAdvancesOrders(BasePermission):
    message = _("Only the operator's staff who may change activation orders report their steps.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.has_perm(ADVANCE_PERMISSION))


class ActivationStepReportSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(
        max_length=20, help_text=_("The order's reference, e.g. ATT-2026-000042.")
    )
    step = serializers.ChoiceField(
        # Every step, so that the enum is the model's one; "received" is always reached already.
        choices=ActivationStep.choices,
        help_text=_("The next step of the order, or failed."),
    )
    reached_at = serializers.DateTimeField(required=False, help_text=_("When; now if left out."))
    appointment_at = serializers.DateTimeField(
        required=False, help_text=_("For the appointment step: when the technician comes.")
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class ActivationStepReportResultSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    step = serializers.CharField(help_text=_("The order's step now."))
    recorded = serializers.BooleanField(help_text=_("False when the order had already reached the step."))
    reached_at = serializers.DateTimeField()


class ActivationStepReportView(APIView):
    """The provisioning system reports that an order reached a step (staff only)."""

    permission_classes = [IsStaffWhoAdvancesOrders]

    @extend_schema(
        summary="Report an activation order's step (operator staff)",
        description=(
            "For the operator's provisioning system, with a staff login that may change activation "
            "orders. Steps go forward one at a time (received, documents checked, technical check, "
            "appointment, installed, active); failed ends an order that is not over. A step already "
            "reached answers 200 with recorded false and changes nothing; a step backwards or skipped "
            "answers 409. The customer kept updated is told once per step."
        ),
        request=ActivationStepReportSerializer,
        responses={201: ActivationStepReportResultSerializer, 200: ActivationStepReportResultSerializer},
    )
    def post(self, request: Request) -> Response:
        body = ActivationStepReportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        # Staff work across companies: the order is found by its reference alone.
        order = ActivationOrder.objects.filter(reference=data["reference"]).first()
        if order is None:
            raise NotFound(_("No activation order has this reference."))
        try:
            advance = activation_step_advance(
                order=order,
                step=data["step"],
                by=cast(User, request.user),
                at=data.get("reached_at"),
                note=data.get("note", ""),
                appointment_at=data.get("appointment_at"),
            )
        except ActivationStepRefusedError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        result = {
            "reference": advance.order.reference,
            "step": advance.order.step,
            "recorded": advance.recorded,
            "reached_at": advance.event.reached_at,
        }
        return Response(
            ActivationStepReportResultSerializer(result).data,
            status=status.HTTP_201_CREATED if advance.recorded else status.HTTP_200_OK,
        )
