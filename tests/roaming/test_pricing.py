"""The price list and the trip calculator: zones for every country, rates by date, the figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_countries import countries

from roaming.models import RoamingCountry, RoamingRate, RoamingZone, ZoneKind
from roaming.pricing import TripUsage, UnitPrices, trip_cost, vat_of, with_vat
from roaming.selectors import (
    country_matches,
    roaming_price_list,
    roaming_rate_on,
    roaming_trip_estimate,
    roaming_zone_of,
)
from roaming.services import roaming_rate_check_valid_from

pytestmark = pytest.mark.django_db

EU_27 = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]


# The seeded zones


def test_every_country_is_in_a_zone() -> None:
    assert set(RoamingCountry.objects.values_list("country", flat=True)) == {
        code for code, _name in countries
    }


def test_the_eu_and_eea_roam_like_at_home_and_italy_is_home() -> None:
    for code in [*EU_27, "IS", "LI", "NO"]:
        zone = roaming_zone_of(country=code)
        assert zone is not None
        expected = ZoneKind.HOME if code == "IT" else ZoneKind.ROAM_LIKE_AT_HOME
        assert zone.kind == expected, code


def test_switzerland_the_uk_san_marino_and_the_vatican_are_not_eu() -> None:
    for code in ["CH", "GB", "SM", "VA"]:
        zone = roaming_zone_of(country=code)
        assert zone is not None, code
        assert zone.code == "zone-1", code
    for code, expected in (("US", "zone-2"), ("PE", "zone-3")):
        zone = roaming_zone_of(country=code)
        assert zone is not None
        assert zone.code == expected


# Rates by date


def test_the_rate_of_a_day_is_the_latest_valid_on_or_before_it() -> None:
    zone = RoamingZone.objects.get(code="zone-2")
    first = RoamingRate.objects.get(zone=zone)
    later = RoamingRate.objects.create(
        zone=zone,
        valid_from=date(2030, 6, 1),
        call_made_per_minute=Decimal("1.9900"),
        call_received_per_minute=Decimal("0.9900"),
        sms=Decimal("0.5900"),
        data_per_mb=Decimal("1.0000"),
    )

    assert roaming_rate_on(zone=zone, day=date(2030, 5, 31)) == first
    assert roaming_rate_on(zone=zone, day=date(2030, 6, 1)) == later
    assert roaming_rate_on(zone=zone, day=date(2031, 1, 1)) == later
    assert roaming_rate_on(zone=zone, day=first.valid_from - timedelta(days=1)) is None
    # A trip priced on a past day keeps that day's prices.
    usage = TripUsage(days=1, minutes_made=10)
    assert roaming_trip_estimate(country="US", usage=usage, day=date(2030, 5, 31)).cost.total == Decimal(
        "14.90"
    )
    assert roaming_trip_estimate(country="US", usage=usage, day=date(2030, 6, 1)).cost.total == Decimal(
        "19.90"
    )


def test_a_new_rate_starts_tomorrow_at_the_earliest() -> None:
    today = date(2030, 6, 1)

    with pytest.raises(ValidationError):
        roaming_rate_check_valid_from(valid_from=today, today=today)
    with pytest.raises(ValidationError):
        roaming_rate_check_valid_from(valid_from=today - timedelta(days=1), today=today)
    roaming_rate_check_valid_from(valid_from=today + timedelta(days=1), today=today)


# The figures


def test_vat_is_22_percent_rounded_half_up_to_the_cent() -> None:
    assert vat_of(Decimal("0.25")) == Decimal("0.06")  # 0.055 rounds up, not to even
    assert with_vat(Decimal("0.7900")) == Decimal("0.96")  # 0.9638
    assert with_vat(Decimal("0.2500")) == Decimal("0.31")  # 0.305 half-up


def test_a_trip_costs_days_times_daily_usage_each_line_rounded_vat_once_on_the_total() -> None:
    prices = UnitPrices(
        call_made_per_minute=Decimal("0.7900"),
        call_received_per_minute=Decimal("0.3900"),
        sms=Decimal("0.2900"),
        data_per_mb=Decimal("0.0125"),
    )
    usage = TripUsage(days=3, minutes_made=10, minutes_received=5, sms=2, megabytes=7)

    cost = trip_cost(prices=prices, usage=usage)

    assert [(line.quantity, line.amount) for line in cost.lines] == [
        (30, Decimal("23.70")),
        (15, Decimal("5.85")),
        (6, Decimal("1.74")),
        (21, Decimal("0.26")),  # 0.2625 half-up
    ]
    assert cost.total == Decimal("31.55")
    assert cost.vat == Decimal("6.94")  # 6.941
    assert cost.total_with_vat == Decimal("38.49")
    assert all(isinstance(line.amount, Decimal) for line in cost.lines)


def test_the_estimate_of_a_trip_to_switzerland_uses_zone_1_rates() -> None:
    estimate = roaming_trip_estimate(
        country="ch", usage=TripUsage(days=5, minutes_made=20, minutes_received=10, sms=4, megabytes=50)
    )

    assert estimate.zone.code == "zone-1"
    assert not estimate.roam_like_at_home
    # 100 min * 0.79 + 50 * 0.39 + 20 * 0.29 + 250 MB * 0.50
    assert estimate.cost.total == Decimal("79.00") + Decimal("19.50") + Decimal("5.80") + Decimal("125.00")
    assert estimate.cost.total == Decimal("229.30")
    assert estimate.cost.vat == Decimal("50.45")  # 50.446
    assert estimate.cost.total_with_vat == Decimal("279.75")


def test_roam_like_at_home_and_home_cost_nothing_extra() -> None:
    usage = TripUsage(days=10, minutes_made=60, megabytes=500)

    france = roaming_trip_estimate(country="FR", usage=usage)
    italy = roaming_trip_estimate(country="IT", usage=usage)

    assert france.roam_like_at_home
    assert france.rate is None
    assert france.cost.total == france.cost.vat == france.cost.total_with_vat == Decimal("0.00")
    assert italy.is_home
    assert italy.cost.total == Decimal("0.00")


def test_an_unknown_country_has_no_estimate() -> None:
    with pytest.raises(ValidationError):
        roaming_trip_estimate(country="ZZ", usage=TripUsage(days=1))


# The search


def test_countries_are_found_by_italian_or_english_name_without_accents() -> None:
    assert "CH" in country_matches(query="svizzera")
    assert "CH" in country_matches(query="Switzerland")
    assert "VA" in country_matches(query="santa sede")  # its Italian name in django-countries
    assert "AX" in country_matches(query="aland")  # Åland, without its accent
    assert "DE" in country_matches(query="germania")
    assert country_matches(query="  ") == set()


def test_the_price_list_keeps_only_the_zones_of_the_countries_found() -> None:
    found = roaming_price_list(query="canadà")

    assert [entry.zone.code for entry in found] == ["zone-2"]
    assert [country.code for country in found[0].countries] == ["CA"]
    assert found[0].rate is not None
    assert found[0].rate_with_vat is not None
    assert found[0].rate_with_vat["call_made_per_minute"] == Decimal("1.82")  # 1.49 * 1.22 = 1.8178
