"""Reads of the customer's invoice pages and API: the filtered list and one invoice laid out per SIM."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.db.models.functions import ExtractYear

from billing.models import Invoice, InvoiceLine
from selfcare.models import Membership

INVOICE_ORDER = ("-issued_on", "-year", "-sequence_number", "-id")


@dataclass(frozen=True)
class InvoiceFilters:
    year: int | None = None
    status: str = ""
    min_total: Decimal | None = None
    max_total: Decimal | None = None

    @property
    def narrows(self) -> bool:
        return bool(self.year or self.status or self.min_total is not None or self.max_total is not None)


def invoices_filtered(*, membership: Membership, filters: InvoiceFilters) -> QuerySet[Invoice]:
    """The invoices and credit notes the membership may see, filtered, newest first."""
    return invoice_filters_apply(invoices=Invoice.objects.visible_to(membership), filters=filters).order_by(
        *INVOICE_ORDER
    )


def invoice_filters_apply(*, invoices: QuerySet[Invoice], filters: InvoiceFilters) -> QuerySet[Invoice]:
    """Narrows invoices already scoped to the caller: shared by the page and the API."""
    if filters.year:
        invoices = invoices.filter(issued_on__year=filters.year)
    if filters.status:
        invoices = invoices.filter(status=filters.status)
    if filters.min_total is not None:
        invoices = invoices.filter(total__gte=filters.min_total)
    if filters.max_total is not None:
        invoices = invoices.filter(total__lte=filters.max_total)
    return invoices


def invoice_years(*, membership: Membership) -> list[int]:
    """The years with an invoice, newest first: the choices of the year filter."""
    years = (
        Invoice.objects.visible_to(membership)
        .annotate(issue_year=ExtractYear("issued_on"))
        .values_list("issue_year", flat=True)
        .distinct()
        .order_by("-issue_year")
    )
    return [int(year) for year in years]


@dataclass
class SimGroup:
    """The lines of an invoice about one SIM (or, with no number, about the whole contract)."""

    number: str
    cost_centre: str
    rows: list[InvoiceLine] = field(default_factory=list)
    subtotal: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class CostCentreSubtotal:
    cost_centre: str
    subtotal: Decimal


@dataclass(frozen=True)
class InvoiceLayout:
    sims: list[SimGroup]
    other: SimGroup | None
    cost_centres: list[CostCentreSubtotal]


def invoice_layout(*, invoice: Invoice) -> InvoiceLayout:
    """The invoice's lines grouped per SIM in the invoice's order, and the subtotal of each cost centre.

    One query: the invoice was already loaded through the tenancy scope, so its lines are the company's.
    """
    rows = list(InvoiceLine.objects.filter(invoice=invoice).select_related("line").order_by("position"))
    sims: dict[int, SimGroup] = {}
    other: SimGroup | None = None
    per_centre: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for row in rows:
        if row.line_id is None or row.line is None:
            if other is None:
                other = SimGroup(number="", cost_centre="")
            group = other
        else:
            group = sims.setdefault(
                row.line_id, SimGroup(number=row.line.number, cost_centre=row.cost_centre)
            )
        group.rows.append(row)
        group.subtotal += row.amount
        per_centre[row.cost_centre] += row.amount
    # Named centres alphabetically, the lines with no centre last.
    centres = sorted(per_centre.items(), key=lambda item: (item[0] == "", item[0].casefold()))
    return InvoiceLayout(
        sims=list(sims.values()),
        other=other,
        cost_centres=[CostCentreSubtotal(name, subtotal) for name, subtotal in centres],
    )
