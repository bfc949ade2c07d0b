"""The API of a prepaid line's residual credit: balance, threshold, movements, and recharge.

Each route names the line, loaded through `visible()` before anything else
(TenantAPIMixin): another company's line, or a line user's unassigned one,
is 404 on every method.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from billing.payments import PaymentsUnavailableError
from billing.services import payment_start
from selfcare.api.base import TenantAPIMixin
from selfcare.api.pagination import StableCursorPagination
from selfcare.models import CreditMovement, Line
from selfcare.services.credit import (
    RECHARGE_MAXIMUM,
    RECHARGE_MINIMUM,
    line_credit_is_low,
    line_is_prepaid,
    recharge_start,
)


class CreditMovementSerializer(serializers.ModelSerializer[CreditMovement]):
    class Meta:
        model = CreditMovement
        fields = ["id", "kind", "amount", "balance_after", "description", "created_at"]


class CreditPagination(StableCursorPagination):
    """The movements, newest first, under the line's balance and threshold."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    line: Line

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            OrderedDict(
                [
                    ("balance", f"{self.line.credit_balance:.2f}"),
                    (
                        "low_credit_threshold",
                        None
                        if self.line.low_credit_threshold is None
                        else f"{self.line.low_credit_threshold:.2f}",
                    ),
                    ("low_credit", line_credit_is_low(self.line)),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["balance", "low_credit_threshold", "low_credit", "results"]
        paginated["properties"] = {
            "balance": {
                "type": "string",
                "format": "decimal",
                "description": "The residual credit, in euro.",
            },
            "low_credit_threshold": {
                "type": "string",
                "format": "decimal",
                "nullable": True,
                "description": "The low-credit alert threshold, in euro; null for no alert.",
            },
            "low_credit": {"type": "boolean", "description": "Whether the credit is below the threshold."},
            **paginated["properties"],
        }
        return paginated


class PostpaidLine(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This line is postpaid: its traffic is invoiced, it has no credit.")
    default_code = "postpaid_line"


class PaymentsOffline(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("Online payments are not available at the moment. Please try again later.")
    default_code = "payments_unavailable"


class LineCreditView(TenantAPIMixin[Line], ListModelMixin, GenericAPIView[Line]):
    """A prepaid line's credit: balance, low-credit threshold and movements (newest first, by cursor).

    A postpaid line answers 409: its traffic is invoiced.
    """

    tenant_model = Line
    serializer_class = CreditMovementSerializer  # type: ignore[assignment]  # the rows listed are movements
    pagination_class = CreditPagination
    filter_backends: list[Any] = []

    @extend_schema(
        responses={
            200: CreditMovementSerializer(many=True),
            409: OpenApiResponse(description=str(PostpaidLine.default_detail)),
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        line = self.get_object()
        if not line_is_prepaid(line):
            raise PostpaidLine
        paginator = CreditPagination()
        paginator.line = line
        movements = paginator.paginate_queryset(CreditMovement.objects.filter(line=line), request, view=self)
        return paginator.get_paginated_response(CreditMovementSerializer(movements, many=True).data)


class RechargeRequestSerializer(serializers.Serializer[Any]):
    amount = serializers.DecimalField(
        max_digits=8,
        decimal_places=2,
        help_text=_("In euro, from %(minimum)s to %(maximum)s.")
        % {"minimum": RECHARGE_MINIMUM, "maximum": RECHARGE_MAXIMUM},
    )


class RechargeStartedSerializer(serializers.Serializer[Any]):
    payment = serializers.UUIDField(read_only=True, help_text=_("The payment's reference."))
    amount = serializers.DecimalField(max_digits=8, decimal_places=2, read_only=True)
    status = serializers.CharField(read_only=True)
    payment_page = serializers.URLField(
        read_only=True,
        help_text=_("The payment provider's page, where the card is entered: open it in a browser."),
    )


class LineRechargeView(TenantAPIMixin[Line], GenericAPIView[Line]):
    """Start a recharge: the answer is the payment provider's page, where the person pays by card.

    The line is credited when the provider confirms the payment, never before.
    """

    tenant_model = Line
    serializer_class = RechargeRequestSerializer

    @extend_schema(request=RechargeRequestSerializer, responses={201: RechargeStartedSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = RechargeRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        amount: Decimal = form.validated_data["amount"]
        try:
            payment = recharge_start(
                line=self.get_object(), amount=amount, actor=self.get_current_membership()
            )
            return_url = request.build_absolute_uri(
                reverse("billing:payment-detail", kwargs={"reference": payment.reference})
            )
            page = payment_start(payment=payment, return_url=return_url)
        except PaymentsUnavailableError as error:
            raise PaymentsOffline from error
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else {"amount": error.messages}
            raise serializers.ValidationError(detail) from error
        started = {
            "payment": payment.reference,
            "amount": payment.amount,
            "status": payment.status,
            "payment_page": page,
        }
        return Response(RechargeStartedSerializer(started).data, status=status.HTTP_201_CREATED)
