"""Invoices and daily traffic for the Insight tests, made row by row so that the tests can sum them independently."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from billing.models import (
    ExtraCharge,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineKind,
    TrafficDailyTotal,
)
from insight.cache import insight_traffic_changed
from roaming.models import RoamingSpendMonth
from selfcare.models import Company, Line

D = Decimal
_numbers = itertools.count(500_000)


@dataclass(frozen=True)
class Item:
    """One invoice line: its line (or None), kind, amount, cost centre; `roaming` for a roaming charge."""

    line: Line | None
    kind: str
    amount: str
    cost_centre: str = ""
    roaming: bool = False


def invoice_with(
    company: Company,
    month: date,
    items: Iterable[Item],
    *,
    vat: str = "22.00",
    stamp_duty: str = "2.00",
    credit_note_of: Invoice | None = None,
) -> Invoice:
    """An invoice (or a credit note of `credit_note_of`) of `month` with `items`; total = items + VAT + stamp duty."""
    items = list(items)
    concession = sum((D(i.amount) for i in items if i.kind == InvoiceLineKind.CONCESSION_FEE), D("0"))
    others = sum((D(i.amount) for i in items if i.kind != InvoiceLineKind.CONCESSION_FEE), D("0"))
    sequence = next(_numbers)
    invoice = Invoice.objects.create(
        company=company,
        kind=InvoiceKind.CREDIT_NOTE if credit_note_of else InvoiceKind.INVOICE,
        corrects=credit_note_of,
        year=month.year,
        sequence_number=sequence,
        number=f"T{sequence}",
        issued_on=month + timedelta(days=32),
        period_start=month,
        period_end=(month + timedelta(days=32)).replace(day=1) - timedelta(days=1),
        due_on=month + timedelta(days=60),
        taxable=others,
        vat_rate=D("22.00"),
        vat=D(vat),
        concession_fee=concession,
        stamp_duty=D(stamp_duty),
        total=others + concession + D(vat) + D(stamp_duty),
    )
    for position, item in enumerate(items, start=1):
        description = f"Item {position} of {invoice.number}"
        if item.roaming and credit_note_of is None:
            assert item.line is not None
            charge = ExtraCharge.objects.create(
                company=company,
                line=item.line,
                period_start=month,
                kind="charge",
                description=description,
                amount=D(item.amount),
                billed_on_invoice=invoice,
            )
            RoamingSpendMonth.objects.create(
                line=item.line, month=month, chargeable_spend=D(item.amount), extra_charge=charge
            )
        InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            line=item.line,
            kind=item.kind,
            description=description,
            cost_centre=item.cost_centre,
            unit_amount=D(item.amount),
            amount=D(item.amount),
            vat_applicable=item.kind != InvoiceLineKind.CONCESSION_FEE,
        )
    return invoice


def daily(
    line: Line,
    day: date,
    *,
    service: str,
    records: int = 1,
    seconds: int = 0,
    volume: int = 0,
    country: str = "IT",
    direction: str = "out",
) -> TrafficDailyTotal:
    # As the import does for the companies it touched: the Reports page's cache is renewed.
    insight_traffic_changed(company_ids=[line.company_id])
    return TrafficDailyTotal.objects.create(
        company_id=line.company_id,
        line=line,
        day=day,
        service=service,
        direction=direction,
        country=country,
        records=records,
        duration_s=seconds,
        volume_bytes=volume,
    )
