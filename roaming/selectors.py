"""Reads of the roaming app: the lines' status abroad, the price list, a trip's estimate."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import DecimalField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_countries import countries

from billing.taxes import to_cents
from roaming.models import (
    LineRoaming,
    RoamingCountry,
    RoamingRate,
    RoamingSpendMonth,
    RoamingZone,
    ZoneKind,
)
from roaming.pricing import NO_COST, TripCost, TripUsage, UnitPrices, trip_cost, with_vat
from selfcare.models import HelpCategory, HelpPage, Line, LineKind, LineStatus, Membership
from selfcare.tenancy import visible

# The four prices of a rate, by field name.
RATE_PRICES = ("call_made_per_minute", "call_received_per_minute", "sms", "data_per_mb")
# The longest search of the rates page: a longer one is cut, never refused (it comes from a GET box).
QUERY_MAX_LENGTH = 60


def rome_today() -> date:
    """Today in Rome (TIME_ZONE): days and months abroad are counted there."""
    return timezone.localdate()


def month_of(day: date) -> date:
    """The first day of the calendar month of `day`: the key of RoamingSpendMonth."""
    return day.replace(day=1)


# ---------------------------------------------------------------------------
# The lines' status abroad
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LineRoamingStatus:
    """What a customer asks before leaving: will the line work abroad, is data on, how much of the cap is used."""

    line: Line
    roaming_enabled: bool
    data_enabled: bool
    data_stopped: bool
    spending_cap: Decimal
    month_spend: Decimal
    month: date
    # The part the cap counts (chargeable data abroad); month_spend is all the chargeable roaming.
    month_data_spend: Decimal = Decimal("0")
    spending_cap_granted: Decimal = Decimal("0")
    alert_80_sent: bool = False
    alert_100_sent: bool = False
    continued: bool = False

    @property
    def line_active(self) -> bool:
        return self.line.status == LineStatus.ACTIVE

    @property
    def works_abroad(self) -> bool:
        return self.line_active and self.roaming_enabled

    @property
    def data_works_abroad(self) -> bool:
        return self.works_abroad and self.data_enabled and not self.data_stopped

    @property
    def cap_used_percent(self) -> int:
        """The share of the cap used this month, in whole percent (a cap of €0 is used at the first cent)."""
        if self.spending_cap <= 0:
            return 100
        return int(to_cents(self.month_data_spend * 100 / self.spending_cap).to_integral_value())

    @property
    def cap_state(self) -> str:
        """`reached` (100%), `warning` (80%) or `ok`, as the alerts were sent this month."""
        if self.alert_100_sent:
            return "reached"
        if self.alert_80_sent:
            return "warning"
        return "ok"


def roaming_lines(*, membership: Membership, day: date | None = None) -> QuerySet[Line]:
    """The mobile lines `membership` may see that have not ceased, with what their status needs: one query.

    Fixed lines do not roam and a ceased line has nothing left to switch,
    so neither is listed. This month's spend and data stop come as
    annotations, so a page of any length costs the same.
    """
    month = month_of(day or rome_today())
    this_month = RoamingSpendMonth.objects.filter(line=OuterRef("pk"), month=month)
    return (
        visible(Line, membership=membership)
        .filter(kind=LineKind.MOBILE)
        .exclude(status=LineStatus.CEASED)
        .select_related("roaming", "assigned_to__user")
        .annotate(
            roaming_month_spend=Coalesce(
                Subquery(this_month.values("chargeable_spend")[:1]),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=12, decimal_places=4),
            ),
            roaming_month_data_spend=Coalesce(
                Subquery(this_month.values("data_spend")[:1]),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=12, decimal_places=4),
            ),
            roaming_month_data_stopped=Subquery(this_month.values("data_stopped")[:1]),
            roaming_month_alert_80_at=Subquery(this_month.values("alert_80_at")[:1]),
            roaming_month_alert_100_at=Subquery(this_month.values("alert_100_at")[:1]),
            roaming_month_continued_at=Subquery(this_month.values("continued_at")[:1]),
        )
        .order_by("number", "pk")
    )


def _settings_of(line: Line) -> LineRoaming:
    """The line's settings row, or the defaults when it has none yet (not saved)."""
    try:
        return line.roaming
    except LineRoaming.DoesNotExist:
        return LineRoaming(line=line)


def roaming_status_of(*, line: Line, day: date | None = None) -> LineRoamingStatus:
    """The status of one line; from `roaming_lines`' annotations when it has them, else with two queries."""
    month = month_of(day or rome_today())
    settings = _settings_of(line)
    if hasattr(line, "roaming_month_spend"):
        # Annotated by roaming_lines: no query per line.
        spend: Decimal = line.roaming_month_spend
        data_spend: Decimal = getattr(line, "roaming_month_data_spend", Decimal("0"))
        stopped = bool(getattr(line, "roaming_month_data_stopped", False))
        alert_80 = getattr(line, "roaming_month_alert_80_at", None) is not None
        alert_100 = getattr(line, "roaming_month_alert_100_at", None) is not None
        continued = getattr(line, "roaming_month_continued_at", None) is not None
    else:
        month_row = RoamingSpendMonth.objects.filter(line=line, month=month).first()
        spend = month_row.chargeable_spend if month_row else Decimal("0")
        data_spend = month_row.data_spend if month_row else Decimal("0")
        stopped = bool(month_row and month_row.data_stopped)
        alert_80 = bool(month_row and month_row.alert_80_at)
        alert_100 = bool(month_row and month_row.alert_100_at)
        continued = bool(month_row and month_row.continued_at)
    return LineRoamingStatus(
        month_data_spend=to_cents(data_spend),
        spending_cap_granted=settings.spending_cap_granted,
        alert_80_sent=alert_80,
        alert_100_sent=alert_100,
        continued=continued,
        line=line,
        roaming_enabled=settings.roaming_enabled,
        data_enabled=settings.data_enabled,
        data_stopped=stopped,
        spending_cap=settings.spending_cap,
        month_spend=to_cents(spend),
        month=month,
    )


def roaming_statuses(*, lines: Iterable[Line], day: date | None = None) -> list[LineRoamingStatus]:
    return [roaming_status_of(line=line, day=day) for line in lines]


def abroad_help_pages() -> list[HelpPage]:
    """The published help pages about going abroad, in their order."""
    return list(
        HelpPage.objects.filter(category=HelpCategory.ABROAD, published=True)
        .only("slug", "title_it", "title_en", "category", "position")
        .order_by("position", "slug")
    )


# ---------------------------------------------------------------------------
# The price list
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CountryEntry:
    code: str
    name: str


@dataclass(frozen=True)
class PriceRow:
    """One price of the list, as the rates page shows it: excluding and including VAT."""

    label: str
    unit: str
    price: Decimal
    price_with_vat: Decimal


@dataclass(frozen=True)
class ZonePrices:
    zone: RoamingZone
    # The rate in force on the day asked for; None for home and roam-like-at-home zones.
    rate: RoamingRate | None
    countries: list[CountryEntry] = field(default_factory=list)

    @property
    def price_rows(self) -> list[PriceRow]:
        return price_rows(self.rate) if self.rate else []

    @property
    def rate_with_vat(self) -> dict[str, Decimal] | None:
        """The rate's prices with VAT, rounded half-up to the cent; None when the zone is not rated."""
        if self.rate is None:
            return None
        return {name: with_vat(getattr(self.rate, name)) for name in RATE_PRICES}


def price_rows(rate: RoamingRate) -> list[PriceRow]:
    """A rate's four prices, labelled in the current language, with and without VAT."""
    prices = [
        (_("Calls made"), _("per minute"), rate.call_made_per_minute),
        (_("Calls received"), _("per minute"), rate.call_received_per_minute),
        (_("SMS sent"), _("each"), rate.sms),
        (_("Data"), _("per MB"), rate.data_per_mb),
    ]
    return [
        PriceRow(label=label, unit=unit, price=price, price_with_vat=with_vat(price))
        for label, unit, price in prices
    ]


def _folded(text: str) -> str:
    """Lower case without accents: "Città" matches "citta", "Åland" matches "aland"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _names_in(language: str) -> dict[str, str]:
    with translation.override(language):
        return {code: str(name) for code, name in countries}


def country_name(code: str) -> str:
    """The country's name in the current language."""
    return str(countries.name(code))


def country_matches(*, query: str) -> set[str]:
    """The codes of the countries whose Italian or English name contains `query` (or whose code it is)."""
    wanted = _folded(query.strip())
    if not wanted:
        return set()
    found = {
        code
        for names in (_names_in("it"), _names_in("en"))
        for code, name in names.items()
        if wanted in _folded(name)
    }
    if len(wanted) == 2 and wanted.upper() in countries:
        found.add(wanted.upper())
    return found


def roaming_price_list(*, day: date | None = None, query: str = "") -> list[ZonePrices]:
    """Every zone with its rate in force on `day` and its countries, by name; three queries.

    With a `query`, only the countries whose name matches (in Italian or
    English) are listed, and zones left without a country are left out.
    """
    day = day or rome_today()
    zones = RoamingZone.objects.prefetch_related(
        Prefetch(
            "rates",
            queryset=RoamingRate.objects.filter(valid_from__lte=day).order_by("-valid_from"),
            to_attr="rates_so_far",
        ),
        Prefetch("countries", queryset=RoamingCountry.objects.order_by("country"), to_attr="country_rows"),
    ).order_by("position", "code")
    matching = country_matches(query=query) if query.strip() else None
    price_list = []
    for zone in zones:
        entries = sorted(
            (
                CountryEntry(code=row.country.code, name=country_name(row.country.code))
                for row in zone.country_rows
                if matching is None or row.country.code in matching
            ),
            key=lambda entry: _folded(entry.name),
        )
        if matching is not None and not entries:
            continue
        rates: list[RoamingRate] = zone.rates_so_far
        rate = rates[0] if rates and zone.kind == ZoneKind.RATED else None
        price_list.append(ZonePrices(zone=zone, rate=rate, countries=entries))
    return price_list


def roaming_rate_on(*, zone: RoamingZone, day: date) -> RoamingRate | None:
    """The zone's rate of `day`: the row with the latest `valid_from` on or before it."""
    return zone.rates.filter(valid_from__lte=day).order_by("-valid_from").first()


def roaming_zone_of(*, country: str) -> RoamingZone | None:
    row = RoamingCountry.objects.select_related("zone").filter(country=country.upper()).first()
    return row.zone if row else None


def roaming_country_choices() -> list[tuple[str, str]]:
    """Every country with a zone, by its name in the current language: the calculator's choices."""
    codes = set(RoamingCountry.objects.values_list("country", flat=True))
    return sorted(((code, country_name(code)) for code in codes), key=lambda choice: _folded(choice[1]))


# ---------------------------------------------------------------------------
# The trip calculator
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TripEstimate:
    country: str
    country_name: str
    zone: RoamingZone
    rate: RoamingRate | None
    usage: TripUsage
    cost: TripCost
    day: date

    @property
    def is_home(self) -> bool:
        return self.zone.kind == ZoneKind.HOME

    @property
    def roam_like_at_home(self) -> bool:
        return self.zone.kind == ZoneKind.ROAM_LIKE_AT_HOME


def roaming_trip_estimate(*, country: str, usage: TripUsage, day: date | None = None) -> TripEstimate:
    """The estimated cost of a trip to `country` at the prices of `day` (today by default).

    Home and roam-like-at-home zones cost nothing on top of the domestic
    offer (Regulation (EU) 2022/612, within fair use); a rated zone costs
    its rate of the day (roaming.pricing.trip_cost).
    """
    day = day or rome_today()
    zone = roaming_zone_of(country=country)
    if zone is None:
        raise ValidationError(_("We have no rates for this country."), code="unknown_country")
    rate = None
    cost = NO_COST
    if zone.kind == ZoneKind.RATED:
        rate = roaming_rate_on(zone=zone, day=day)
        if rate is None:
            raise ValidationError(_("This zone has no price list in force yet."), code="no_rate")
        prices = UnitPrices(
            call_made_per_minute=rate.call_made_per_minute,
            call_received_per_minute=rate.call_received_per_minute,
            sms=rate.sms,
            data_per_mb=rate.data_per_mb,
        )
        cost = trip_cost(prices=prices, usage=usage)
    return TripEstimate(
        country=country.upper(),
        country_name=country_name(country.upper()),
        zone=zone,
        rate=rate,
        usage=usage,
        cost=cost,
        day=day,
    )
