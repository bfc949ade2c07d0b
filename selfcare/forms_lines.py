"""The line list's filters, as a form that lives in the query string.

Its choices are those of the lines the membership may see: an offer or a cost
centre of another company is never offered, and asking for one is refused.
"""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from selfcare.models import LineKind, LineStatus, Membership
from selfcare.selectors.lines import (
    LineFilters,
    line_filter_cost_centres,
    line_filter_offers,
    number_search_digits,
)

# Long enough for any way of writing an E.164 number with spaces.
SEARCH_MAX_LENGTH = 32


class NumberSearchField(forms.CharField):
    """Part of a number: digits, with or without +39, spaces and dashes allowed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", SEARCH_MAX_LENGTH)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        text: str = super().clean(value)
        if text and not number_search_digits(text):
            raise forms.ValidationError(
                _("Type some digits of the number, for example 333 or +39 333."), code="no_digits"
            )
        return text


class LineFilterForm(forms.Form):
    search = NumberSearchField(label=_("Number"), help_text=_("Part of the number, with or without +39."))
    offer = forms.ChoiceField(label=_("Offer"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *LineStatus.choices]
    )
    cost_centre = forms.ChoiceField(label=_("Cost centre"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *LineKind.choices]
    )
    # Set by the column headers; an unknown value sorts by number (selectors.lines.line_ordering).
    ordering = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def __init__(self, data: Any = None, *, membership: Membership) -> None:
        super().__init__(data)

        # Queried only if a value is validated or the form is shown (the CSV
        # export without these filters needs neither), and then only once.
        @functools.cache
        def offer_choices() -> list[tuple[str, str]]:
            offers = line_filter_offers(membership=membership)
            return [("", str(_("Any offer"))), *((offer.code, offer.name) for offer in offers)]

        @functools.cache
        def cost_centre_choices() -> list[tuple[str, str]]:
            names = line_filter_cost_centres(membership=membership)
            return [("", str(_("Any cost centre"))), *((name, name) for name in names)]

        offer_field: forms.ChoiceField = self.fields["offer"]  # type: ignore[assignment]
        offer_field.choices = offer_choices
        cost_centre_field: forms.ChoiceField = self.fields["cost_centre"]  # type: ignore[assignment]
        cost_centre_field.choices = cost_centre_choices

    def _valid(self) -> dict[str, Any]:
        # A bad value in one field drops that filter only: the others still apply.
        self.is_valid()
        return self.cleaned_data

    def filters(self) -> LineFilters:
        data = self._valid()
        status = data.get("status") or ""
        return LineFilters(
            search=data.get("search") or "",
            statuses=(status,) if status else (),
            kind=data.get("kind") or "",
            offer_code=data.get("offer") or "",
            cost_centre=data.get("cost_centre") or "",
            ordering=data.get("ordering") or "",
        )

    def query(self, **changes: str) -> str:
        """The query string of the valid filters (no page), with `changes`: for links that keep them."""
        data = {name: value for name, value in self._valid().items() if value}
        data.update(changes)
        return urlencode({name: value for name, value in data.items() if value})
