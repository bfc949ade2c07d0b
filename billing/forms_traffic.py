"""The filters of the traffic report, read from the query string: the page, the API and every download use this form.

The parameter names are the API's (CONTRACTS.md): `line` (E.164, repeatable),
`from` and `to` (Rome dates), plus `service` and `direction`. A line the
user may not see is refused like an unknown one, so the answer never tells
whether a number belongs to the company.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.models import TrafficDirection, TrafficService
from billing.traffic_report import REPORT_DAYS, TrafficFilters, report_window
from selfcare.models import Line, Membership


class TrafficFilterForm(forms.Form):
    line = forms.MultipleChoiceField(label=pgettext_lazy("telephone lines", "Lines"), required=False)
    # `from` and `to` are added in __init__: `from` is a Python keyword.
    service = forms.ChoiceField(
        label=_("Service"), required=False, choices=[("", _("Any service")), *TrafficService.choices]
    )
    direction = forms.ChoiceField(
        label=_("Direction"), required=False, choices=[("", _("Both directions")), *TrafficDirection.choices]
    )

    def __init__(self, params: Any, *, membership: Membership, today: date | None = None) -> None:
        super().__init__(params)
        self.window = report_window(today=today)
        first, last = self.window
        bounds = {"type": "date", "min": first.isoformat(), "max": last.isoformat()}
        self.fields["from"] = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(bounds))
        self.fields["to"] = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(bounds))
        self.order_fields(["line", "from", "to", "service", "direction"])
        # The lines the user may see, by number; a number may have had several line records (takeovers).
        self._line_ids: dict[str, list[int]] = {}
        for pk, number in Line.objects.visible_to(membership).order_by("number").values_list("pk", "number"):
            self._line_ids.setdefault(number, []).append(pk)
        line_field = cast(forms.MultipleChoiceField, self.fields["line"])
        line_field.choices = [(number, number) for number in self._line_ids]
        line_field.error_messages["invalid_choice"] = _(
            "%(value)s is not one of your lines: write it as +39 followed by the number."
        )

    def _in_window(self, value: date | None) -> date | None:
        first, last = self.window
        if value is not None and not first <= value <= last:
            raise forms.ValidationError(
                _("The report covers the last %(days)d days: choose a date from %(first)s to %(last)s."),
                params={"days": REPORT_DAYS, "first": first.isoformat(), "last": last.isoformat()},
                code="outside_window",
            )
        return value

    def clean_from(self) -> date | None:
        return self._in_window(self.cleaned_data.get("from"))

    def clean_to(self) -> date | None:
        return self._in_window(self.cleaned_data.get("to"))

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        first, last = cleaned.get("from"), cleaned.get("to")
        if first is not None and last is not None and first > last:
            self.add_error("to", _("The end date must not be before the start date."))
        return cleaned

    def filters(self) -> TrafficFilters:
        """The valid filters; a field with an error falls back to its default (and is shown with its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        first, last = self.window
        first_day = data.get("from") or first
        last_day = data.get("to") or last
        if first_day > last_day:
            first_day, last_day = first, last
        line_ids = tuple(pk for number in data.get("line") or [] for pk in self._line_ids.get(number, []))
        return TrafficFilters(
            first_day=first_day,
            last_day=last_day,
            line_ids=line_ids,
            service=data.get("service") or "",
            direction=data.get("direction") or "",
        )

    def query(self) -> str:
        """The valid filters as a query string, for pagination and download links."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        pairs: list[tuple[str, str]] = [("line", number) for number in data.get("line") or []]
        for name in ("from", "to"):
            if data.get(name):
                pairs.append((name, data[name].isoformat()))
        for name in ("service", "direction"):
            if data.get(name):
                pairs.append((name, data[name]))
        return urlencode(pairs)
