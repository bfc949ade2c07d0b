"""Credit notes: the only way to correct an issued invoice (DOMAIN.md, "an issued invoice is never changed").

Sign convention (docs/billing.md, "Credit notes"): a credit note stores its
amounts **positive**, as FatturaPA document type TD04 carries them; its
`kind` (`credit_note`) says that they go the other way. `Invoice.total` is
thus never negative, the list's total filters work on it unchanged, and a
sum of what a company owes counts credit notes with a minus sign by their
kind (`invoice_credited` below). The one exception is
`letter_of_intent_amount`, which is negative on a credit note, so that the
sum over a letter's documents is what its ceiling has used.

A credit note asks for no payment: it is issued with status `paid`
("nothing to pay"), so the expiry task, the "unpaid" filter and the pay
button never see it. When the credit notes of an invoice leave nothing of
it to pay, the invoice itself is settled (status `paid`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceStatus,
)
from billing.selectors import tax_profile_for
from billing.services import _sequence_lock
from billing.taxes import (
    ZERO,
    Month,
    TaxItem,
    TaxProfile,
    VatExemption,
    VatTreatment,
    invoice_totals,
    to_cents,
)
from selfcare.models import Membership, Role, User
from selfcare.permissions import can_manage_billing
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify

logger = logging.getLogger(__name__)

CREDIT_NOTE_PREFIX = "NC"

_MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass(frozen=True)
class Credited:
    """What an invoice's credit notes add up to (all zero when it has none)."""

    count: int
    total: Decimal
    vat: Decimal
    # What the customer no longer owes the operator: the totals, less the VAT under split payment.
    amount_due: Decimal
    # The VAT-able amounts credited (lines subject to VAT, before VAT).
    vatable: Decimal


def invoice_credited(*, invoice: Invoice) -> Credited:
    """The sum of `invoice`'s credit notes: one query for the amounts, one for their VAT-able lines."""
    notes = Invoice.objects.filter(corrects=invoice, kind=InvoiceKind.CREDIT_NOTE)
    sums = notes.aggregate(
        credited_total=Coalesce(Sum("total"), Value(ZERO), output_field=_MONEY),
        credited_vat=Coalesce(Sum("vat"), Value(ZERO), output_field=_MONEY),
        credited_due=Coalesce(
            Sum(Case(When(split_payment=True, then=F("total") - F("vat")), default=F("total"))),
            Value(ZERO),
            output_field=_MONEY,
        ),
        notes=Count("pk"),
    )
    vatable = InvoiceLine.objects.filter(invoice__in=notes, vat_applicable=True).aggregate(
        amount=Coalesce(Sum("amount"), Value(ZERO), output_field=_MONEY)
    )["amount"]
    return Credited(
        count=int(sums["notes"]),
        total=sums["credited_total"],
        vat=sums["credited_vat"],
        amount_due=sums["credited_due"],
        vatable=vatable,
    )


def invoice_vatable(*, invoice: Invoice) -> Decimal:
    """The invoice's amounts subject to VAT by nature, before VAT (taxable, or non-taxable under an exemption)."""
    amount: Decimal = InvoiceLine.objects.filter(invoice=invoice, vat_applicable=True).aggregate(
        amount=Coalesce(Sum("amount"), Value(ZERO), output_field=_MONEY)
    )["amount"]
    return amount


def invoice_outstanding(*, invoice: Invoice) -> Decimal:
    """What is left for the customer to pay on an invoice: its amount due less that of its credit notes."""
    if invoice.kind != InvoiceKind.INVOICE:
        return ZERO
    return max(ZERO, invoice.amount_due - invoice_credited(invoice=invoice).amount_due)


def billing_managers(*, company_id: int) -> list[User]:
    """The people who handle a company's invoices (selfcare.permissions.can_manage_billing)."""
    memberships = Membership.objects.filter(
        company_id=company_id, role__in=[Role.ADMIN, Role.LEGAL_REP]
    ).select_related("user")
    return [membership.user for membership in memberships if can_manage_billing(membership)]


def credit_note_issue(
    *, invoice: Invoice, by: User | None, reason: str, amount: Decimal | None = None
) -> Invoice:
    """Issue a credit note on `invoice`: the whole invoice (`amount` None) or part of its VAT-able amounts.

    - Full: every line of the invoice, with its taxes (VAT, concession fee,
      stamp duty) as the invoice has them. Only on an invoice with no credit
      note yet: after a partial one, the rest is credited with partial notes.
    - Partial: one VAT-able amount, before VAT, taxed as the invoice was
      (its VAT rate, its exemption, split payment); no concession fee and no
      stamp duty, which belong to the invoice as a whole.

    Never more than what remains of the invoice after its earlier credit
    notes: refused with a ValidationError keyed `amount`, nothing written.
    Numbered in the credit notes' own gapless sequence of the year of issue.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the invoice is corrected: the credit note carries it.")})
    if amount is not None and (amount <= 0 or amount != to_cents(amount)):
        raise ValidationError({"amount": _("Give the amount in euro and cents, more than zero.")})
    with transaction.atomic():
        # The invoice's row lock orders concurrent credit notes on it: each
        # sees the ones issued before it when it checks what remains.
        locked = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("company", "letter_of_intent")
            .get(pk=invoice.pk)
        )
        if locked.kind != InvoiceKind.INVOICE:
            raise ValidationError(_("A credit note corrects an invoice, not another credit note."))
        credited = invoice_credited(invoice=locked)
        if amount is None:
            note, lines = _full_note(invoice=locked, credited=credited)
        else:
            note, lines = _partial_note(invoice=locked, credited=credited, amount=amount)
        issued_on = timezone.localdate()
        # The same function and row lock as the billing run's: gapless, and a
        # rolled-back issue gives its number back (DPR 633/1972 art. 21).
        sequence = _sequence_lock(kind=InvoiceKind.CREDIT_NOTE, year=issued_on.year)
        sequence.last_number += 1
        sequence.save(update_fields=["last_number"])
        note.company = locked.company
        note.kind = InvoiceKind.CREDIT_NOTE
        note.corrects = locked
        note.year = issued_on.year
        note.sequence_number = sequence.last_number
        note.number = f"{CREDIT_NOTE_PREFIX}{issued_on.year}/{sequence.last_number:06d}"
        note.issued_on = issued_on
        # Nothing is due on a credit note: see the module's docstring.
        note.due_on = issued_on
        note.status = InvoiceStatus.PAID
        note.period_start = locked.period_start
        note.period_end = locked.period_end
        note.payment_method = locked.payment_method
        note.split_payment = locked.split_payment
        note.reason = reason[:300]
        note.save()
        for position, line in enumerate(lines, start=1):
            line.invoice = note
            line.position = position
        InvoiceLine.objects.bulk_create(lines)
        settled = False
        if locked.amount_due - credited.amount_due - note.amount_due <= 0:
            # Nothing left to pay: the invoice is settled by its credit notes,
            # so it neither expires nor offers the pay button.
            settled = (
                Invoice.objects.filter(
                    pk=locked.pk, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.EXPIRED]
                ).update(status=InvoiceStatus.PAID)
                == 1
            )
        audit_record(
            actor=by,
            target=note,
            event="credit_note_issued",
            details={
                "company_id": note.company_id,
                "invoice_id": locked.pk,
                "invoice_number": locked.number,
                "number": note.number,
                "full": amount is None,
                "total": str(note.total),
                "reason": note.reason,
                "invoice_settled": settled,
            },
        )
        notify(
            company=locked.company,
            event="credit_note_issued",
            key=f"credit-note-{note.pk}",
            recipients=billing_managers(company_id=locked.company_id),
            context={"credit_note": note, "invoice": locked},
            link=reverse("billing:invoice-detail", kwargs={"pk": note.pk}),
        )
    logger.info("credit note %s issued on invoice %s (%s)", note.number, locked.number, note.total)
    return note


def _full_note(*, invoice: Invoice, credited: Credited) -> tuple[Invoice, list[InvoiceLine]]:
    if credited.count:
        raise ValidationError(
            {
                "amount": _(
                    "This invoice already has a credit note: a full credit note would credit it twice. "
                    "Credit what remains with a partial credit note."
                )
            }
        )
    note = Invoice(
        taxable=invoice.taxable,
        vat_rate=invoice.vat_rate,
        vat=invoice.vat,
        untaxed=invoice.untaxed,
        concession_fee=invoice.concession_fee,
        stamp_duty=invoice.stamp_duty,
        total=invoice.total,
        exemption_notes=invoice.exemption_notes,
        letter_of_intent=invoice.letter_of_intent,
        # Negative: the letter's ceiling gets back what the invoice used of it.
        letter_of_intent_amount=-invoice.letter_of_intent_amount,
    )
    lines = [
        InvoiceLine(
            line_id=line.line_id,
            kind=line.kind,
            description=line.description,
            cost_centre=line.cost_centre,
            days=line.days,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            vat_applicable=line.vat_applicable,
        )
        for line in InvoiceLine.objects.filter(invoice=invoice).order_by("position")
    ]
    return note, lines


def _partial_note(
    *, invoice: Invoice, credited: Credited, amount: Decimal
) -> tuple[Invoice, list[InvoiceLine]]:
    remaining_vatable = invoice_vatable(invoice=invoice) - credited.vatable
    if amount > remaining_vatable:
        raise ValidationError(
            {
                "amount": _(
                    "The invoice has € %(remaining)s of VAT-able amounts left to credit: "
                    "a credit note cannot exceed what remains of the invoice."
                )
                % {"remaining": max(ZERO, remaining_vatable)}
            }
        )
    profile = _profile_of_invoice(invoice)
    totals = invoice_totals(items=[TaxItem(amount=amount, vat_applicable=True)], profile=profile)
    vat = totals.vat
    remaining_vat = invoice.vat - credited.vat
    if amount == remaining_vatable:
        # The note that credits the last of the base gives back exactly the VAT
        # left: VAT rounded on each note must not add up to a cent more or less.
        vat = remaining_vat
    elif vat > remaining_vat:
        raise ValidationError(
            {"amount": _("This amount would credit more VAT than the invoice has left: credit what remains.")}
        )
    total = totals.taxable + vat + totals.untaxed
    if total > invoice.total - credited.total:
        raise ValidationError(
            {
                "amount": _(
                    "The invoice has € %(remaining)s left to credit: the credit note cannot exceed it."
                )
                % {"remaining": invoice.total - credited.total}
            }
        )
    under_letter = invoice.letter_of_intent_id is not None and totals.untaxed != 0
    note = Invoice(
        taxable=totals.taxable,
        vat_rate=totals.vat_rate,
        vat=vat,
        untaxed=totals.untaxed,
        concession_fee=ZERO,
        stamp_duty=ZERO,
        total=total,
        exemption_notes="\n".join(totals.notes),
        letter_of_intent=invoice.letter_of_intent if under_letter else None,
        letter_of_intent_amount=-totals.untaxed if under_letter else ZERO,
    )
    line = InvoiceLine(
        kind=InvoiceLineKind.CHARGE,
        description=f"Storno parziale fattura {invoice.number} del {invoice.issued_on:%d/%m/%Y}"[:300],
        unit_amount=amount,
        amount=amount,
        vat_applicable=True,
    )
    return note, [line]


def _profile_of_invoice(invoice: Invoice) -> TaxProfile:
    """The VAT treatment of the invoice as issued, for a partial note on it; never stamp duty or concession fee.

    The rate and split payment are the invoice's own fields. An exempt or
    non-taxable invoice (rate 0, DPR 633/1972 art. 26: the note follows the
    operation it corrects) takes its regime from the letter of intent it
    used, or else from the exemption of its month.
    """
    split_payment = invoice.split_payment
    if invoice.vat_rate != 0:
        return TaxProfile(vat_rate=invoice.vat_rate, split_payment=split_payment, stamp_duty_exempt=True)
    exemption: VatExemption | None = None
    letter = invoice.letter_of_intent
    if letter is not None:
        exemption = VatExemption(
            treatment=VatTreatment.NON_TAXABLE,
            legal_reference=f"{letter.legal_reference.strip()}, lettera d'intento prot. n. {letter.protocol_number.strip()}",
        )
    else:
        exemption = tax_profile_for(
            company=invoice.company, month=Month.of(invoice.period_start.year, invoice.period_start.month)
        ).vat_exemption
    if exemption is None:
        raise ValidationError(
            {
                "amount": _(
                    "The VAT regime of this invoice cannot be found any more: issue a full credit note instead."
                )
            }
        )
    return TaxProfile(vat_rate=Decimal(0), vat_exemption=exemption, stamp_duty_exempt=True)


def credit_notes_of(*, invoice: Invoice) -> list[Invoice]:
    """The credit notes of an invoice, oldest first."""
    return list(
        Invoice.objects.filter(Q(corrects=invoice) & Q(kind=InvoiceKind.CREDIT_NOTE)).order_by(
            "issued_on", "pk"
        )
    )
