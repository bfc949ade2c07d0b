"""Forms of the core app. Choices are always limited to what the acting membership may see or grant."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from selfcare import permissions
from selfcare.models import Line, Membership
from selfcare.tenancy import visible


class LineChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        line: Line = obj
        return f"{line.number} · {line.offer.name}" + (f" · {line.cost_centre}" if line.cost_centre else "")


def _lines_field(actor: Membership) -> LineChoiceField:
    return LineChoiceField(
        label=_("Lines assigned"),
        queryset=visible(Line, membership=actor).exclude(status="ceased").select_related("offer"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A line user sees only these lines."),
    )


def _limit_roles(form: forms.Form, actor: Membership) -> None:
    """Offer only the roles the actor may grant (an administrator never sees legal representative)."""
    role_field = cast(forms.ChoiceField, form.fields["role"])
    role_field.choices = [(role.value, role.label) for role in permissions.roles_grantable_by(actor)]


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    name = forms.CharField(label=_("Full name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_roles(self, actor)
        self.fields["lines"] = _lines_field(actor)


class MemberChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, actor: Membership, member: Membership, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {"role": member.role, "lines": list(member.assigned_lines.values_list("pk", flat=True))},
        )
        super().__init__(*args, **kwargs)
        _limit_roles(self, actor)
        self.fields["lines"] = _lines_field(actor)


class CompanySwitchForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)


def form_errors_from(error: ValidationError, form: forms.Form) -> None:
    """Put a service's ValidationError on the form that fed it: by field where the form has one, else on top.

    Services check their rules themselves and raise errors keyed by field
    name; the page shows them next to what the user typed, which is kept.
    """
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)
