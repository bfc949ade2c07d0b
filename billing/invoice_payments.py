"""Paying an invoice: online through the payment provider once it has expired, or by a bank transfer staff record.

Online, `invoice_payment_start` makes a pending `Payment` for what is left
to pay and returns the provider's page; the provider's signed callback goes
through billing.services (`payment_callback_receive` → `payment_complete`),
which calls `invoice_payment_paid` once the payment is claimed as paid.

An invoice is paid once, whatever happens:
- the invoice moves to paid by an UPDATE conditioned on its unpaid states,
  so a second effect finds nothing to claim;
- `payment_invoice_paid_once` (a unique index on paid payments per invoice)
  refuses a second paid payment of the same invoice: two payments started in
  two tabs and both completed on the provider's page. The second is then
  recorded as failed with the reason `invoice_already_paid` (the money was
  taken: staff refund it; the payment page tells the customer so), and the
  callback still answers 200, so the provider stops retrying.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.credit_notes import billing_managers, invoice_outstanding
from billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentPurpose, PaymentStatus
from billing.payments import ProviderEvent, payment_provider
from billing.services import payment_start
from selfcare.models import Membership, User
from selfcare.permissions import can_manage_billing
from selfcare.services.audit import audit_record
from selfcare.services.credit import payment_receipt_number_assign
from selfcare.services.notifications import notify

logger = logging.getLogger(__name__)

# The failure reason of a payment taken for an invoice that was already paid:
# the customer's money is to be given back (billing.views.failure_message).
ALREADY_PAID = "invoice_already_paid"


def invoice_payable_error(*, invoice: Invoice) -> str:
    """Why the invoice cannot be paid online now, for the customer; empty when it can."""
    if invoice.kind != InvoiceKind.INVOICE:
        return _("A credit note is not paid: it reduces what the invoice it corrects asks for.")
    if invoice.status == InvoiceStatus.PAID:
        return _("This invoice is already paid.")
    if invoice.status != InvoiceStatus.EXPIRED:
        return _(
            "This invoice is not expired yet: it is paid with the company's payment method by its due date."
        )
    if invoice_outstanding(invoice=invoice) <= 0:
        return _("Nothing is left to pay on this invoice: its credit notes cover it.")
    return ""


def invoice_payment_start(
    *, invoice: Invoice, membership: Membership, return_url: Callable[[Payment], str]
) -> tuple[Payment, str]:
    """A pending payment of what is left to pay on an expired invoice, and the provider's page for it.

    `return_url(payment)` is where the provider sends the browser back: the
    payment's own page, whose address needs the payment's reference.

    The amount is the invoice's amount due (under split payment, the total
    less the VAT the public body pays to the Treasury) less that of its credit
    notes. Refused with a ValidationError (no field) for an invoice that is
    not expired, already paid, or covered; PaymentsUnavailableError when no
    provider is configured.
    """
    if not can_manage_billing(membership) or invoice.company_id != membership.company_id:
        # The views load the invoice through the tenancy scope; this guards other callers.
        raise ValidationError(_("Only those who handle the company's invoices may pay them."))
    error = invoice_payable_error(invoice=invoice)
    if error:
        raise ValidationError(error)
    provider = payment_provider()
    payment = Payment.objects.create(
        company_id=invoice.company_id,
        purpose=PaymentPurpose.INVOICE,
        invoice=invoice,
        amount=invoice_outstanding(invoice=invoice),
        provider=provider.name,
        created_by=membership.user,
    )
    return payment, payment_start(payment=payment, return_url=return_url(payment))


def invoice_payment_paid(*, payment: Payment) -> None:
    """The effect of a paid invoice payment: the invoice paid, once, and the receipt sent.

    Runs in payment_complete's transaction, after it claimed the payment. An
    invoice that is no longer unpaid (a bank transfer recorded meanwhile, or
    credit notes that cover it) is not paid twice: the payment is recorded as
    failed, to refund.
    """
    if payment.purpose != PaymentPurpose.INVOICE or payment.invoice_id is None:
        raise ValueError("only an invoice payment pays an invoice")
    invoice = Invoice.objects.select_related("company").get(pk=payment.invoice_id)
    outstanding = invoice_outstanding(invoice=invoice)
    claimed = Invoice.objects.filter(
        pk=invoice.pk, kind=InvoiceKind.INVOICE, status__in=[InvoiceStatus.EXPIRED, InvoiceStatus.ISSUED]
    ).update(status=InvoiceStatus.PAID)
    if claimed != 1:
        invoice_payment_refund_due(payment=payment, provider_reference=payment.provider_reference)
        return
    if payment.amount > outstanding:
        # A credit note issued while the payment was on the provider's page.
        logger.error(
            "invoice %s paid %s by payment %s, %s more than was left to pay: refund the difference",
            invoice.number,
            payment.amount,
            payment.reference,
            payment.amount - outstanding,
        )
    receipt_number = payment_receipt_number_assign(payment=payment)
    audit_record(
        actor=payment.created_by,
        target=invoice,
        event="invoice_paid_online",
        details={
            "company_id": invoice.company_id,
            "payment": str(payment.reference),
            "amount": str(payment.amount),
            "receipt_number": receipt_number,
        },
    )
    recipients = {user.pk: user for user in billing_managers(company_id=invoice.company_id)}
    if payment.created_by is not None:
        recipients[payment.created_by.pk] = payment.created_by
    notify(
        company=invoice.company,
        event="invoice_paid",
        key=f"payment-{payment.pk}",
        recipients=recipients.values(),
        context={"invoice": invoice, "payment": payment, "receipt_number": receipt_number},
        link=reverse("billing:payment-receipt", kwargs={"reference": payment.reference}),
    )


def invoice_payment_refund_due(*, payment: Payment, provider_reference: str) -> bool:
    """Record a payment taken for an invoice already paid as failed, to refund; whether this call did it.

    From pending (payment_complete found `payment_invoice_paid_once` in its
    way) or from paid (invoice_payment_paid found the invoice settled
    otherwise). Logged as an error and audited: staff refund it through the
    provider, whose reference the payment keeps.
    """
    changed = Payment.objects.filter(
        pk=payment.pk, status__in=[PaymentStatus.PENDING, PaymentStatus.PAID], receipt_number__isnull=True
    ).update(
        status=PaymentStatus.FAILED,
        failure_reason=ALREADY_PAID,
        completed_at=timezone.now(),
        provider_reference=provider_reference,
    )
    if changed != 1:
        return False
    payment.refresh_from_db()
    logger.error(
        "payment %s (%s %s) taken for invoice %s, which was already paid: refund it",
        payment.reference,
        payment.amount,
        payment.currency,
        payment.invoice_id,
    )
    audit_record(
        actor=None,
        target=payment,
        event="invoice_payment_refund_due",
        details={
            "company_id": payment.company_id,
            "invoice_id": payment.invoice_id,
            "amount": str(payment.amount),
        },
    )
    return True


def invoice_payment_paid_twice(*, payment: Payment, event: ProviderEvent) -> bool:
    """payment_complete's answer when the claim hits `payment_invoice_paid_once`: the payment is to refund."""
    with transaction.atomic():
        return invoice_payment_refund_due(payment=payment, provider_reference=event.provider_reference)


def invoice_mark_paid_by_bank_transfer(*, invoice: Invoice, by: User) -> bool:
    """Staff record a bank transfer received for an unpaid invoice; whether this call marked it paid."""
    if invoice.kind != InvoiceKind.INVOICE:
        return False
    with transaction.atomic():
        claimed = Invoice.objects.filter(
            pk=invoice.pk, kind=InvoiceKind.INVOICE, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.EXPIRED]
        ).update(status=InvoiceStatus.PAID)
        if claimed != 1:
            return False
        invoice.refresh_from_db()
        audit_record(
            actor=by,
            target=invoice,
            event="invoice_paid_by_bank_transfer",
            details={"company_id": invoice.company_id, "number": invoice.number},
        )
    return True
