"""Invoices made directly, with the amounts of 7 lines at €10.00: for the pages and the API, not the run."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from billing.models import Invoice, InvoiceLine, InvoiceLineKind, InvoiceStatus
from selfcare.models import Company, Line

D = Decimal
_numbers = itertools.count(1)


def make_invoice(
    company: Company,
    *,
    month: int = 1,
    year: int = 2025,
    status: str = InvoiceStatus.ISSUED,
    total: str = "177.77",
    lines: Sequence[tuple[Line | None, str, str]] = (),
) -> Invoice:
    """An invoice issued on the 1st of the month after `month`; `lines` are (line, cost centre, amount)."""
    sequence = next(_numbers)
    issued_year, issued_month = (year + 1, 1) if month == 12 else (year, month + 1)
    invoice = Invoice.objects.create(
        company=company,
        year=issued_year,
        sequence_number=sequence,
        number=f"FT{issued_year}/{sequence:06d}",
        issued_on=date(issued_year, issued_month, 1),
        period_start=date(year, month, 1),
        period_end=date(year, month, 28),
        due_on=date(issued_year, issued_month, 28),
        status=status,
        taxable=D("70.00"),
        vat_rate=D("22.00"),
        vat=D("15.40"),
        concession_fee=D("90.37"),
        stamp_duty=D("2.00"),
        total=D(total),
    )
    for position, (line, centre, amount) in enumerate(lines, start=1):
        InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            line=line,
            kind=InvoiceLineKind.FEE if line else InvoiceLineKind.CHARGE,
            description=f"Fee {position}" if line else "Replacement SIM",
            cost_centre=centre,
            unit_amount=D(amount),
            amount=D(amount),
            vat_applicable=True,
        )
    return invoice
