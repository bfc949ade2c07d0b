"""The kinds of request whose approval is one change of data: directory listing, dispute, company data,
the three tax exemptions and a higher roaming spending cap (DOMAIN.md, "Forms and procedures").

Each is a `RequestKindHandler` registered with `@register`; its form holds
the kind's rules about the values, its `on_approved` the one change the
approval makes, in the decision's transaction (a ValidationError refuses
the approval and changes nothing).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from billing.forms_clear_numbers import CompanyLinesField
from billing.forms_payment_methods import DateInput
from billing.models import Invoice, TaxExemption, TaxExemptionKind
from billing.models.invoices import tax_exemption_errors
from procedures.kinds.base import DocumentRequirement, RequestKindHandler, register
from procedures.models import Request, RequestKind
from selfcare import permissions
from selfcare.models import Company, Line, LineKind, LineStatus, Membership, User
from selfcare.services.audit import audit_record
from selfcare.validators import (
    normalize_vat_number,
    validate_recipient_code,
    validate_tax_code,
    validate_vat_number,
)


def _admin_or_legal_rep(membership: Membership) -> bool:
    return permissions.is_admin(membership) or permissions.is_legal_rep(membership)


class KindForm(forms.Form):
    """A kind's form: it knows the membership, so that its choices are the company's own rows."""

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership


def _lines_field(*, label: Any = None, help_text: Any = None) -> CompanyLinesField:
    return CompanyLinesField(
        label=label or pgettext_lazy("telephone lines", "Lines"),
        queryset=Line.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=help_text or _("Choose one or more lines (Ctrl or ⌘ and click to choose several)."),
        error_messages={
            "required": _("Choose at least one line."),
            "invalid_choice": _("Choose lines of your company only."),
            "invalid_pk_value": _("Choose lines of your company only."),
        },
    )


def _company_lines(membership: Membership, *, mobile_only: bool = False) -> Any:
    lines = Line.objects.visible_to(membership).exclude(status=LineStatus.CEASED).order_by("number")
    return lines.filter(kind=LineKind.MOBILE) if mobile_only else lines


# ---------------------------------------------------------------------------
# Phone directory listing
# ---------------------------------------------------------------------------


class DirectoryListingForm(KindForm):
    lines = _lines_field(help_text=_("The numbers to publish, or whose listing changes."))
    listed = forms.TypedChoiceField(
        label=_("Listing"),
        choices=[
            ("yes", _("Publish these numbers in the public directories")),
            ("no", _("Do not publish them")),
        ],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    published_name = forms.CharField(
        label=_("Name to publish"), max_length=200, required=False, help_text=_("Usually the company's name.")
    )
    published_address = forms.CharField(label=_("Address to publish"), max_length=300, required=False)
    occupation = forms.CharField(label=_("Business activity to publish"), max_length=100, required=False)
    reverse_search = forms.BooleanField(
        label=_("Allow finding the company's name from its number (reverse search)"), required=False
    )
    postal_advertising = forms.BooleanField(
        label=_("The published address may receive advertising by post"), required=False
    )
    phone_advertising = forms.BooleanField(
        label=_("The published numbers may receive advertising calls"), required=False
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        cast(CompanyLinesField, self.fields["lines"]).queryset = _company_lines(membership)
        if not self.is_bound:
            self.initial.setdefault("published_name", membership.company.name)

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if cleaned.get("listed") and not (cleaned.get("published_name") or "").strip():
            self.add_error("published_name", gettext("Give the name to publish."))
        if cleaned.get("listed") is False:
            # Nothing is published: consents about a listing that will not exist are not kept.
            for name in ("reverse_search", "postal_advertising", "phone_advertising"):
                cleaned[name] = False
        return cleaned


@register
class DirectoryListingHandler(RequestKindHandler):
    kind = RequestKind.DIRECTORY_LISTING
    description = _(
        "Publish the company's numbers in the public phone directories, or remove them, with your consent choices."
    )
    who_may_submit = _("A legal representative or an administrator of the company.")
    form_class = DirectoryListingForm

    def may_submit(self, membership: Membership) -> bool:
        return _admin_or_legal_rep(membership)


# ---------------------------------------------------------------------------
# Dispute under the Budget Law 2020
# ---------------------------------------------------------------------------


class InvoicesField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]  # django-stubs: Invoice
    def label_from_instance(self, obj: Any) -> str:
        invoice: Invoice = obj
        return f"{invoice.number} · {invoice.issued_on:%d/%m/%Y} · € {invoice.total}"


class DisputeForm(KindForm):
    invoices = InvoicesField(
        label=_("Invoices concerned"),
        queryset=Invoice.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={
            "required": _("Choose at least one invoice."),
            "invalid_choice": _("Choose invoices of your company only."),
            "invalid_pk_value": _("Choose invoices of your company only."),
        },
    )
    time_barred = forms.BooleanField(
        label=_("The charges were billed more than two years after they arose (Law 160/2019, art. 1(295))"),
        required=False,
    )
    amount = forms.DecimalField(
        label=_("Amount disputed (€)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    reason = forms.CharField(
        label=_("Reason for the dispute"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Which charges, why you dispute them, and what you ask for."),
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        invoices = Invoice.objects.filter(company_id=membership.company_id).order_by("-issued_on", "-id")
        cast(InvoicesField, self.fields["invoices"]).queryset = invoices


@register
class DisputeHandler(RequestKindHandler):
    kind = RequestKind.DISPUTE
    description = _(
        "Dispute charges of your invoices. Under the Budget Law 2020 (Law 160/2019) charges billed "
        "more than two years after they arose are time-barred."
    )
    who_may_submit = _("A legal representative or an administrator of the company.")
    form_class = DisputeForm
    documents = (
        DocumentRequirement(
            "dispute_evidence",
            _("Documents behind the dispute"),
            help_text=_("For example the invoice with the charges marked, or your records of the period."),
        ),
    )

    def may_submit(self, membership: Membership) -> bool:
        return _admin_or_legal_rep(membership)


# ---------------------------------------------------------------------------
# Company and tax data change
# ---------------------------------------------------------------------------

_POSTCODE = re.compile(r"^\d{5}$")
_PROVINCE = re.compile(r"^[A-Z]{2}$")


class CompanyDataForm(KindForm):
    name = forms.CharField(label=_("Company name"), max_length=200)
    vat_number = forms.CharField(
        label=_("VAT number"),
        max_length=13,
        validators=[validate_vat_number],
        help_text=_("IT followed by eleven digits."),
    )
    tax_code = forms.CharField(label=_("Tax code"), max_length=16, validators=[validate_tax_code])
    street = forms.CharField(label=_("Street and number"), max_length=200)
    postcode = forms.CharField(label=_("Postcode"), max_length=5)
    city = forms.CharField(label=_("City"), max_length=100)
    province = forms.CharField(label=_("Province"), max_length=2, help_text=_("Two letters, e.g. MI."))
    recipient_code = forms.CharField(
        label=_("E-invoicing recipient code"),
        max_length=7,
        required=False,
        validators=[validate_recipient_code],
        help_text=_("Seven letters or digits. Give this or a PEC address."),
    )
    pec = forms.EmailField(label=_("Certified e-mail (PEC)"), required=False)

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        company = membership.company
        if not self.is_bound:
            self.initial.update(
                name=company.name,
                vat_number=company.vat_number,
                tax_code=company.tax_code,
                recipient_code=company.recipient_code,
                pec=company.pec,
            )

    def clean_vat_number(self) -> str:
        return normalize_vat_number(self.cleaned_data["vat_number"])

    def clean_tax_code(self) -> str:
        return str(self.cleaned_data["tax_code"]).strip().upper()

    def clean_postcode(self) -> str:
        value = str(self.cleaned_data["postcode"]).strip()
        if not _POSTCODE.match(value):
            raise ValidationError(gettext("A postcode (CAP) has five digits."))
        return value

    def clean_province(self) -> str:
        value = str(self.cleaned_data["province"]).strip().upper()
        if not _PROVINCE.match(value):
            raise ValidationError(gettext("The province is its two-letter code, e.g. MI."))
        return value

    def clean_recipient_code(self) -> str:
        return str(self.cleaned_data.get("recipient_code") or "").strip().upper()

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if (
            not cleaned.get("recipient_code")
            and not cleaned.get("pec")
            and not self.has_error("recipient_code")
            and not self.has_error("pec")
        ):
            self.add_error(
                "recipient_code",
                gettext(
                    "Give the e-invoicing recipient code or a PEC address: invoices are delivered there."
                ),
            )
        vat_number = cleaned.get("vat_number")
        if (
            vat_number
            and Company.objects.filter(vat_number=vat_number).exclude(pk=self.membership.company_id).exists()
        ):
            self.add_error(
                "vat_number", gettext("Another customer has this VAT number: check it, or call us.")
            )
        return cleaned


def registered_office_text(data: dict[str, Any]) -> str:
    """The structured office as Company.registered_office holds it: "Via Roma 1, 20121 Milano MI"."""
    return f"{data['street']}, {data['postcode']} {data['city']} {data['province']}"


@register
class CompanyDataHandler(RequestKindHandler):
    kind = RequestKind.COMPANY_DATA
    description = _(
        "Change the company's name, VAT number, tax code, registered office, or where electronic "
        "invoices are delivered (recipient code or PEC)."
    )
    who_may_submit = _("Only a legal representative of the company.")
    form_class = CompanyDataForm
    documents = (
        DocumentRequirement(
            "chamber_extract",
            _("Chamber of commerce extract (visura camerale)"),
            help_text=_("Issued in the last six months, showing the new data."),
        ),
    )

    def may_submit(self, membership: Membership) -> bool:
        return permissions.can_sign_legal_forms(membership)

    def on_approved(self, request: Request, *, by: User) -> None:
        data = request.data
        company = Company.objects.select_for_update().get(pk=request.company_id)
        before = {
            field: getattr(company, field)
            for field in ("name", "vat_number", "tax_code", "registered_office", "recipient_code", "pec")
        }
        company.name = data["name"]
        company.vat_number = data["vat_number"]
        company.tax_code = data["tax_code"]
        company.registered_office = registered_office_text(data)
        company.recipient_code = data.get("recipient_code") or ""
        company.pec = data.get("pec") or ""
        # The model's validators and the unique VAT number, checked again now: the data may have aged in the queue.
        company.full_clean()
        company.save()
        audit_record(
            actor=by,
            target=company,
            event="company_data_changed",
            details={"request": request.reference, "before": before},
        )


# ---------------------------------------------------------------------------
# Tax exemptions: VAT, concession fee, stamp duty
# ---------------------------------------------------------------------------


class ExemptionForm(KindForm):
    """The legal ground and validity of an exemption; the billing model's rules, keyed by field."""

    exemption_kind: ClassVar[str] = ""

    legal_reference = forms.CharField(
        label=_("Legal ground"),
        max_length=200,
        help_text=_(
            'The law that grants it, as the invoice will print it, e.g. "Esente art. 10 DPR 633/1972".'
        ),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    valid_until = forms.DateField(
        label=_("Valid until"),
        widget=DateInput(),
        required=False,
        help_text=_("Leave empty when it has no end."),
    )

    def regime(self, cleaned: dict[str, Any]) -> str:
        return self.exemption_kind

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        errors = tax_exemption_errors(
            kind=self.regime(cleaned),
            legal_reference=cleaned.get("legal_reference") or "",
            protocol_number=cleaned.get("protocol_number") or "",
            ceiling=cleaned.get("ceiling"),
            valid_from=cleaned.get("valid_from"),
            valid_until=cleaned.get("valid_until"),
        )
        for field, message in errors.items():
            if field in self.fields and not self.has_error(field):
                self.add_error(field, message)
        return cleaned


VAT_REGIMES = [
    (TaxExemptionKind.VAT_EXEMPT.value, TaxExemptionKind.VAT_EXEMPT.label),
    (TaxExemptionKind.VAT_NON_TAXABLE.value, TaxExemptionKind.VAT_NON_TAXABLE.label),
    (TaxExemptionKind.LETTER_OF_INTENT.value, TaxExemptionKind.LETTER_OF_INTENT.label),
]


class VatExemptionForm(ExemptionForm):
    regime_kind = forms.ChoiceField(label=_("Regime"), choices=VAT_REGIMES)
    protocol_number = forms.CharField(
        label=_("Protocol number"), max_length=60, required=False, help_text=_("Letter of intent only.")
    )
    ceiling = forms.DecimalField(
        label=_("Ceiling (€)"),
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Letter of intent only: the amount that may be invoiced without VAT."),
    )
    field_order = [
        "regime_kind",
        "legal_reference",
        "protocol_number",
        "ceiling",
        "valid_from",
        "valid_until",
    ]

    def regime(self, cleaned: dict[str, Any]) -> str:
        return str(cleaned.get("regime_kind") or "")


class ConcessionFeeExemptionForm(ExemptionForm):
    exemption_kind = TaxExemptionKind.CONCESSION_FEE


class StampDutyExemptionForm(ExemptionForm):
    exemption_kind = TaxExemptionKind.STAMP_DUTY


_EXEMPTION_DOCUMENTS = (
    DocumentRequirement(
        "exemption_ground",
        _("Document of the legal ground"),
        help_text=_(
            "The declaration, letter of intent with its receipt, or the act that grants the exemption."
        ),
    ),
)


class ExemptionHandler(RequestKindHandler):
    """On approval the company gets an approved TaxExemption, which the billing run applies to later invoices."""

    who_may_submit = _("Only a legal representative of the company.")
    documents = _EXEMPTION_DOCUMENTS
    exemption_kind: ClassVar[str] = ""

    def may_submit(self, membership: Membership) -> bool:
        return permissions.can_sign_legal_forms(membership)

    def tax_exemption_kind(self, data: dict[str, Any]) -> str:
        return self.exemption_kind

    def on_approved(self, request: Request, *, by: User) -> None:
        data = request.data
        ceiling = data.get("ceiling")
        exemption = TaxExemption(
            company_id=request.company_id,
            kind=self.tax_exemption_kind(data),
            legal_reference=data.get("legal_reference") or "",
            protocol_number=data.get("protocol_number") or "",
            ceiling=Decimal(ceiling) if ceiling not in (None, "") else None,
            valid_from=date.fromisoformat(data["valid_from"]),
            valid_until=date.fromisoformat(data["valid_until"]) if data.get("valid_until") else None,
            approved_at=timezone.now(),
            approved_by=by,
        )
        # The billing model's rules, overlaps with the company's other exemptions included.
        exemption.clean()
        exemption.save()
        audit_record(
            actor=by,
            target=exemption,
            event="tax_exemption_approved",
            details={"request": request.reference, "kind": exemption.kind},
        )


@register
class VatExemptionHandler(ExemptionHandler):
    kind = RequestKind.VAT_EXEMPTION
    description = _("An exempt or non-taxable VAT regime, or a letter of intent, applied to later invoices.")
    form_class = VatExemptionForm

    def tax_exemption_kind(self, data: dict[str, Any]) -> str:
        return str(data["regime_kind"])


@register
class ConcessionFeeExemptionHandler(ExemptionHandler):
    kind = RequestKind.CONCESSION_FEE_EXEMPTION
    description = _(
        "An exemption from the government concession fee of mobile lines, applied to later invoices."
    )
    form_class = ConcessionFeeExemptionForm
    exemption_kind = TaxExemptionKind.CONCESSION_FEE


@register
class StampDutyExemptionHandler(ExemptionHandler):
    kind = RequestKind.STAMP_DUTY_EXEMPTION
    description = _("An exemption from the stamp duty on invoices, applied to later invoices.")
    form_class = StampDutyExemptionForm
    exemption_kind = TaxExemptionKind.STAMP_DUTY


# ---------------------------------------------------------------------------
# Higher roaming spending cap
# ---------------------------------------------------------------------------

# The highest monthly cap staff grant through this form; more is a contract matter.
MAX_ROAMING_CAP = Decimal("5000.00")


class RoamingCapForm(KindForm):
    lines = _lines_field(help_text=_("The mobile lines that need a higher cap."))
    cap = forms.DecimalField(
        label=_("Monthly cap wanted (€, VAT excluded)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    reason = forms.CharField(
        label=_("Why"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        lines = _company_lines(membership, mobile_only=True).select_related("roaming")
        cast(CompanyLinesField, self.fields["lines"]).queryset = lines

    def clean_cap(self) -> Decimal:
        cap: Decimal = self.cleaned_data["cap"]
        if cap > MAX_ROAMING_CAP:
            raise ValidationError(
                gettext("We grant at most €%(max)s a month here: for more, call your account manager.")
                % {"max": MAX_ROAMING_CAP}
            )
        return cap

    def clean(self) -> dict[str, Any] | None:
        from roaming.models import DEFAULT_SPENDING_CAP

        cleaned = super().clean() or {}
        cap, lines = cleaned.get("cap"), cleaned.get("lines")
        if cap is not None and lines:
            already = [
                line.number
                for line in lines
                if cap <= (line.roaming.spending_cap_granted if _has_roaming(line) else DEFAULT_SPENDING_CAP)
            ]
            if already:
                self.add_error(
                    "cap",
                    gettext("These lines may already have this cap, set it on their Abroad page: %(numbers)s")
                    % {"numbers": ", ".join(already)},
                )
        return cleaned


def _has_roaming(line: Line) -> bool:
    # A line has a settings row from its first change on; the missing one-to-one raises an AttributeError.
    return hasattr(line, "roaming")


@register
class RoamingCapHandler(RequestKindHandler):
    kind = RequestKind.ROAMING_CAP
    description = _(
        "A monthly roaming spending cap higher than the one you may set yourself, for some lines."
    )
    who_may_submit = _("A legal representative or an administrator of the company.")
    form_class = RoamingCapForm

    def may_submit(self, membership: Membership) -> bool:
        return permissions.can_manage_spending_cap(membership)

    def on_approved(self, request: Request, *, by: User) -> None:
        """Raise the ceiling the company may set itself (spending_cap_granted) and set the cap to it."""
        from roaming.models import LineRoaming

        cap = Decimal(str(request.data["cap"]))
        for line in request.lines.all().order_by("pk"):
            if line.status == LineStatus.CEASED:
                continue  # ceased since the request: no cap to raise
            LineRoaming.objects.get_or_create(line=line)
            settings = LineRoaming.objects.select_for_update().get(pk=line.pk)
            before = (settings.spending_cap, settings.spending_cap_granted)
            settings.spending_cap_granted = max(settings.spending_cap_granted, cap)
            settings.spending_cap = cap
            settings.spending_cap_changed_at = timezone.now()
            settings.spending_cap_changed_by = by
            settings.save()
            audit_record(
                actor=by,
                target=settings,
                event="line_roaming_cap_granted",
                details={
                    "request": request.reference,
                    "line": line.number,
                    "before": [str(value) for value in before],
                    "after": str(cap),
                },
            )
