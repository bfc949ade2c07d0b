"""The form of the payment method page: the kind, and a SEPA direct debit's mandate.

The rules are those of billing.payment_methods (the same the API and the
service apply); the form only says which of its fields they concern.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.models import PaymentMethodKind
from billing.payment_methods import (
    ACCOUNT_HOLDER_MAX_LENGTH,
    SepaMandate,
    sepa_mandate_errors,
    validate_card_expiry,
)
from billing.payments import SANDBOX_CARD_BRANDS, SANDBOX_CARDS


class DateInput(forms.DateInput):
    # The browser's date picker; it sends ISO dates, which DateField always reads.
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class PaymentMethodForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("How the company pays its invoices"),
        choices=PaymentMethodKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how the company pays its invoices.")},
    )
    iban = forms.CharField(
        label=_("IBAN"),
        required=False,
        max_length=42,
        help_text=_("The account to debit, in the SEPA area; spaces are fine."),
    )
    account_holder = forms.CharField(
        label=_("Account holder"), required=False, max_length=ACCOUNT_HOLDER_MAX_LENGTH
    )
    holder_tax_id = forms.CharField(
        label=_("Holder's tax code or VAT number"),
        required=False,
        max_length=16,
        help_text=_("Italian tax code (16 characters, or 11 digits for a company) or VAT number."),
    )
    mandate_reference = forms.CharField(
        label=_("Mandate reference"),
        required=False,
        max_length=35,
        help_text=_("As written on the SEPA mandate signed with your bank."),
    )
    mandate_signed_on = forms.DateField(label=_("Mandate signed on"), required=False, widget=DateInput())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == PaymentMethodKind.SEPA_DIRECT_DEBIT:
            for field, messages in sepa_mandate_errors(self.sepa_mandate()).items():
                if field not in self.errors:
                    self.add_error(field, messages)
        return cleaned

    def sepa_mandate(self) -> SepaMandate:
        data = self.cleaned_data
        return SepaMandate(
            iban=data.get("iban") or "",
            account_holder=data.get("account_holder") or "",
            holder_tax_id=data.get("holder_tax_id") or "",
            mandate_reference=data.get("mandate_reference") or "",
            mandate_signed_on=data.get("mandate_signed_on"),
        )


class SandboxCardSetupForm(forms.Form):
    """The sandbox provider's card page: the card is typed here, on the provider's page, never on the portal's."""

    card_number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        help_text=_("Test cards: 4242 4242 4242 4242 (Visa) and 5555 5555 5555 4444 (Mastercard) register."),
    )
    expiry = forms.RegexField(
        label=_("Expiry (MM/YY)"),
        regex=r"^(0[1-9]|1[0-2])/\d{2}$",
        error_messages={"invalid": _("Write the expiry as MM/YY, for example 12/30.")},
    )
    cvc = forms.RegexField(
        label=_("Security code (CVC)"),
        regex=r"^\d{3,4}$",
        error_messages={"invalid": _("The security code is 3 or 4 digits.")},
    )

    def clean_card_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["card_number"])
        if number in SANDBOX_CARD_BRANDS:
            return number
        if number in SANDBOX_CARDS:
            # What a bank answers for the declining test cards.
            raise forms.ValidationError(gettext("Your bank declined the card: try another card."))
        raise forms.ValidationError(
            gettext("This is the sandbox: use a test card, such as %(visa)s or %(mastercard)s.")
            % {"visa": "4242424242424242", "mastercard": "5555555555554444"}
        )

    def clean_expiry(self) -> tuple[int, int]:
        month, year = self.cleaned_data["expiry"].split("/")
        expiry = (int(month), 2000 + int(year))
        try:
            validate_card_expiry(month=expiry[0], year=expiry[1])
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        return expiry
