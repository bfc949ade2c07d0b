"""Each Insight chart as a table: the one shape the page, the exports (CSV, XLSX) and the API share.

A table's values are typed (Decimal euros, integers, dates, text), never
formatted: the page formats them in the user's language (Django's
localization), the CSV and XLSX write them as numbers, the API as decimal
strings. `CHARTS` lists the charts in the order of the page; each is built by
its own function, so an export or an API call runs only that chart's query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.formats import date_format, number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from insight import selectors
from insight.selectors import InsightScope

EURO, COUNT, MINUTES, MEGABYTES, TEXT, MONTH, DAY = "eur", "count", "minutes", "mb", "text", "month", "day"
# On the page, the per-line comparison shows this many lines; the exports and the API carry them all.
PAGE_ROWS = 50
CHART_ROWS = 15


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str


@dataclass
class ChartTable:
    slug: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    chart: str  # "stacked_bar", "bar", "line", "horizontal_bar"
    note: str = ""
    # Columns drawn as series (the first column is the label of the x axis).
    series: list[str] = field(default_factory=list)
    # Series drawn against the secondary axis (another unit).
    secondary: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows

    def summary(self) -> str:
        """The chart's text alternative: what it shows and its highest and latest figures."""
        if not self.rows:
            return _("%(title)s: no figures yet.") % {"title": self.title}
        parts = [self.title + "."]
        if self.chart in ("stacked_bar", "line"):
            last = self.rows[-1]
            figures = ", ".join(
                f"{column.label} {display(value, column.unit)}"
                for column, value in zip(self.columns[1:], last[1:], strict=True)
            )
            parts.append(
                _("Latest, %(label)s: %(figures)s.")
                % {"label": display(last[0], self.columns[0].unit), "figures": figures}
            )
        else:
            top = self.rows[0]
            # The cycle charts are ordered by their last cycle: that is the figure to give.
            index = len(self.columns) - 1 if self.chart == "bar" else 1
            shown = self.columns[index]
            parts.append(
                _("Highest: %(label)s, %(figure)s.")
                % {
                    "label": display(top[0], self.columns[0].unit),
                    "figure": f"{shown.label} {display(top[index], shown.unit)}",
                }
            )
        parts.append(_("The table below has every figure."))
        return " ".join(parts)


def display(value: Any, unit: str) -> str:
    """A value in the current language: euros with two decimals, months and days as dates."""
    if value is None:
        return "-"
    if unit == EURO:
        return "€ " + number_format(value, 2, force_grouping=True)
    if unit in (MINUTES, MEGABYTES):
        return number_format(value, 1, force_grouping=True)
    if unit == COUNT:
        return number_format(value, 0, force_grouping=True)
    if unit == MONTH:
        return date_format(value, "YEAR_MONTH_FORMAT")
    if unit == DAY:
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def _minutes(seconds: int) -> Decimal:
    return (Decimal(seconds) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _megabytes(volume: int) -> Decimal:
    # 1 MB = 10^6 bytes, as the roaming rates count it (roaming.spend).
    return (Decimal(volume) / 1_000_000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Context:
    """What several charts share, read once per page."""

    scope: InsightScope
    months: list[date]
    first_day: date
    last_day: date


def context_for(scope: InsightScope, *, today: date | None = None) -> Context:
    first, last = selectors.traffic_window(today=today)
    return Context(scope=scope, months=selectors.billed_months(scope=scope), first_day=first, last_day=last)


def monthly_spend_table(ctx: Context) -> ChartTable:
    months = selectors.monthly_spend(scope=ctx.scope, months=ctx.months)
    taxes_label = _("Taxes") if ctx.scope.whole_company else _("Concession fee")
    return ChartTable(
        slug="monthly-spend",
        title=_("Spend per month, last %(count)d invoices") % {"count": selectors.MONTHS_SHOWN},
        chart="stacked_bar",
        columns=[
            Column("month", _("Month"), MONTH),
            Column("fees", _("Fees"), EURO),
            Column("usage", _("Usage and one-off charges"), EURO),
            Column("roaming", _("Roaming"), EURO),
            Column("taxes", taxes_label, EURO),
            Column("total", _("Total"), EURO),
        ],
        series=["fees", "usage", "roaming", "taxes"],
        rows=[[m.month, m.fees, m.usage, m.roaming, m.taxes, m.total] for m in months],
        note=(
            _("Taxes are VAT, stamp duty and the government concession fee; credit notes are subtracted.")
            if ctx.scope.whole_company
            else _(
                "The lines' own amounts: VAT and stamp duty are on the company's invoices, "
                "and show only in the whole company's view."
            )
        ),
    )


def _cycles_table(ctx: Context, *, by: str) -> ChartTable:
    months = ctx.months[-selectors.CYCLES_COMPARED :]
    rows = selectors.cycle_comparison(scope=ctx.scope, months=months, by=by)
    first_label = _("Cost centre") if by == "cost_centre" else _("Line")
    no_centre = _("No cost centre")
    return ChartTable(
        slug="cycles-cost-centre" if by == "cost_centre" else "cycles-line",
        title=(
            _("Last three billing cycles per cost centre")
            if by == "cost_centre"
            else _("Last three billing cycles per line")
        ),
        chart="bar",
        columns=[
            Column("label", first_label, TEXT),
            *(Column(f"{month:%Y-%m}", display(month, MONTH), EURO) for month in months),
        ],
        series=[f"{month:%Y-%m}" for month in months],
        rows=[
            [row.label or (no_centre if by == "cost_centre" else _("Company charges")), *row.amounts]
            for row in rows
        ],
        note=_(
            "Net of VAT and of the concession fee and stamp duty. No tax value: "
            "a summary of the invoices, not a tax document."
        ),
    )


def cycles_cost_centre_table(ctx: Context) -> ChartTable:
    return _cycles_table(ctx, by="cost_centre")


def cycles_line_table(ctx: Context) -> ChartTable:
    return _cycles_table(ctx, by="line")


def traffic_daily_table(ctx: Context) -> ChartTable:
    days = selectors.traffic_by_day(scope=ctx.scope, first=ctx.first_day, last=ctx.last_day)
    return ChartTable(
        slug="traffic-daily",
        title=_("Traffic per day, last %(count)d days") % {"count": selectors.TRAFFIC_DAYS},
        chart="line",
        columns=[
            Column("day", _("Day"), DAY),
            Column("voice_minutes", _("Calls (minutes)"), MINUTES),
            Column("sms", _("SMS"), COUNT),
            Column("mms", _("MMS"), COUNT),
            Column("data_mb", _("Data (MB)"), MEGABYTES),
        ],
        series=["voice_minutes", "sms", "mms", "data_mb"],
        secondary=["data_mb"],
        rows=[[d.day, _minutes(d.voice_seconds), d.sms, d.mms, _megabytes(d.data_bytes)] for d in days],
        note=_("Calls, SMS and MMS made and received; data on the right-hand scale."),
    )


def top_lines_cost_table(ctx: Context) -> ChartTable:
    month = ctx.months[-1] if ctx.months else None
    rows = selectors.top_lines_by_cost(scope=ctx.scope, month=month)
    return ChartTable(
        slug="top-lines-cost",
        title=(
            _("Lines that cost most, %(month)s") % {"month": display(month, MONTH)}
            if month
            else _("Lines that cost most")
        ),
        chart="horizontal_bar",
        columns=[Column("line", _("Line"), TEXT), Column("amount", _("Amount excl. VAT"), EURO)],
        series=["amount"],
        rows=[[row.number, row.amount] for row in rows],
        note=_("The last invoiced month, VAT excluded, the concession fee included."),
    )


def top_lines_traffic_table(ctx: Context) -> ChartTable:
    rows = selectors.top_lines_by_traffic(scope=ctx.scope, first=ctx.first_day, last=ctx.last_day)
    return ChartTable(
        slug="top-lines-traffic",
        title=_("Lines with the most traffic, last %(count)d days") % {"count": selectors.TRAFFIC_DAYS},
        chart="horizontal_bar",
        columns=[
            Column("line", _("Line"), TEXT),
            Column("data_mb", _("Data (MB)"), MEGABYTES),
            Column("voice_minutes", _("Calls (minutes)"), MINUTES),
        ],
        series=["data_mb"],
        rows=[[row.number, _megabytes(row.data_bytes), _minutes(row.voice_seconds)] for row in rows],
    )


def roaming_countries_table(ctx: Context) -> ChartTable:
    rows = selectors.roaming_by_country(scope=ctx.scope, first=ctx.first_day, last=ctx.last_day)
    return ChartTable(
        slug="roaming-countries",
        title=_("Roaming spend by country, last %(count)d days") % {"count": selectors.TRAFFIC_DAYS},
        chart="horizontal_bar",
        columns=[
            Column("country", _("Country"), TEXT),
            Column("amount", _("Chargeable spend excl. VAT"), EURO),
        ],
        series=["amount"],
        rows=[[str(countries.name(row.country)) or row.country, row.amount] for row in rows],
        note=_(
            "Traffic abroad that the offer does not cover, rated at the roaming rates; "
            "countries where you roam like at home cost nothing extra and are not listed."
        ),
    )


@dataclass(frozen=True)
class ChartKind:
    slug: str
    title: str | Promise
    build: Callable[[Context], ChartTable]


CHARTS: tuple[ChartKind, ...] = (
    ChartKind("monthly-spend", gettext_lazy("Spend per month"), monthly_spend_table),
    ChartKind("cycles-cost-centre", gettext_lazy("Billing cycles per cost centre"), cycles_cost_centre_table),
    ChartKind("cycles-line", gettext_lazy("Billing cycles per line"), cycles_line_table),
    ChartKind("traffic-daily", gettext_lazy("Traffic per day"), traffic_daily_table),
    ChartKind("top-lines-cost", gettext_lazy("Lines that cost most"), top_lines_cost_table),
    ChartKind("top-lines-traffic", gettext_lazy("Lines with the most traffic"), top_lines_traffic_table),
    ChartKind("roaming-countries", gettext_lazy("Roaming spend by country"), roaming_countries_table),
)
CHARTS_BY_SLUG = {chart.slug: chart for chart in CHARTS}


def insight_table(*, scope: InsightScope, slug: str, today: date | None = None) -> ChartTable:
    """One chart's table (KeyError for an unknown slug)."""
    return CHARTS_BY_SLUG[slug].build(context_for(scope, today=today))


def insight_tables(*, scope: InsightScope, today: date | None = None) -> list[ChartTable]:
    """Every chart's table, in the page's order; a fixed number of queries whatever the company's size."""
    ctx = context_for(scope, today=today)
    return [chart.build(ctx) for chart in CHARTS]
