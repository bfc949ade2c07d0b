"""The figures behind every Insight chart: one query per chart, over aggregates (docs/insight.md).

Spend comes from the invoices as issued (`InvoiceLine`, one row per line's
fee, concession fee, charge or credit, with its cost centre as billed, and
the invoice's VAT and stamp duty); traffic from `TrafficDailyTotal`, the
daily per-line roll-up the import keeps (DOMAIN.md, "Retention": it outlives
the raw records, so a chart of a past period never changes). No chart reads
a raw traffic record.

Who sees what (DOMAIN.md, "Who uses it"): an administrator or legal
representative sees the company; a line user only the lines assigned to them,
and never a company total. Company-wide amounts that belong to no line (VAT,
stamp duty, charges without a line) appear only in the company's own view,
with no filter narrowing it: a filtered view is the sum of its lines.

Credit notes store positive amounts (billing.credit_notes): they count here
with a minus sign, in the month of the invoice they correct.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import (
    ExtraCharge,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineKind,
    TrafficDailyTotal,
    TrafficService,
)
from billing.taxes import to_cents
from selfcare import permissions
from selfcare.models import Line, Membership

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)
# The charts' windows (docs/insight.md).
MONTHS_SHOWN = 12
CYCLES_COMPARED = 3
TRAFFIC_DAYS = 90
TOP_LINES = 10

# Spend categories of the monthly chart.
FEES, USAGE, ROAMING, TAXES = "fees", "usage", "roaming", "taxes"
CATEGORIES = (FEES, USAGE, ROAMING, TAXES)


@dataclass(frozen=True)
class InsightFilters:
    """What the user narrowed the charts to; kept in the URL (insight.forms)."""

    cost_centre: str = ""
    offer_id: int | None = None
    line_id: int | None = None

    @property
    def narrows(self) -> bool:
        return bool(self.cost_centre) or self.offer_id is not None or self.line_id is not None


@dataclass(frozen=True)
class InsightScope:
    """The lines a membership's charts cover, and whether company-wide amounts may be shown."""

    membership: Membership
    filters: InsightFilters = field(default_factory=InsightFilters)

    @property
    def company_id(self) -> int:
        return self.membership.company_id

    @property
    def whole_company(self) -> bool:
        """The company's own view: every line and the amounts of no line (VAT, stamp duty, company charges)."""
        return permissions.can_see_all_lines(self.membership) and not self.filters.narrows

    def lines(self) -> QuerySet[Line]:
        """The visible lines the filters keep (a subquery wherever it is used)."""
        lines = Line.objects.visible_to(self.membership)
        if self.filters.cost_centre:
            lines = lines.filter(cost_centre=self.filters.cost_centre)
        if self.filters.offer_id is not None:
            lines = lines.filter(offer_id=self.filters.offer_id)
        if self.filters.line_id is not None:
            lines = lines.filter(pk=self.filters.line_id)
        return lines


def insight_filter_choices(*, membership: Membership) -> list[tuple[int, str, str, int, str]]:
    """(line id, number, cost centre, offer id, offer name) of every visible line, by number; one query."""
    return list(
        Line.objects.visible_to(membership)
        .order_by("number", "pk")
        .values_list("pk", "number", "cost_centre", "offer_id", "offer__name")
    )


# ---------------------------------------------------------------------------
# Spend, from the invoices
# ---------------------------------------------------------------------------


def _signed(column: str) -> Any:
    """The column with a credit note's sign: its amounts are stored positive."""
    return Case(
        When(invoice__kind=InvoiceKind.CREDIT_NOTE, then=-F(column)),
        default=F(column),
        output_field=MONEY,
    )


def _invoice_lines(scope: InsightScope) -> QuerySet[InvoiceLine]:
    rows = InvoiceLine.objects.filter(invoice__company_id=scope.company_id)
    if not scope.whole_company:
        rows = rows.filter(line_id__in=scope.lines().values("pk"))
    return rows


def billed_months(*, scope: InsightScope, count: int = MONTHS_SHOWN) -> list[date]:
    """The first days of the last `count` months the company was invoiced for, oldest first; one query."""
    months = (
        Invoice.objects.filter(company_id=scope.company_id, kind=InvoiceKind.INVOICE)
        .order_by("-period_start")
        .values_list("period_start", flat=True)[:count]
    )
    return sorted(months)


def _roaming_charge() -> Exists:
    # A roaming charge is an ExtraCharge written by roaming.spend (it has a
    # RoamingSpendMonth); the billing run copies its line and description to
    # the invoice line. A credit note's lines are copies of its invoice's.
    return Exists(
        ExtraCharge.objects.filter(
            billed_on_invoice_id=Coalesce(OuterRef("invoice__corrects_id"), OuterRef("invoice_id")),
            line_id=OuterRef("line_id"),
            description=OuterRef("description"),
            roaming_month__isnull=False,
        )
    )


@dataclass
class MonthSpend:
    month: date
    fees: Decimal = ZERO
    usage: Decimal = ZERO
    roaming: Decimal = ZERO
    taxes: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.fees + self.usage + self.roaming + self.taxes


def monthly_spend(*, scope: InsightScope, months: list[date]) -> list[MonthSpend]:
    """Each billed month's spend split into fees, usage and one-off charges, roaming and taxes.

    - fees: the lines' monthly fees (InvoiceLine kind `fee`);
    - roaming: charges that roaming.spend wrote for the month abroad;
    - usage: every other charge and credit (replacement SIMs, compensation);
    - taxes: the government concession fee of the lines and, in the
      company's own view only, the invoice's VAT and stamp duty.

    In the company's view a month's total is thus the invoices' `total`
    (credit notes subtracted). One query for the lines, one for the VAT and
    stamp duty when shown.
    """
    spend = {month: MonthSpend(month=month) for month in months}
    if not months:
        return []
    category = Case(
        When(kind=InvoiceLineKind.FEE, then=Value(FEES)),
        When(kind=InvoiceLineKind.CONCESSION_FEE, then=Value(TAXES)),
        When(_roaming_charge(), then=Value(ROAMING)),
        default=Value(USAGE),
    )
    rows = (
        _invoice_lines(scope)
        .filter(invoice__period_start__in=months)
        .annotate(category=category)
        .values("invoice__period_start", "category")
        .annotate(amount=Sum(_signed("amount")))
        .order_by()
    )
    for row in rows:
        month_spend = spend[row["invoice__period_start"]]
        setattr(month_spend, row["category"], getattr(month_spend, row["category"]) + row["amount"])
    if scope.whole_company:
        sign = Case(
            When(kind=InvoiceKind.CREDIT_NOTE, then=Value(-1)), default=Value(1), output_field=IntegerField()
        )
        headers = (
            Invoice.objects.filter(company_id=scope.company_id, period_start__in=months)
            .values("period_start")
            .annotate(vat_and_stamp=Sum((F("vat") + F("stamp_duty")) * sign, output_field=MONEY))
            .order_by()
        )
        for header in headers:
            spend[header["period_start"]].taxes += header["vat_and_stamp"]
    return [spend[month] for month in months]


@dataclass
class CycleRow:
    """A cost centre's or a line's amounts in the compared cycles, oldest first."""

    label: str
    amounts: list[Decimal]
    line_id: int | None = None


def cycle_comparison(*, scope: InsightScope, months: list[date], by: str) -> list[CycleRow]:
    """The last cycles side by side, per cost centre (`by="cost_centre"`) or per line (`by="line"`).

    Net of VAT and of the fees that are taxes (government concession fee,
    stamp duty): what the lines cost before taxes, with no tax value
    (not a figure of the invoice). The cost centre is the one billed, as on
    the invoice. One query. Ordered by the last cycle's amount, highest first.
    """
    if not months:
        return []
    keys = ["cost_centre"] if by == "cost_centre" else ["line_id", "line__number"]
    rows = (
        _invoice_lines(scope)
        .filter(invoice__period_start__in=months)
        .exclude(kind=InvoiceLineKind.CONCESSION_FEE)
        .values(*keys, "invoice__period_start")
        .annotate(amount=Sum(_signed("amount")))
        .order_by()
    )
    table: dict[tuple[Any, ...], list[Decimal]] = defaultdict(lambda: [ZERO] * len(months))
    position = {month: index for index, month in enumerate(months)}
    for row in rows:
        key = tuple(row[name] for name in keys)
        table[key][position[row["invoice__period_start"]]] += row["amount"]
    result = [
        CycleRow(label=key[-1] or "", amounts=amounts, line_id=key[0] if by == "line" else None)
        for key, amounts in table.items()
    ]
    result.sort(key=lambda row: (-row.amounts[-1], row.label))
    return result


@dataclass
class LineAmount:
    line_id: int | None
    number: str
    amount: Decimal


def top_lines_by_cost(*, scope: InsightScope, month: date | None, limit: int = TOP_LINES) -> list[LineAmount]:
    """The lines that cost most in the last billed month, VAT excluded (concession fee included); one query."""
    if month is None:
        return []
    rows = (
        _invoice_lines(scope)
        .filter(invoice__period_start=month, line__isnull=False)
        .values("line_id", "line__number")
        .annotate(amount=Sum(_signed("amount")))
        .order_by("-amount", "line__number")[:limit]
    )
    return [
        LineAmount(line_id=row["line_id"], number=row["line__number"], amount=row["amount"]) for row in rows
    ]


# ---------------------------------------------------------------------------
# Traffic, from the daily per-line roll-up
# ---------------------------------------------------------------------------


def traffic_window(*, today: date | None = None) -> tuple[date, date]:
    """The last TRAFFIC_DAYS Rome days, today included: (first day, last day)."""
    last = today or timezone.localdate()
    return last - timedelta(days=TRAFFIC_DAYS - 1), last


def _daily_totals(scope: InsightScope, first: date, last: date) -> QuerySet[TrafficDailyTotal]:
    totals = TrafficDailyTotal.objects.visible_to(scope.membership).filter(day__gte=first, day__lte=last)
    if scope.filters.narrows:
        totals = totals.filter(line_id__in=scope.lines().values("pk"))
    return totals


@dataclass
class DayTraffic:
    day: date
    voice_seconds: int = 0
    sms: int = 0
    mms: int = 0
    data_bytes: int = 0


def traffic_by_day(*, scope: InsightScope, first: date, last: date) -> list[DayTraffic]:
    """Each day's calls (seconds), SMS, MMS (counts) and data (bytes), both directions; every day, one query."""
    days = {
        first + timedelta(days=n): DayTraffic(day=first + timedelta(days=n))
        for n in range((last - first).days + 1)
    }
    rows = (
        _daily_totals(scope, first, last)
        .values("day", "service")
        .annotate(records=Sum("records"), seconds=Sum("duration_s"), volume=Sum("volume_bytes"))
        .order_by()
    )
    for row in rows:
        day = days[row["day"]]
        if row["service"] == TrafficService.VOICE:
            day.voice_seconds += row["seconds"]
        elif row["service"] == TrafficService.SMS:
            day.sms += row["records"]
        elif row["service"] == TrafficService.MMS:
            day.mms += row["records"]
        elif row["service"] == TrafficService.DATA:
            day.data_bytes += row["volume"]
    return list(days.values())


@dataclass
class LineTraffic:
    line_id: int
    number: str
    data_bytes: int
    voice_seconds: int


def top_lines_by_traffic(
    *, scope: InsightScope, first: date, last: date, limit: int = TOP_LINES
) -> list[LineTraffic]:
    """The lines with the most data in the window (then the most call time); one query."""
    zero = Value(0, output_field=IntegerField())
    rows = (
        _daily_totals(scope, first, last)
        .values("line_id", "line__number")
        .annotate(
            volume=Coalesce(Sum("volume_bytes", filter=Q(service=TrafficService.DATA)), zero),
            seconds=Coalesce(Sum("duration_s", filter=Q(service=TrafficService.VOICE)), zero),
        )
        .order_by("-volume", "-seconds", "line__number")[:limit]
    )
    return [
        LineTraffic(
            line_id=row["line_id"],
            number=row["line__number"],
            data_bytes=int(row["volume"]),
            voice_seconds=int(row["seconds"]),
        )
        for row in rows
    ]


@dataclass
class CountrySpend:
    country: str
    amount: Decimal


def roaming_by_country(*, scope: InsightScope, first: date, last: date) -> list[CountrySpend]:
    """The chargeable roaming spend of the window per country, VAT excluded, highest first; one query.

    Rated exactly as roaming.spend rates a line's month (the zone's rate of
    each day, on the daily totals, rounded half-up to the cent), but per
    line, day and country rather than line, day and zone: so a country's
    figure is what its own traffic cost, and the sum over the countries of a
    zone may differ by a cent from the line's monthly spend. Home and
    roam-like-at-home countries cost nothing extra and do not appear.
    """
    # roaming.spend rates it, so that the rates and the rounding stay one definition.
    from roaming.spend import roaming_spend_by_country

    lines = None
    if not permissions.can_see_all_lines(scope.membership) or scope.filters.narrows:
        lines = scope.lines().values("pk").query.sql_with_params()
    return [
        CountrySpend(country=country, amount=to_cents(amount))
        for country, amount in roaming_spend_by_country(
            company_id=scope.company_id, first=first, last=last, lines=lines
        )
    ]


# ---------------------------------------------------------------------------
# Spend per target and month, for the alerts (insight.alerts)
# ---------------------------------------------------------------------------


def net_spend_by_month(
    *, company_ids: list[int], months: list[date], by: str, targets: list[Any]
) -> dict[tuple[int, Any, date], Decimal]:
    """{(company, line id or cost centre, month): spend} of the given targets, as the cycle charts count it.

    Net of VAT, concession fee and stamp duty, credit notes subtracted, the
    cost centre as billed (cycle_comparison's figures), over every company
    given at once; one query. A target with no invoice line in a month has no key.
    """
    if not company_ids or not months or not targets:
        return {}
    key = "line_id" if by == "line" else "cost_centre"
    rows = (
        InvoiceLine.objects.filter(
            invoice__company_id__in=company_ids, invoice__period_start__in=months, **{f"{key}__in": targets}
        )
        .exclude(kind=InvoiceLineKind.CONCESSION_FEE)
        .values("invoice__company_id", key, "invoice__period_start")
        .annotate(amount=Sum(_signed("amount")))
        .order_by()
    )
    return {
        (row["invoice__company_id"], row[key], row["invoice__period_start"]): row["amount"] for row in rows
    }


def invoiced_months(*, company_ids: list[int], months: list[date]) -> set[tuple[int, date]]:
    """(company, month) of the given months that the companies were invoiced for; one query."""
    if not company_ids or not months:
        return set()
    return set(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE, company_id__in=company_ids, period_start__in=months
        ).values_list("company_id", "period_start")
    )


def data_bytes_by_line_and_day(*, line_ids: list[int], days: list[date]) -> dict[tuple[int, int, date], int]:
    """{(company, line, day): data bytes, both directions} from the daily roll-up; one query."""
    if not line_ids or not days:
        return {}
    rows = (
        TrafficDailyTotal.objects.filter(service=TrafficService.DATA, line_id__in=line_ids, day__in=days)
        .values("company_id", "line_id", "day")
        .annotate(volume=Sum("volume_bytes"))
        .order_by()
    )
    return {(row["company_id"], row["line_id"], row["day"]): int(row["volume"]) for row in rows}
