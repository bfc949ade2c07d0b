"""The filters of the customer's fair-use page, read from the query string."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.http import urlencode
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from billing.models import FairUseFindingStatus, FairUseRuleCode
from billing.selectors_fair_use import FairUseFilters


class FairUseFilterForm(forms.Form):
    line = forms.TypedChoiceField(label=_("Line"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *FairUseFindingStatus.choices]
    )
    rule = forms.ChoiceField(
        label=_("Rule"),
        required=False,
        choices=[
            ("", _("Any rule")),
            # Lazy: the form class is made once, the label is read in each request's language.
            *((code, format_lazy("{}: {}", code, label)) for code, label in FairUseRuleCode.choices),
        ],
    )

    def __init__(self, *args: Any, lines: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the lines with a finding the user may see: any other id is refused as an unknown choice.
        line_field = cast(forms.TypedChoiceField, self.fields["line"])
        line_field.choices = [("", _("Every line")), *((str(pk), number) for pk, number in lines)]

    def filters(self) -> FairUseFilters:
        """The valid filters; a field with an error is ignored (and shown with its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return FairUseFilters(
            line_id=data.get("line"), status=data.get("status") or "", rule=data.get("rule") or ""
        )

    def query(self) -> str:
        """The valid filters as a query string, for the pagination's links."""
        filters = self.filters()
        pairs = [("line", filters.line_id), ("status", filters.status), ("rule", filters.rule)]
        return urlencode([(name, str(value)) for name, value in pairs if value not in (None, "")])
