"""Rating roaming traffic: zones, the rate of each day, what is free, and a spend recomputed after every import."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing.models import TrafficDailyTotal
from roaming.models import RoamingRate, RoamingSpendMonth, RoamingZone
from roaming.spend import roaming_month_rate, roaming_spend_after_import, roaming_spend_update
from tests.cast import Cast
from tests.roaming.abroad_traffic import import_rows, megabytes_abroad, message_abroad, voice_abroad

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)


def spend_of(line_id: int, month: date = NOVEMBER) -> tuple[Decimal, Decimal] | None:
    row = RoamingSpendMonth.objects.filter(line_id=line_id, month=month).first()
    return (row.chargeable_spend, row.data_spend) if row else None


def test_traffic_in_a_rated_zone_is_rated_at_the_rate_of_its_day(cast: Cast, tmp_path: Path) -> None:
    line = cast.rossi_assigned_line
    # Zone 2's data goes from €2.00 to €3.00 a MB on 15 November.
    RoamingRate.objects.create(
        zone=RoamingZone.objects.get(code="zone-2"),
        valid_from=date(2026, 11, 15),
        call_made_per_minute=Decimal("1.49"),
        call_received_per_minute=Decimal("0.79"),
        sms=Decimal("0.49"),
        data_per_mb=Decimal("3.00"),
    )
    import_rows(
        tmp_path,
        [
            megabytes_abroad("us-1", line, day=date(2026, 11, 10), mb=10, country="US"),
            megabytes_abroad("us-2", line, day=date(2026, 11, 20), mb=10, country="US"),
            # Switzerland (zone 1), one day: 2 min made at 0.79, 90 s received at 0.39/min, an SMS
            # and an MMS sent at 0.29, an SMS received free: 1.58 + 0.585 + 0.58 = 2.745, 2.75 half-up.
            voice_abroad("ch-1", line, day=date(2026, 11, 21), seconds=120),
            voice_abroad("ch-2", line, day=date(2026, 11, 21), seconds=90, direction="in"),
            message_abroad("ch-3", line, day=date(2026, 11, 21)),
            message_abroad("ch-4", line, day=date(2026, 11, 21), service="mms"),
            message_abroad("ch-5", line, day=date(2026, 11, 21), direction="in"),
        ],
    )

    assert spend_of(line.pk) == (Decimal("52.75"), Decimal("50.00"))


def test_a_megabyte_is_a_million_bytes_and_each_line_day_zone_is_rounded_half_up(cast: Cast) -> None:
    line = cast.rossi_assigned_line
    day = date(2026, 11, 3)
    # 1,010,000 bytes at €0.50/MB = 0.505 → 0.51; the same again the next day, rounded on its own.
    for each in (day, date(2026, 11, 4)):
        TrafficDailyTotal.objects.create(
            company=cast.rossi,
            line=line,
            day=each,
            service="data",
            direction="out",
            country="CH",
            records=1,
            volume_bytes=1_010_000,
        )

    [spend] = roaming_month_rate(month=NOVEMBER, line_ids=[line.pk])

    assert (spend.total, spend.data) == (Decimal("1.02"), Decimal("1.02"))


def test_roam_like_at_home_and_home_traffic_cost_nothing_and_leave_no_row(cast: Cast, tmp_path: Path) -> None:
    line = cast.rossi_assigned_line
    import_rows(
        tmp_path,
        [
            megabytes_abroad("fr-1", line, day=date(2026, 11, 10), mb=5000, country="FR"),
            voice_abroad("no-1", line, day=date(2026, 11, 10), seconds=3600, country="NO"),
            megabytes_abroad("it-1", line, day=date(2026, 11, 10), mb=5000, country="IT"),
        ],
    )

    assert not RoamingSpendMonth.objects.exists()


def test_a_rerun_or_a_replayed_file_gives_the_same_spend(cast: Cast, tmp_path: Path) -> None:
    line = cast.rossi_assigned_line
    rows = [megabytes_abroad("us-1", line, day=date(2026, 11, 10), mb=10, country="US")]
    import_rows(tmp_path, rows)
    import_rows(tmp_path, rows)
    import_rows(tmp_path, rows, name="replayed.csv")
    roaming_spend_update(month=NOVEMBER)

    assert spend_of(line.pk) == (Decimal("20.00"), Decimal("20.00"))

    import_rows(
        tmp_path, [megabytes_abroad("us-2", line, day=date(2026, 11, 11), mb=5, country="US")], name="b.csv"
    )

    assert spend_of(line.pk) == (Decimal("30.00"), Decimal("30.00"))


def test_only_the_line_months_an_import_touched_abroad_are_rated(cast: Cast) -> None:
    line, other = cast.rossi_assigned_line, cast.rossi_other_line
    for each in (line, other):
        TrafficDailyTotal.objects.create(
            company=cast.rossi,
            line=each,
            day=date(2026, 11, 3),
            service="data",
            direction="out",
            country="CH",
            records=1,
            volume_bytes=10**6,
        )

    rated = roaming_spend_after_import(touched={(cast.rossi.pk, line.pk, date(2026, 11, 3))})

    assert rated == 1
    assert spend_of(line.pk) == (Decimal("0.50"), Decimal("0.50"))
    assert spend_of(other.pk) is None
    # A touched line-day at home rates nothing.
    assert roaming_spend_after_import(touched={(cast.rossi.pk, line.pk, date(2026, 11, 4))}) == 0


def test_months_are_rated_apart(cast: Cast, tmp_path: Path) -> None:
    line = cast.rossi_assigned_line
    import_rows(
        tmp_path,
        [
            megabytes_abroad("ch-1", line, day=date(2026, 10, 31), mb=10),
            megabytes_abroad("ch-2", line, day=date(2026, 11, 1), mb=20),
        ],
    )

    assert spend_of(line.pk, date(2026, 10, 1)) == (Decimal("5.00"), Decimal("5.00"))
    assert spend_of(line.pk) == (Decimal("10.00"), Decimal("10.00"))
