"""Reads of the billing app."""

from __future__ import annotations

from billing.models import Invoice, InvoiceKind, InvoiceQuerySet
from billing.taxes import Month


def invoices_of_month(*, year: int, month: int) -> InvoiceQuerySet:
    """Every company's invoice for a month (staff and the run's report; never a customer page)."""
    return (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, period_start=Month.of(year, month).first_day)
        .select_related("company")
        .order_by("year", "sequence_number")
    )
