"""The traffic charts: each figure checked against the daily roll-up rows the test made."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.utils import timezone

from insight.reports import insight_table
from insight.selectors import TRAFFIC_DAYS, InsightFilters, InsightScope
from roaming.models import RoamingCountry, RoamingRate
from selfcare.models import Membership
from tests.cast import Cast
from tests.insight.data import daily

pytestmark = pytest.mark.django_db


def _rows(slug: str, membership: Membership, filters: InsightFilters | None = None) -> list[list[Any]]:
    return insight_table(
        scope=InsightScope(membership=membership, filters=filters or InsightFilters()), slug=slug
    ).rows


def test_traffic_per_day_sums_every_line_and_direction_of_each_day(cast: Cast) -> None:
    today = timezone.localdate()
    assigned, other = cast.rossi_assigned_line, cast.rossi_other_line
    made = [
        daily(assigned, today, service="voice", records=2, seconds=150),
        daily(assigned, today, service="voice", records=1, seconds=30, direction="in"),
        daily(other, today, service="voice", records=1, seconds=60),
        daily(other, today, service="sms", records=4),
        daily(assigned, today - timedelta(days=3), service="mms", records=2),
        daily(other, today - timedelta(days=3), service="data", records=3, volume=2_345_678),
        # Outside the window: not counted.
        daily(other, today - timedelta(days=TRAFFIC_DAYS), service="data", volume=9_000_000),
        daily(cast.bianchi_line, today, service="voice", seconds=6000),
    ]

    rows = _rows("traffic-daily", cast.rossi_admin)

    assert len(rows) == TRAFFIC_DAYS
    assert rows[0][0] == today - timedelta(days=TRAFFIC_DAYS - 1)
    assert rows[-1][0] == today
    by_day = {row[0]: row[1:] for row in rows}
    for day in (today, today - timedelta(days=3)):
        mine = [t for t in made if t.day == day and t.company_id == cast.rossi.pk]
        seconds = sum(t.duration_s for t in mine if t.service == "voice")
        volume = sum(t.volume_bytes for t in mine if t.service == "data")
        assert by_day[day] == [
            (Decimal(seconds) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP),
            sum(t.records for t in mine if t.service == "sms"),
            sum(t.records for t in mine if t.service == "mms"),
            (Decimal(volume) / 1_000_000).quantize(Decimal("0.1"), ROUND_HALF_UP),
        ]
    assert by_day[today - timedelta(days=1)] == [Decimal("0.0"), 0, 0, Decimal("0.0")]


def test_a_line_user_sees_the_traffic_of_assigned_lines_only(cast: Cast) -> None:
    today = timezone.localdate()
    daily(cast.rossi_assigned_line, today, service="voice", seconds=120)
    daily(cast.rossi_other_line, today, service="voice", seconds=600)

    rows = _rows("traffic-daily", cast.rossi_line_user)
    top = _rows("top-lines-traffic", cast.rossi_line_user)

    assert rows[-1][1] == Decimal("2.0")
    assert [row[0] for row in top] == [cast.rossi_assigned_line.number]


def test_top_lines_by_traffic_rank_by_data_then_calls(cast: Cast) -> None:
    today = timezone.localdate()
    assigned, other = cast.rossi_assigned_line, cast.rossi_other_line
    daily(assigned, today, service="data", volume=5_000_000)
    daily(assigned, today - timedelta(days=10), service="data", volume=1_000_000)
    daily(other, today, service="data", volume=4_000_000)
    daily(other, today, service="voice", seconds=900)

    rows = _rows("top-lines-traffic", cast.rossi_admin)

    assert rows == [
        [assigned.number, Decimal("6.0"), Decimal("0.0")],
        [other.number, Decimal("4.0"), Decimal("15.0")],
    ]


def test_roaming_spend_by_country_is_rated_at_the_zones_rates(cast: Cast) -> None:
    today = timezone.localdate()
    line = cast.rossi_assigned_line
    daily(line, today, service="data", volume=3_000_000, country="US")
    daily(line, today - timedelta(days=1), service="data", volume=1_010_000, country="CH")
    daily(line, today, service="data", volume=50_000_000, country="FR")  # roam like at home: free
    daily(line, today, service="data", volume=50_000_000, country="IT")  # home

    rows = _rows("roaming-countries", cast.rossi_admin)

    def rate(country: str, day: date) -> Decimal:
        zone = RoamingCountry.objects.get(country=country).zone
        return RoamingRate.objects.filter(zone=zone, valid_from__lte=day).latest("valid_from").data_per_mb

    expected = {
        "United States of America": (Decimal(3) * rate("US", today)).quantize(Decimal("0.01"), ROUND_HALF_UP),
        "Switzerland": (Decimal("1.01") * rate("CH", today - timedelta(days=1))).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        ),
    }
    assert {row[0]: row[1] for row in rows} == expected
    assert (
        _rows("roaming-countries", cast.rossi_admin, InsightFilters(line_id=cast.rossi_other_line.pk)) == []
    )
