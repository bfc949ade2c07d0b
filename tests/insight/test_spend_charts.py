"""The spend charts: each figure checked against the invoice rows the test made, summed here on their own."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billing.models import Invoice, InvoiceKind, InvoiceLineKind
from insight.reports import EURO, TEXT, ChartTable, Column, insight_table
from insight.selectors import InsightFilters, InsightScope
from selfcare.models import Membership
from tests.cast import Cast
from tests.factories import LineFactory
from tests.insight.data import Item, invoice_with

pytestmark = pytest.mark.django_db

D = Decimal
FEE, TAX, CHARGE, CREDIT = (
    InvoiceLineKind.FEE,
    InvoiceLineKind.CONCESSION_FEE,
    InvoiceLineKind.CHARGE,
    InvoiceLineKind.CREDIT,
)
MONTHS = [date(2025 + (8 + n) // 12, (8 + n) % 12 + 1, 1) for n in range(14)]  # 2025-09 … 2026-10


class Ledger:
    """What the test billed, by month: (line id or None, category, signed amount, cost centre, kind)."""

    def __init__(self) -> None:
        self.rows: list[tuple[date, int | None, str, Decimal, str, str]] = []

    def bill(self, cast: Cast, month: date, items: list[Item], *, note_of: Invoice | None = None) -> Invoice:
        invoice = invoice_with(cast.rossi, month, items, credit_note_of=note_of)
        sign = -1 if note_of else 1
        for item in items:
            categories: dict[str, str] = {FEE: "fees", TAX: "taxes"}
            category = categories.get(item.kind) or ("roaming" if item.roaming else "usage")
            line_id = item.line.pk if item.line else None
            self.rows.append((month, line_id, category, sign * D(item.amount), item.cost_centre, item.kind))
        return invoice


@pytest.fixture
def ledger(cast: Cast) -> Ledger:
    """Fourteen months of Rossi's invoices, a credit note, and Bianchi's invoice of the last month."""
    book = Ledger()
    assigned, other = cast.rossi_assigned_line, cast.rossi_other_line
    last_invoice = None
    for n, month in enumerate(MONTHS):
        items = [
            Item(assigned, FEE, f"{10 + n}.10", "Cantieri"),
            Item(assigned, TAX, "12.91", "Cantieri"),
            Item(other, FEE, f"{20 + n}.25", "Ufficio"),
            Item(other, TAX, "12.91", "Ufficio"),
            Item(None, CHARGE, "3.00"),
        ]
        if n % 3 == 0:
            items.append(Item(other, CHARGE, "15.00", "Ufficio"))  # a replacement SIM
        if n >= 11:
            items.append(Item(assigned, CHARGE, f"{n}.40", "Cantieri", roaming=True))
            items.append(Item(other, CREDIT, "-7.50", "Ufficio"))  # compensation
        last_invoice = book.bill(cast, month, items)
    # A credit note of the last month's fee of the other line.
    assert last_invoice is not None
    book.bill(cast, MONTHS[-1], [Item(other, FEE, f"{20 + 13}.25", "Ufficio")], note_of=last_invoice)
    bianchi_line = cast.bianchi_line
    invoice_with(cast.bianchi, MONTHS[-1], [Item(bianchi_line, FEE, "999.99", "Sales")])
    return book


def _rows_by_key(slug: str, membership: Membership, filters: InsightFilters | None = None) -> list[list[Any]]:
    scope = InsightScope(membership=membership, filters=filters or InsightFilters())
    return insight_table(scope=scope, slug=slug).rows


def test_monthly_spend_splits_each_of_the_last_twelve_months_as_billed(cast: Cast, ledger: Ledger) -> None:
    rows = _rows_by_key("monthly-spend", cast.rossi_admin)

    expected: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: D("0")))
    for month, _line, category, amount, _centre, _kind in ledger.rows:
        expected[month][category] += amount
    for invoice in Invoice.objects.filter(company=cast.rossi):
        sign = -1 if invoice.kind == InvoiceKind.CREDIT_NOTE else 1
        expected[invoice.period_start]["taxes"] += sign * (invoice.vat + invoice.stamp_duty)
    assert [row[0] for row in rows] == MONTHS[-12:]
    for month, fees, usage, roaming, taxes, total in rows:
        assert (fees, usage, roaming, taxes) == (
            expected[month]["fees"],
            expected[month]["usage"],
            expected[month]["roaming"],
            expected[month]["taxes"],
        )
        # The company's month is what its invoices total, credit notes subtracted.
        invoiced = sum(
            (
                (-1 if i.kind == InvoiceKind.CREDIT_NOTE else 1) * i.total
                for i in Invoice.objects.filter(company=cast.rossi, period_start=month)
            ),
            D("0"),
        )
        assert total == invoiced
    assert rows[-1][3] > 0  # roaming is there in the last months


def test_a_line_user_sees_the_assigned_lines_amounts_and_no_company_total(cast: Cast, ledger: Ledger) -> None:
    rows = _rows_by_key("monthly-spend", cast.rossi_line_user)

    mine = cast.rossi_assigned_line.pk
    for month, fees, usage, roaming, taxes, total in rows:
        own: dict[str, Decimal] = defaultdict(lambda: D("0"))
        for row_month, line, category, amount, _centre, _kind in ledger.rows:
            if row_month == month and line == mine:
                own[category] += amount
        # The concession fee of the line, never the invoice's VAT or stamp duty.
        assert (fees, usage, roaming, taxes) == (own["fees"], own["usage"], own["roaming"], own["taxes"])
        assert total == sum(own.values(), D("0"))
        assert total != sum(
            i.total for i in Invoice.objects.filter(company=cast.rossi, period_start=month, kind="invoice")
        )


@pytest.mark.parametrize("by", ["cycles-cost-centre", "cycles-line"])
def test_the_last_three_cycles_are_net_of_vat_and_fees(cast: Cast, ledger: Ledger, by: str) -> None:
    rows = _rows_by_key(by, cast.rossi_admin)

    last_three = MONTHS[-3:]
    expected: dict[str, list[Decimal]] = defaultdict(lambda: [D("0")] * 3)
    numbers: dict[int | None, str] = {
        cast.rossi_assigned_line.pk: cast.rossi_assigned_line.number,
        cast.rossi_other_line.pk: cast.rossi_other_line.number,
    }
    for month, line, _category, amount, centre, kind in ledger.rows:
        if month in last_three and kind != TAX:
            key = (
                (centre or "No cost centre")
                if by == "cycles-cost-centre"
                else numbers.get(line, "Company charges")
            )
            expected[key][last_three.index(month)] += amount
    assert {row[0]: list(row[1:]) for row in rows} == dict(expected)
    # Highest last cycle first.
    assert [row[-1] for row in rows] == sorted((row[-1] for row in rows), reverse=True)


def test_a_cost_centre_filter_keeps_its_lines_only(cast: Cast, ledger: Ledger) -> None:
    rows = _rows_by_key("cycles-line", cast.rossi_admin, InsightFilters(cost_centre="Cantieri"))

    assert [row[0] for row in rows] == [cast.rossi_assigned_line.number]


def test_top_lines_by_cost_are_the_last_months_lines_highest_first(cast: Cast, ledger: Ledger) -> None:
    rows = _rows_by_key("top-lines-cost", cast.rossi_admin)

    totals: dict[int, Decimal] = defaultdict(lambda: D("0"))
    for month, line, _category, amount, _centre, _kind in ledger.rows:
        if month == MONTHS[-1] and line is not None:
            totals[line] += amount
    numbers: dict[int | None, str] = {
        cast.rossi_assigned_line.pk: cast.rossi_assigned_line.number,
        cast.rossi_other_line.pk: cast.rossi_other_line.number,
    }
    expected = sorted(((numbers[line], total) for line, total in totals.items()), key=lambda pair: -pair[1])
    assert [tuple(row) for row in rows] == expected


def test_a_line_user_cannot_widen_the_view_with_a_filter(cast: Cast, ledger: Ledger) -> None:
    other_line = InsightFilters(line_id=cast.rossi_other_line.pk)

    rows = _rows_by_key("top-lines-cost", cast.rossi_line_user, other_line)

    assert rows == []


def test_a_company_with_no_invoice_has_empty_spend_charts(cast: Cast) -> None:
    LineFactory.create(company=cast.rossi)
    for slug in ("monthly-spend", "cycles-cost-centre", "cycles-line", "top-lines-cost"):
        assert _rows_by_key(slug, cast.rossi_admin) == []


def test_a_cycle_charts_text_alternative_gives_the_last_cycle_it_is_ordered_by() -> None:
    table = ChartTable(
        slug="cycles-cost-centre",
        title="Cycles",
        chart="bar",
        columns=[
            Column("label", "Cost centre", TEXT),
            Column("a", "September", EURO),
            Column("b", "October", EURO),
        ],
        rows=[
            ["Direzione", Decimal("1.00"), Decimal("202.60")],
            ["Cantieri", Decimal("300.00"), Decimal("5.00")],
        ],
    )

    assert "Direzione, October € 202.60" in table.summary()
