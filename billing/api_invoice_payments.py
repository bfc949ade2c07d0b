"""The API of paying an expired invoice: POST /api/v1/invoices/{id}/pay/ answers the payment provider's page.

The invoice is loaded through `visible()` before anything else
(TenantAPIMixin): another company's invoice is 404 on every method, and so
is any invoice for a line user, who sees none.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from billing.invoice_payments import invoice_payment_start
from billing.models import Invoice
from billing.payments import PaymentsUnavailableError
from selfcare import permissions
from selfcare.api.base import TenantAPIMixin
from selfcare.api.credit import PaymentsOffline


class InvoiceNotPayable(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This invoice cannot be paid online now.")
    default_code = "invoice_not_payable"


class InvoicePaymentStartedSerializer(serializers.Serializer[Any]):
    payment = serializers.UUIDField(read_only=True, help_text=_("The payment's reference."))
    invoice = serializers.IntegerField(read_only=True, help_text=_("The invoice's id."))
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text=_("What is left to pay, in euro: under split payment, without the VAT."),
    )
    status = serializers.CharField(read_only=True)
    payment_page = serializers.URLField(
        read_only=True,
        help_text=_("The payment provider's page, where the card is entered: open it in a browser."),
    )


class InvoicePayView(TenantAPIMixin[Invoice], GenericAPIView[Invoice]):
    """Start paying an expired invoice: the answer is the payment provider's page, where the person pays by card.

    The invoice is paid when the provider confirms the payment, never
    before. 409 for an invoice that is not expired, already paid, or
    covered by its credit notes.
    """

    tenant_model = Invoice
    required_capability = permissions.can_manage_billing
    serializer_class = InvoicePaymentStartedSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        request=None,
        responses={
            201: InvoicePaymentStartedSerializer,
            409: OpenApiResponse(description="The invoice is not expired, already paid, or covered."),
            503: OpenApiResponse(description="No payment provider is available."),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invoice = self.get_object()
        try:
            payment, page = invoice_payment_start(
                invoice=invoice,
                membership=self.get_current_membership(),
                return_url=lambda payment: request.build_absolute_uri(
                    reverse("billing:payment-detail", kwargs={"reference": payment.reference})
                ),
            )
        except PaymentsUnavailableError as error:
            raise PaymentsOffline from error
        except DjangoValidationError as error:
            raise InvoiceNotPayable(" ".join(error.messages)) from error
        started = {
            "payment": payment.reference,
            "invoice": invoice.pk,
            "amount": payment.amount,
            "status": payment.status,
            "payment_page": page,
        }
        return Response(InvoicePaymentStartedSerializer(started).data, status=status.HTTP_201_CREATED)
