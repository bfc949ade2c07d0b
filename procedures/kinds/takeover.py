"""Takeover (subentro): another company takes over lines of the contract (DOMAIN.md, "Forms and procedures").

The legal representative of the **outgoing** company submits it, with the
incoming company's data, the outgoing holder's consent, the takeover date,
the lines and the identity documents of both legal representatives. On
approval:

- the incoming company is found by its VAT number, or created from the form;
- each line's record of the outgoing company is ceased the day before the
  takeover date, and the incoming company gets a new record of the same
  number, SIM and offer, active from the takeover date. A number has one
  record that is not ceased at a time (Line's constraint), so the old one is
  ceased first. Traffic records and invoices keep pointing at the old
  record and company: the history stays with the outgoing company;
- the outgoing company's direct-debit mandate lapses once it has no line
  left (payment_mandate_lapse: no service of billing.payment_methods
  fits, since that one needs a member of the company and starts a new method);
- the incoming legal representative is invited to the portal
  (selfcare.services.invitations), as legal representative: staff's
  approval is what makes someone one (DOMAIN.md, "Who uses it").

Every step is audited and recorded on the request's history.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from auditlog.models import LogEntry
from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.models import PaymentMethod, PaymentMethodKind
from procedures.kinds.base import DocumentRequirement, RequestKindHandler, register
from procedures.models import Request, RequestEvent, RequestKind
from selfcare import permissions
from selfcare.models import Company, Line, LineStatus, Membership, Role, User
from selfcare.services.audit import audit_record
from selfcare.validators import (
    normalize_vat_number,
    validate_recipient_code,
    validate_tax_code,
    validate_vat_number,
)

# How far ahead a takeover may be dated: the operator needs time to switch the contract.
TAKEOVER_MAX_DAYS_AHEAD = 180


class LinesField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]  # django-stubs: Line
    def label_from_instance(self, obj: Any) -> str:
        line: Line = obj
        return " · ".join(part for part in (line.number, line.cost_centre) if part)


class TakeoverForm(forms.Form):
    incoming_name = forms.CharField(label=_("Incoming company's name"), max_length=200)
    incoming_vat_number = forms.CharField(
        label=_("Incoming company's VAT number"),
        max_length=13,
        validators=[validate_vat_number],
        help_text=_("IT followed by eleven digits."),
    )
    incoming_tax_code = forms.CharField(
        label=_("Incoming company's tax code"), max_length=16, validators=[validate_tax_code]
    )
    incoming_registered_office = forms.CharField(label=_("Registered office"), max_length=300)
    incoming_pec = forms.EmailField(label=_("Certified e-mail (PEC)"), required=False)
    incoming_recipient_code = forms.CharField(
        label=_("E-invoicing recipient code"),
        max_length=7,
        required=False,
        validators=[validate_recipient_code],
        help_text=_("Give the PEC, the recipient code, or both."),
    )
    incoming_legal_rep_name = forms.CharField(label=_("Incoming legal representative's name"), max_length=150)
    incoming_legal_rep_email = forms.EmailField(
        label=_("Incoming legal representative's e-mail"),
        help_text=_("Once we approve the takeover, we invite them to the portal."),
    )
    takeover_date = forms.DateField(
        label=_("Takeover date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("From this day the lines are the incoming company's; until the day before, yours."),
    )
    lines = LinesField(
        label=pgettext_lazy("telephone lines", "Lines"),
        queryset=Line.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose the lines the incoming company takes over."),
            "invalid_choice": _("Choose lines of your company that are not ceased."),
            "invalid_pk_value": _("Choose lines of your company that are not ceased."),
        },
    )
    outgoing_consent = forms.BooleanField(
        label=_(
            "As legal representative of the outgoing company, I consent to the transfer of these lines, "
            "and I know that their traffic and invoices before the takeover date stay with my company."
        ),
        error_messages={"required": _("The outgoing holder's consent is required.")},
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership
        self.fields["lines"].queryset = (  # type: ignore[attr-defined]
            Line.objects.filter(company_id=membership.company_id)
            .exclude(status=LineStatus.CEASED)
            .order_by("number", "pk")
        )

    def clean_incoming_vat_number(self) -> str:
        vat_number = normalize_vat_number(self.cleaned_data["incoming_vat_number"])
        if vat_number == self.membership.company.vat_number:
            raise ValidationError(_("The incoming company must be another company than yours."))
        return vat_number

    def clean_incoming_tax_code(self) -> str:
        return str(self.cleaned_data["incoming_tax_code"]).strip().upper()

    def clean_incoming_recipient_code(self) -> str:
        return str(self.cleaned_data.get("incoming_recipient_code") or "").strip().upper()

    def clean_takeover_date(self) -> date:
        takeover_date: date = self.cleaned_data["takeover_date"]
        today = timezone.localdate()
        # From tomorrow: the outgoing record is ceased the day before, which must not be in the past.
        if takeover_date <= today:
            raise ValidationError(_("Choose a day from tomorrow on."))
        if takeover_date > today + timedelta(days=TAKEOVER_MAX_DAYS_AHEAD):
            raise ValidationError(
                _("Choose a day within %(days)d days from today.") % {"days": TAKEOVER_MAX_DAYS_AHEAD}
            )
        return takeover_date

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            not cleaned.get("incoming_pec")
            and not cleaned.get("incoming_recipient_code")
            and "incoming_recipient_code" not in self.errors
            and "incoming_pec" not in self.errors
        ):
            self.add_error(
                "incoming_recipient_code", _("Give the incoming company's PEC or its recipient code.")
            )
        return cleaned


@register
class TakeoverHandler(RequestKindHandler):
    kind = RequestKind.TAKEOVER
    description = _(
        "Another company takes over some of your lines from a date: it gets them from that day, while "
        "their traffic and invoices before it stay with your company. Your direct-debit mandate lapses "
        "once no line is left."
    )
    who_may_submit = _("Only the legal representative of the outgoing company.")
    form_class = TakeoverForm
    documents = (
        DocumentRequirement(
            role="identity_outgoing", label=_("Identity document of the outgoing legal representative")
        ),
        DocumentRequirement(
            role="identity_incoming", label=_("Identity document of the incoming legal representative")
        ),
    )
    summary_template = "procedures/kinds/takeover_summary.html"

    def may_submit(self, membership: Membership) -> bool:
        return permissions.can_sign_legal_forms(membership)

    def on_approved(self, request: Request, *, by: User) -> None:
        takeover_apply(request=request, by=by)


# ---------------------------------------------------------------------------
# The effects of an approved takeover
# ---------------------------------------------------------------------------
def incoming_company_get_or_create(*, data: dict[str, Any], by: User) -> tuple[Company, bool]:
    """The incoming company by its VAT number, or a new one from the form's data (audited).

    An existing company keeps its registry data: the provisioning feed owns it.
    """
    vat_number = normalize_vat_number(str(data["incoming_vat_number"]))
    company = Company.objects.filter(vat_number=vat_number).first()
    if company is not None:
        return company, False
    company = Company(
        name=str(data["incoming_name"]).strip(),
        vat_number=vat_number,
        tax_code=str(data["incoming_tax_code"]),
        registered_office=str(data.get("incoming_registered_office") or ""),
        pec=str(data.get("incoming_pec") or ""),
        recipient_code=str(data.get("incoming_recipient_code") or ""),
    )
    company.full_clean()
    company.save()
    audit_record(
        actor=by,
        target=company,
        event="company_created_by_takeover",
        details={"vat_number": vat_number},
        action=LogEntry.Action.CREATE,
    )
    return company, True


def takeover_lines_transfer(
    *, lines: list[Line], incoming: Company, takeover_date: date
) -> list[tuple[Line, Line]]:
    """Cease each outgoing record the day before `takeover_date` and give `incoming` a new one; the pairs.

    The old record is ceased first: a number has one record not ceased at a
    time. What belongs to the SIM (ICCID, PIN, PUK, services) goes with it;
    what belongs to the outgoing company (cost centre, assigned user, prepaid
    credit) does not.
    """
    pairs = []
    ceased_on = takeover_date - timedelta(days=1)
    for old in lines:
        status = old.status
        Line.objects.filter(pk=old.pk).update(
            status=LineStatus.CEASED, ceased_on=ceased_on, updated_at=timezone.now()
        )
        old.status, old.ceased_on = LineStatus.CEASED, ceased_on
        new = Line.objects.create(
            company=incoming,
            number=old.number,
            kind=old.kind,
            sim=old.sim,
            iccid=old.iccid,
            offer_id=old.offer_id,
            # A line blocked for theft stays blocked with its new holder.
            status=status,
            activated_on=takeover_date,
            pin=old.pin,
            puk=old.puk,
            volte_enabled=old.volte_enabled,
            vas_barred=old.vas_barred,
        )
        pairs.append((old, new))
    return pairs


def payment_mandate_lapse(*, company: Company, by: User | None, reason: str) -> PaymentMethod | None:
    """The company's current direct-debit mandate lapses: the row is superseded, audited; the lapsed row or None.

    With no current method the company pays by bank transfer
    (billing.payment_methods.payment_method_current). A card, or a company
    already paying by transfer, is left as it is.
    """
    method = (
        PaymentMethod.objects.current()
        .filter(company=company, kind=PaymentMethodKind.SEPA_DIRECT_DEBIT)
        .first()
    )
    if method is None:
        return None
    claimed = PaymentMethod.objects.filter(pk=method.pk, superseded_at__isnull=True).update(
        superseded_at=timezone.now()
    )
    if claimed != 1:
        return None
    audit_record(
        actor=by,
        target=method,
        event="payment_mandate_lapsed",
        details={"company": company.pk, "mandate_reference": method.mandate_reference, "reason": reason},
        action=LogEntry.Action.UPDATE,
    )
    return method


def incoming_legal_rep_invite(*, company: Company, name: str, email: str, by: User) -> Membership | None:
    """Give the incoming legal representative access to the incoming company; None if they had it already.

    Staff approving the takeover make them legal representative (DOMAIN.md:
    only staff, the feed or a legal representative do). Someone already a
    member keeps the role they have; the request's history says so.
    """
    from selfcare.services.invitations import invitation_notify

    email = User.objects.normalize_email(email).strip().lower()
    if Membership.objects.filter(company=company, user__email__iexact=email).exists():
        return None
    user = User.objects.filter(email__iexact=email).first()
    new_user = user is None
    if user is None:
        user = User.objects.create_user(email, None, name=name.strip())
    membership = Membership.objects.create(user=user, company=company, role=Role.LEGAL_REP, invited_by=by)
    audit_record(
        actor=by,
        target=membership,
        event="member_invited",
        details={"role": Role.LEGAL_REP, "by_takeover": True},
        action=LogEntry.Action.CREATE,
    )
    invitation_notify(membership=membership, new_user=new_user)
    return membership


def takeover_apply(*, request: Request, by: User) -> Company:
    """Carry out an approved takeover (module docstring); raises ValidationError if a line has moved on.

    Runs in the decision's transaction: a line ceased or taken over since
    the submission refuses the approval, and nothing changes.
    """
    data = request.data
    takeover_date = date.fromisoformat(str(data["takeover_date"]))
    with transaction.atomic():
        lines = list(
            request.lines.select_for_update().filter(company_id=request.company_id).order_by("number", "pk")
        )
        gone = sorted(line.number for line in lines if line.status == LineStatus.CEASED)
        if gone or not lines:
            raise ValidationError(
                _("These lines are no longer the company's active lines: %(numbers)s. Ask for a new request.")
                % {"numbers": ", ".join(gone) or "—"}
            )
        incoming, created = incoming_company_get_or_create(data=data, by=by)
        pairs = takeover_lines_transfer(lines=lines, incoming=incoming, takeover_date=takeover_date)
        audit_record(
            actor=by,
            target=request,
            event="takeover_applied",
            details={
                "outgoing_company_id": request.company_id,
                "incoming_company_id": incoming.pk,
                "takeover_date": takeover_date.isoformat(),
                "lines": [{"number": old.number, "old_id": old.pk, "new_id": new.pk} for old, new in pairs],
            },
            action=LogEntry.Action.UPDATE,
        )
        notes = [
            gettext_now(
                "%(count)d line(s) go to %(company)s from %(day)s; ceased for this company on %(ceased)s."
            )
            % {
                "count": len(pairs),
                "company": incoming.name,
                "day": takeover_date.isoformat(),
                "ceased": (takeover_date - timedelta(days=1)).isoformat(),
            }
        ]
        if created:
            notes.append(gettext_now("The incoming company was created."))
        if not Line.objects.filter(company_id=request.company_id).exclude(status=LineStatus.CEASED).exists():
            lapsed = payment_mandate_lapse(
                company=request.company, by=by, reason=f"takeover {request.reference}"
            )
            if lapsed is not None:
                notes.append(gettext_now("No line is left: the direct-debit mandate has lapsed."))
        invited = incoming_legal_rep_invite(
            company=incoming,
            name=str(data.get("incoming_legal_rep_name") or ""),
            email=str(data["incoming_legal_rep_email"]),
            by=by,
        )
        if invited is not None:
            notes.append(gettext_now("The incoming legal representative was invited to the portal."))
        else:
            notes.append(gettext_now("The incoming legal representative was already a user of that company."))
        RequestEvent.objects.create(request=request, by=by, action="takeover_applied", note=" ".join(notes))
        request.data = {**data, "incoming_company_id": incoming.pk}
        request.save(update_fields=["data", "updated_at"])
    return incoming
