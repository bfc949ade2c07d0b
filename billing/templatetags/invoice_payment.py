"""`{% invoice_payment_of invoice as payment_state %}`: the payment block of the invoice page (templates/billing/invoices/_payment.html)."""

from __future__ import annotations

from typing import Any

from django import template

from billing.credit_notes import credit_notes_of
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from billing.taxes import ZERO

register = template.Library()


@register.simple_tag
def invoice_payment_of(invoice: Invoice) -> dict[str, Any]:
    """Whether the invoice can be paid online, for how much, and the credit notes that reduce it: one query.

    The invoice was loaded through the tenancy scope by the page's view:
    its credit notes are the company's. The rules are those of
    billing.invoice_payments.invoice_payable_error, from the notes already read.
    """
    if invoice.kind != InvoiceKind.INVOICE:
        return {"is_invoice": False}
    credit_notes = credit_notes_of(invoice=invoice)
    outstanding = max(ZERO, invoice.amount_due - sum((note.amount_due for note in credit_notes), ZERO))
    return {
        "is_invoice": True,
        "payable": invoice.status == InvoiceStatus.EXPIRED and outstanding > 0,
        "outstanding": outstanding,
        "credit_notes": credit_notes,
    }
