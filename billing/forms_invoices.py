"""The filters of the invoice list, read from the query string."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from billing.models import InvoiceStatus
from billing.selectors_invoices import InvoiceFilters

MAX_AMOUNT = Decimal("9999999999.99")


class InvoiceFilterForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *InvoiceStatus.choices]
    )
    min_total = forms.DecimalField(
        label=_("Total from (€)"),
        required=False,
        min_value=Decimal("0"),
        max_value=MAX_AMOUNT,
        max_digits=12,
        decimal_places=2,
    )
    max_total = forms.DecimalField(
        label=_("Total up to (€)"),
        required=False,
        min_value=Decimal("0"),
        max_value=MAX_AMOUNT,
        max_digits=12,
        decimal_places=2,
    )

    def __init__(self, *args: Any, years: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the years with an invoice: any other is refused as an unknown choice.
        year_field = cast(forms.TypedChoiceField, self.fields["year"])
        year_field.choices = [("", _("Any year")), *((str(year), str(year)) for year in years)]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        low, high = cleaned.get("min_total"), cleaned.get("max_total")
        if low is not None and high is not None and low > high:
            self.add_error("max_total", _("The maximum must not be lower than the minimum."))
        return cleaned

    def filters(self) -> InvoiceFilters:
        """The valid filters; a field with an error is ignored (and shown with its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return InvoiceFilters(
            year=data.get("year"),
            status=data.get("status") or "",
            min_total=data.get("min_total"),
            max_total=data.get("max_total"),
        )

    def query(self) -> str:
        """The valid filters as a query string, for the pagination's links."""
        filters = self.filters()
        pairs = [
            ("year", filters.year),
            ("status", filters.status),
            ("min_total", filters.min_total),
            ("max_total", filters.max_total),
        ]
        return urlencode([(name, str(value)) for name, value in pairs if value not in (None, "")])
