"""The API of the company's payment method: read it (masked), set a SEPA direct debit or bank transfer.

For admins and legal representatives (selfcare.permissions.can_manage_billing).
A card is registered only on the payment provider's page, from the portal:
its number must never pass through the API, and the provider's token comes
only from the provider's signed answer to the browser.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from billing.models import PaymentMethod, PaymentMethodKind
from billing.payment_methods import (
    ACCOUNT_HOLDER_MAX_LENGTH,
    SepaMandate,
    payment_method_current,
    payment_method_set,
    sepa_mandate_errors,
)
from selfcare import permissions
from selfcare.api.base import TenantAPIMixin


class PaymentMethodSerializer(serializers.ModelSerializer[PaymentMethod]):
    """The method as people may see it: the IBAN masked, the card by brand and last four digits; never a token."""

    masked_iban = serializers.CharField(
        read_only=True, help_text=_("SEPA direct debit: the IBAN's country and last four characters.")
    )
    set_at = serializers.DateTimeField(
        source="created_at",
        read_only=True,
        allow_null=True,
        help_text=_("When the method was set; null for the default, bank transfer."),
    )

    class Meta:
        model = PaymentMethod
        fields = [
            "kind",
            "masked_iban",
            "account_holder",
            "holder_tax_id",
            "mandate_reference",
            "mandate_signed_on",
            "card_brand",
            "card_last4",
            "card_expiry_month",
            "card_expiry_year",
            "set_at",
        ]
        read_only_fields = fields


class PaymentMethodChangeSerializer(serializers.Serializer[Any]):
    """A new method: a SEPA direct debit with its mandate, or bank transfer."""

    kind = serializers.ChoiceField(
        choices=PaymentMethodKind.choices,
        help_text=_("sepa_direct_debit or bank_transfer; a card is registered from the portal's page."),
    )
    iban = serializers.CharField(required=False, allow_blank=True, max_length=42)
    account_holder = serializers.CharField(
        required=False, allow_blank=True, max_length=ACCOUNT_HOLDER_MAX_LENGTH
    )
    holder_tax_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=16,
        help_text=_("Italian tax code (16 characters, or 11 digits) or VAT number."),
    )
    mandate_reference = serializers.CharField(required=False, allow_blank=True, max_length=35)
    mandate_signed_on = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == PaymentMethodKind.CARD:
            raise serializers.ValidationError(
                {
                    "kind": _(
                        "A card is registered on the payment provider's page: "
                        "use the payment method page of the portal."
                    )
                }
            )
        if attrs["kind"] == PaymentMethodKind.SEPA_DIRECT_DEBIT:
            errors = sepa_mandate_errors(self.sepa_mandate(attrs))
            if errors:
                raise serializers.ValidationError(errors)
        return attrs

    @staticmethod
    def sepa_mandate(attrs: dict[str, Any]) -> SepaMandate:
        return SepaMandate(
            iban=attrs.get("iban", ""),
            account_holder=attrs.get("account_holder", ""),
            holder_tax_id=attrs.get("holder_tax_id", ""),
            mandate_reference=attrs.get("mandate_reference", ""),
            mandate_signed_on=attrs.get("mandate_signed_on"),
        )


class PaymentMethodView(TenantAPIMixin[PaymentMethod], GenericAPIView[PaymentMethod]):
    """The company's current payment method; PUT changes it from the next invoice on (confirmed by e-mail)."""

    tenant_model = PaymentMethod
    required_capability = permissions.can_manage_billing
    serializer_class = PaymentMethodSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    def _current(self) -> PaymentMethod:
        current = payment_method_current(membership=self.get_current_membership())
        # No method on record: the company pays by bank transfer.
        return current or PaymentMethod(kind=PaymentMethodKind.BANK_TRANSFER)

    @extend_schema(responses=PaymentMethodSerializer)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(PaymentMethodSerializer(self._current()).data)

    @extend_schema(request=PaymentMethodChangeSerializer, responses=PaymentMethodSerializer)
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        change = PaymentMethodChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        kind = change.validated_data["kind"]
        try:
            method = payment_method_set(
                membership=self.get_current_membership(),
                kind=kind,
                sepa=change.sepa_mandate(change.validated_data)
                if kind == PaymentMethodKind.SEPA_DIRECT_DEBIT
                else None,
            )
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else {"kind": error.messages}
            raise serializers.ValidationError(detail) from error
        return Response(PaymentMethodSerializer(method).data)
