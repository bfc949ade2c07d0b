"""Forms of the roaming pages: the switches, the rates search and the trip calculator."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from roaming.pricing import TripUsage
from roaming.selectors import QUERY_MAX_LENGTH, roaming_country_choices

# Bounds that keep an estimate meaningful (and its arithmetic small): a year's trip, a day's minutes.
MAX_DAYS = 365
MAX_MINUTES_A_DAY = 24 * 60
MAX_SMS_A_DAY = 1000
MAX_MB_A_DAY = 100_000


class RoamingSwitchForm(forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("on", _("On")), ("off", _("Off"))],
        coerce=lambda value: value == "on",
    )


class SpendingCapForm(forms.Form):
    spending_cap = forms.DecimalField(
        label=_("Spending cap a month (€, excl. VAT)"), min_value=0, max_digits=10, decimal_places=2
    )


class RatesSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=QUERY_MAX_LENGTH,
        help_text=_("Part of the country's name, in Italian or English."),
    )

    def query(self) -> str:
        if not self.is_valid():
            return ""
        query: str = self.cleaned_data["q"]
        return query.strip()


def _per_day(label: Any, maximum: int) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=maximum, initial=0)


class TripForm(forms.Form):
    """A trip: where, how long, and what the traveller expects to use each day."""

    country = forms.ChoiceField(label=_("Country"))
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=MAX_DAYS, initial=7)
    minutes_made = _per_day(_("Minutes of calls made a day"), MAX_MINUTES_A_DAY)
    minutes_received = _per_day(_("Minutes of calls received a day"), MAX_MINUTES_A_DAY)
    sms = _per_day(_("SMS sent a day"), MAX_SMS_A_DAY)
    megabytes = _per_day(_("MB of data a day"), MAX_MB_A_DAY)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country = cast(forms.ChoiceField, self.fields["country"])
        country.choices = [("", _("Choose a country")), *roaming_country_choices()]

    def usage(self) -> TripUsage:
        data = self.cleaned_data
        return TripUsage(
            days=data["days"],
            minutes_made=data["minutes_made"],
            minutes_received=data["minutes_received"],
            sms=data["sms"],
            megabytes=data["megabytes"],
        )
