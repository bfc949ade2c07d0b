"""Forms of activation orders: the list's filter, "Keep me updated", and staff's step advance (admin)."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from procedures.activation import activation_next_steps, normalize_mobile_number
from procedures.models import ActivationOrder, ActivationStep
from procedures.selectors_activation import STATUS_FILTERS


class ActivationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All orders")), *STATUS_FILTERS.items()],
    )

    def status_value(self) -> str:
        """The valid status asked for, or "" (all): a status that is no status shows the error and every order."""
        if self.is_bound and self.is_valid():
            return str(self.cleaned_data.get("status") or "")
        return ""

    def query(self) -> str:
        """The filter as a query string, for the pagination links."""
        status = self.status_value()
        return urlencode({"status": status}) if status else ""


class ActivationUpdatesForm(forms.Form):
    """ "Keep me updated": the box, and a mobile number for SMS if wanted."""

    keep_me_updated = forms.BooleanField(
        label=_("Keep me updated"),
        required=False,
        help_text=_("An e-mail at every new step of the order."),
    )
    sms_to = forms.CharField(
        label=_("Mobile number for SMS (optional)"),
        required=False,
        max_length=20,
        help_text=_("Also an SMS at every new step to this mobile number, e.g. +39 333 123 4567."),
    )

    def clean_sms_to(self) -> str:
        value = str(self.cleaned_data.get("sms_to") or "").strip()
        if not value:
            return ""
        # The service validates it again: the API and the form share the rule.
        return normalize_mobile_number(value)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        if data.get("sms_to") and not data.get("keep_me_updated"):
            raise ValidationError(
                {"keep_me_updated": _("Tick “Keep me updated” to get SMS at the number given.")}
            )
        return data


class ActivationAdvanceForm(forms.Form):
    """Staff's form in the admin: the next step (or failed), when, a note, the appointment."""

    step = forms.ChoiceField(label=_("New step"), widget=forms.RadioSelect)
    reached_at = forms.DateTimeField(
        label=_("Reached at"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    appointment_at = forms.DateTimeField(
        label=_("Appointment"),
        required=False,
        help_text=_("For the appointment step: when the technician comes."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the customer on the order's timeline."),
    )

    def __init__(self, *args: Any, order: ActivationOrder, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        step_field = cast(forms.ChoiceField, self.fields["step"])
        # Any step is accepted, so that the same form sent twice reaches the service, which
        # says that the step was already reached; only the steps the order can take are offered.
        step_field.choices = ActivationStep.choices
        step_field.widget.choices = [
            (str(step), ActivationStep(step).label) for step in activation_next_steps(step=order.step)
        ]
