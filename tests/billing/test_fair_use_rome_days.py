"""Fair use counts Rome days (DOMAIN.md), through the feed as the network sends it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from billing.fair_use import fair_use_run_period
from billing.models import FairUseFinding, FairUsePeriod
from billing.traffic_import import traffic_import_file
from tests.billing.traffic_files import call, feed_file
from tests.cast import Cast
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db


def test_a_call_just_after_midnight_in_rome_counts_for_the_rome_day_not_the_utc_day(
    cast: Cast, tmp_path: Path
) -> None:
    line = cast.rossi_assigned_line
    line.offer = OfferFactory.create(code="BIZ-BASE", unlimited_voice_sms=False)
    line.save()
    # 161 minutes from 23:30 UTC on 20 November: 00:30 on the 21st in Rome (UTC+1).
    late_call = call("rome-1", line.number, started_at="2026-11-20T23:30:00Z", duration_s=str(161 * 60))
    traffic_import_file(path=feed_file(tmp_path, [late_call]))

    for day in (date(2026, 11, 20), date(2026, 11, 21)):
        fair_use_run_period(period=FairUsePeriod.DAY, period_start=day)

    found = set(FairUseFinding.objects.values_list("period_start", "rule__code"))
    assert (date(2026, 11, 21), "1") in found
    assert not {rule for day, rule in found if day == date(2026, 11, 20)}
