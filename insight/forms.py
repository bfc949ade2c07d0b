"""The Insight filters, read from the query string so that a view can be bookmarked and shared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from django import forms
from django.utils.choices import BaseChoiceIterator
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from insight.models import AlertKind
from insight.selectors import InsightFilters


class _Normalized(BaseChoiceIterator):
    """Choices already in Django's (value, label) form: taken as they are.

    A plain list is normalised item by item whenever it is set, which for a
    company's 2,000 lines is a good part of the Reports page's time.
    """

    def __init__(self, choices: list[tuple[Any, Any]]) -> None:
        self.choices = choices

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(self.choices)


class InsightFilterForm(forms.Form):
    cost_centre = forms.ChoiceField(label=_("Cost centre"), required=False)
    offer = forms.TypedChoiceField(label=_("Offer"), required=False, coerce=int, empty_value=None)
    line = forms.TypedChoiceField(label=_("Line"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, lines: list[tuple[int, str, str, int, str]], **kwargs: Any) -> None:
        """`lines`: (id, number, cost centre, offer id, offer name) of the lines the user may see.

        Only their values are choices: another company's line or offer, or a
        line not assigned to a line user, is refused as an unknown choice.
        """
        super().__init__(*args, **kwargs)
        centres = sorted({centre for _pk, _number, centre, _offer, _name in lines if centre})
        offers = sorted({(offer, name) for _pk, _number, _centre, offer, name in lines}, key=lambda o: o[1])
        cast(forms.ChoiceField, self.fields["cost_centre"]).choices = _Normalized(
            [("", _("Every cost centre")), *((centre, centre) for centre in centres)]
        )
        cast(forms.TypedChoiceField, self.fields["offer"]).choices = _Normalized(
            [("", _("Every offer")), *((str(pk), name) for pk, name in offers)]
        )
        cast(forms.TypedChoiceField, self.fields["line"]).choices = _Normalized(
            [("", _("Every line")), *((str(pk), number) for pk, number, _centre, _offer, _name in lines)]
        )

    def filters(self) -> InsightFilters:
        """The valid filters; a field with an error is ignored (and shown with its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return InsightFilters(
            cost_centre=data.get("cost_centre") or "", offer_id=data.get("offer"), line_id=data.get("line")
        )

    def query(self) -> str:
        """The valid filters as a query string, for the export links and a shared address."""
        filters = self.filters()
        pairs = [("cost_centre", filters.cost_centre), ("offer", filters.offer_id), ("line", filters.line_id)]
        return urlencode([(name, str(value)) for name, value in pairs if value not in (None, "")])


class InsightAlertForm(forms.Form):
    """An alert's fields; the rules (whose line, which threshold, above zero) are insight.alerts'."""

    kind = forms.ChoiceField(label=_("Alert me when"), choices=AlertKind.choices)
    cost_centre = forms.ChoiceField(
        label=_("Cost centre"),
        required=False,
        help_text=_("For the cost centre alerts."),
        error_messages={"invalid_choice": _("No line of your company has this cost centre.")},
    )
    line = forms.TypedChoiceField(
        label=_("Line"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("For the line alerts."),
        error_messages={"invalid_choice": _("This line is not one of your company's lines.")},
    )
    amount = forms.DecimalField(
        label=_("Amount (€, VAT excluded)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text=_("For the 'above an amount' alerts: the month's spend net of VAT and concession fee."),
    )
    percent = forms.DecimalField(
        label=_("Percentage"),
        required=False,
        max_digits=7,
        decimal_places=2,
        help_text=_(
            "For the 'up by more than' alerts: compared with the average of the three months before."
        ),
    )
    gigabytes = forms.DecimalField(
        label=_("GB of data in a day"),
        required=False,
        max_digits=9,
        decimal_places=3,
        help_text=_("For the daily data alert: 1 GB = 1,000,000,000 bytes."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(
        self, *args: Any, cost_centres: list[str], lines: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        """`cost_centres` and `lines` (id, number): what the membership may watch, the only valid choices."""
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["cost_centre"]).choices = [
            ("", _("Choose a cost centre")),
            *((centre, centre) for centre in cost_centres),
        ]
        cast(forms.TypedChoiceField, self.fields["line"]).choices = [
            ("", _("Choose a line")),
            *((str(pk), number) for pk, number in lines),
        ]
