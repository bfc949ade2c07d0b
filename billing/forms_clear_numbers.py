"""The fields of a request for numbers in clear: lines, period and the legal representative's declaration.

The request is made through the procedures (procedures.kinds.clear_numbers,
whose form extends this one and checks the rules of
billing.clear_numbers.clear_numbers_request in its `clean`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.clear_numbers import clear_numbers_lines
from billing.forms_payment_methods import DateInput
from selfcare.models import Line, LineStatus, Membership


class CompanyLinesField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]  # django-stubs: Line
    def label_from_instance(self, obj: Any) -> str:
        line: Line = obj
        parts = [line.number]
        if line.cost_centre:
            parts.append(line.cost_centre)
        if line.status == LineStatus.CEASED:
            parts.append(str(_("ceased")))
        return " · ".join(parts)


class ClearNumbersRequestForm(forms.Form):
    lines = CompanyLinesField(
        label=pgettext_lazy("telephone lines", "Lines"),
        queryset=Line.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Choose one or more lines (Ctrl or ⌘ and click to choose several)."),
        error_messages={
            "required": _("Choose at least one line."),
            "invalid_choice": _("Choose lines of your company only."),
            "invalid_pk_value": _("Choose lines of your company only."),
        },
    )
    period_start = forms.DateField(label=_("From"), widget=DateInput())
    period_end = forms.DateField(label=_("To"), widget=DateInput())
    users_informed = forms.BooleanField(
        label=_(
            "I declare that the users of these lines have been informed that the company receives "
            "the other party's numbers of their calls and messages in clear "
            "(Italian privacy code, art. 124)."
        ),
        # The service says why it is required: one message, the same as the API's.
        required=False,
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the company's lines are choices: another company's id is an invalid choice.
        self.fields["lines"].queryset = clear_numbers_lines(membership=membership)  # type: ignore[attr-defined]
