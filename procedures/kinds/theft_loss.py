"""Theft or loss of a SIM (DOMAIN.md, "Forms and procedures"; the services are in procedures.theft).

Anyone may report it, for the lines they may see; the lines are blocked at
once, in the submission's transaction, before any review. The police
complaint may come later, within seven days (the daily task reminds and
escalates). A replacement SIM or eSIM is a choice of the form, ordered and
charged when staff approve the request: staff check the report before a new
SIM with the same number goes out, and a rejected report leaves nothing to
refund.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from procedures.kinds.base import DocumentRequirement, RequestKindHandler, register
from procedures.models import Request, RequestKind
from procedures.theft import (
    BLOCKABLE_STATUSES,
    POLICE_COMPLAINT_ROLE,
    REPLACEMENT_SIM_CHARGE,
    THEFT_COMPLAINT_DAYS,
    ReplacementChoice,
    complaint_deadline,
    replacement_order,
    theft_request_block_lines,
)
from selfcare.models import Line, LineKind
from selfcare.validators import normalize_eid, validate_eid

if TYPE_CHECKING:
    from selfcare.models import Membership, User


class LinesField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]  # django-stubs: Line
    def label_from_instance(self, obj: Any) -> str:
        line: Line = obj
        return " · ".join(part for part in (line.number, line.cost_centre) if part)


class TheftLossForm(forms.Form):
    lines = LinesField(
        label=pgettext_lazy("telephone lines", "Lines"),
        queryset=Line.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "The SIMs stolen or lost: each of these lines is blocked as soon as you send the report."
        ),
        error_messages={
            "required": _("Choose the line of the SIM stolen or lost."),
            "invalid_choice": _("Choose among your lines that are still working."),
            "invalid_pk_value": _("Choose among your lines that are still working."),
        },
    )
    circumstance = forms.ChoiceField(
        label=_("What happened"),
        choices=[
            ("theft", _("Theft")),
            ("loss", _("Loss")),
            ("tampering", _("Tampering or PIN/PUK disclosed")),
        ],
        widget=forms.RadioSelect,
    )
    happened_on = forms.DateField(
        label=_("When it happened"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The day, or your best guess."),
    )
    replacement = forms.ChoiceField(
        label=_("Replacement with the same number"),
        choices=[
            (ReplacementChoice.NONE, _("None for now")),
            (ReplacementChoice.PHYSICAL, _("A new SIM, shipped to the address below")),
            (ReplacementChoice.ESIM, _("An eSIM for the device whose EID is below")),
        ],
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "%(amount)s € excluding VAT per line, once, on the next invoice; ordered when we approve the report."
        )
        % {"amount": REPLACEMENT_SIM_CHARGE},
    )
    delivery_address = forms.CharField(
        label=_("Delivery address of the new SIM"), max_length=300, required=False
    )
    eid = forms.CharField(
        label=_("EID of the device for the eSIM"),
        max_length=40,
        required=False,
        help_text=_("32 digits: dial *#06# on the device, or look in its settings."),
    )
    blocking_understood = forms.BooleanField(
        label=_(
            "I understand that these lines are blocked at once and stay blocked until a replacement is active."
        ),
        error_messages={"required": _("Confirm that the lines may be blocked at once.")},
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only lines the user may see and that still work: another's id is an invalid choice.
        self.fields["lines"].queryset = (  # type: ignore[attr-defined]
            Line.objects.visible_to(membership).filter(status__in=BLOCKABLE_STATUSES).order_by("number", "pk")
        )

    def clean_happened_on(self) -> date:
        happened_on: date = self.cleaned_data["happened_on"]
        if happened_on > timezone.localdate():
            raise forms.ValidationError(_("The day cannot be in the future."))
        return happened_on

    def clean_eid(self) -> str:
        eid = normalize_eid(self.cleaned_data.get("eid") or "")
        if eid:
            validate_eid(eid)
        return eid

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        replacement = cleaned.get("replacement") or ReplacementChoice.NONE
        if replacement == ReplacementChoice.PHYSICAL and not (cleaned.get("delivery_address") or "").strip():
            self.add_error("delivery_address", _("Enter where the new SIM is to be shipped."))
        if replacement == ReplacementChoice.ESIM:
            if not cleaned.get("eid") and "eid" not in self.errors:
                self.add_error("eid", _("Enter the EID of the device that is to receive the eSIM."))
            fixed = [line.number for line in cleaned.get("lines") or [] if line.kind != LineKind.MOBILE]
            if fixed:
                self.add_error(
                    "replacement", _("A fixed line has no eSIM: %(numbers)s.") % {"numbers": ", ".join(fixed)}
                )
        if replacement != ReplacementChoice.PHYSICAL:
            cleaned["delivery_address"] = ""
        if replacement != ReplacementChoice.ESIM:
            cleaned["eid"] = ""
        return cleaned


@register
class TheftLossHandler(RequestKindHandler):
    kind = RequestKind.THEFT_LOSS
    description = _(
        "Report the theft or loss of a SIM: its line is blocked at once so that nobody else can use it "
        "(the concession fee stays due until the line is ceased). Upload a copy of the police complaint "
        "within seven days; you can ask for a new SIM or an eSIM with the same number."
    )
    who_may_submit = _("Anyone, for the lines they can see.")
    form_class = TheftLossForm
    documents = (
        DocumentRequirement(
            role=POLICE_COMPLAINT_ROLE,
            label=_("Copy of the police complaint"),
            at_submission=False,
            due_days=THEFT_COMPLAINT_DAYS,
            help_text=_("Within seven days of the report: we remind you before the deadline."),
        ),
    )
    summary_template = "procedures/kinds/theft_loss_summary.html"

    def may_submit(self, membership: Membership) -> bool:
        # Every role, for the lines it may see (the form offers only those).
        return membership is not None

    def on_submitted(self, request: Request, *, membership: Membership) -> None:
        """Block the lines now, in the submission's transaction: before any review (DOMAIN.md)."""
        theft_request_block_lines(request=request, user=membership.user)

    def on_approved(self, request: Request, *, by: User) -> None:
        """Order the replacement SIM or eSIM asked for, charged once on the next invoice."""
        replacement_order(request=request, by=by)

    def due_on(self, request: Request) -> date | None:
        """The complaint's deadline: seven days after the report (the operator's rule)."""
        reported = timezone.localdate(request.submitted_at) if request.submitted_at else timezone.localdate()
        return complaint_deadline(reported_on=reported)
