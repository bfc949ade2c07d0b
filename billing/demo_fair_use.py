"""Demo fair use for `seed_demo`: the checks run over the demo traffic, and one measure taken by staff.

The demo traffic (billing.demo_traffic) has three heavy lines. Running the
monthly rules on the last two whole months and the daily rules on the last
week finds their breaches the way the nightly runs would: rules 1 and 2 on
Ferretti's heavy caller, 6 on Conti & Marino's prepaid line, 7, D1 and D2 on
Lombardi's heavy data line, and R (roaming in the EU/EEA over the four months
ending with each month checked) on Lombardi's driver based abroad on weekdays;
rules 1-7 and R warn their companies by themselves, R with its 14 days to
change the pattern.
Staff then limit the heavy data line's speed for two weeks on its D1 finding,
so the customer's fair-use page shows a measure with its withdrawal notice.

Idempotent: a rerun of a period adds no finding, and the measure is taken
only while its finding is still open.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from billing.demo_traffic import HEAVY_DATA
from billing.fair_use import fair_use_run_period
from billing.fair_use_measures import fair_use_speed_limit
from billing.models import (
    FairUseFinding,
    FairUseFindingStatus,
    FairUsePeriod,
    FairUseRuleCode,
    FairUseRun,
    FairUseRunStatus,
)
from selfcare.demo import Writer
from selfcare.models import User

DAILY_DAYS = 7
WHOLE_MONTHS = 2
SPEED_LIMIT_DAYS = 14


def seed_fair_use(*, stdout: Writer, staff: User) -> None:
    today = timezone.localdate()
    first_of_month = today.replace(day=1)
    new = 0
    periods = [
        (FairUsePeriod.MONTH, _months_before(first_of_month, months_back))
        for months_back in range(WHOLE_MONTHS, 0, -1)
    ] + [(FairUsePeriod.DAY, today - timedelta(days=days_back)) for days_back in range(DAILY_DAYS, 0, -1)]
    # A period checked already is left alone: a rerun would find the same, and a
    # second seed_demo adds nothing, not even a run.
    done = set(FairUseRun.objects.filter(status=FairUseRunStatus.DONE).values_list("period", "period_start"))
    for period, period_start in periods:
        if (period, period_start) not in done:
            new += fair_use_run_period(period=period, period_start=period_start).findings_new
    finding = (
        FairUseFinding.objects.filter(line__number=HEAVY_DATA, rule__code=FairUseRuleCode.D1)
        .order_by("-period_start")
        .first()
    )
    if finding is not None and finding.status == FairUseFindingStatus.OPEN:
        fair_use_speed_limit(
            finding=finding,
            by=staff,
            starts_on=today,
            ends_on=today + timedelta(days=SPEED_LIMIT_DAYS - 1),
            note="Traffico dati molto sopra la media dell'offerta: velocità ridotta per due settimane.",
        )
    stdout.write(f"Demo fair use: {new} new findings.")


def _months_before(first_of_month: date, months: int) -> date:
    year, month = divmod(first_of_month.year * 12 + first_of_month.month - 1 - months, 12)
    return date(year, month + 1, 1)
