"""The fair-use rules (DOMAIN.md, "Fair use"): each breaching just over its limit and not at it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from billing.fair_use import fair_use_run_period
from billing.models import FairUseFinding, FairUseLimit, FairUsePeriod, FairUseRule
from selfcare.models import Line
from tests.billing.fair_use_traffic import DAY, calls, mixed, record, texts, write
from tests.cast import Cast
from tests.factories import LineFactory, OfferFactory

pytestmark = pytest.mark.django_db

MONTH = DAY.replace(day=1)


def found_on(day: date = DAY) -> dict[tuple[str, str], list[dict[str, str]]]:
    fair_use_run_period(period=FairUsePeriod.DAY, period_start=day)
    return _findings(FairUsePeriod.DAY, day)


def found_in(month: date = MONTH) -> dict[tuple[str, str], list[dict[str, str]]]:
    fair_use_run_period(period=FairUsePeriod.MONTH, period_start=month)
    return _findings(FairUsePeriod.MONTH, month)


def _findings(period: str, start: date) -> dict[tuple[str, str], list[dict[str, str]]]:
    return {
        (finding.line.number, finding.rule.code): finding.metrics
        for finding in FairUseFinding.objects.filter(period=period, period_start=start).select_related(
            "line", "rule"
        )
    }


def rules_of(found: dict[tuple[str, str], Any], line: Line) -> set[str]:
    return {rule for number, rule in found if number == line.number}


@pytest.fixture
def limited(cast: Cast) -> Line:
    """A line whose offer does not include unlimited calls and SMS: rules 1-5 apply to it."""
    line = cast.rossi_assigned_line
    line.offer = OfferFactory.create(code="BIZ-BASE", unlimited_voice_sms=False)
    line.save()
    return line


@pytest.fixture
def unlimited(cast: Cast) -> Line:
    line = cast.bianchi_line
    line.offer = OfferFactory.create(code="BIZ-UNL", unlimited_voice_sms=True)
    line.save()
    return line


# --- rule 1: daily outgoing traffic ---------------------------------------------------


def test_160_minutes_of_calls_in_a_day_are_fine(limited: Line) -> None:
    write(mixed(limited, 160))

    assert found_on() == {}


def test_a_second_over_160_minutes_breaks_rule_1_with_minutes_to_two_decimals(limited: Line) -> None:
    write(mixed(limited, 160), record(limited, seconds=1, network="fixed"))

    assert found_on()[(limited.number, "1")] == [
        {"metric": "voice_minutes", "measured": "160.02", "limit": "160"}
    ]


def test_200_sms_are_fine_and_201_with_mms_counted_with_them_break_rule_1(limited: Line, cast: Cast) -> None:
    other = LineFactory.create(company=cast.rossi, offer=limited.offer)
    write(mixed(limited, 200, service="sms"))
    write(mixed(other, 200, service="sms"), record(other, service="mms", network="fixed"))

    found = found_on()

    assert rules_of(found, limited) == set()
    assert found[(other.number, "1")] == [{"metric": "sms_count", "measured": "201", "limit": "200"}]


def test_incoming_calls_count_for_no_rule_but_6_and_8(limited: Line) -> None:
    write(calls(limited, 200, direction="in", network="fixed"))

    assert found_on() == {}


def test_rule_1_does_not_apply_to_offers_with_unlimited_calls_and_sms(unlimited: Line) -> None:
    write(calls(unlimited, 300, operator="own", network="fixed"))

    assert rules_of(found_on(), unlimited) == set()


def test_rule_1_counts_only_the_days_records(limited: Line) -> None:
    # `day` is the Rome day of the record: the night before and after belong to other days.
    write(
        mixed(limited, 100, day=DAY - timedelta(days=1), hour=23),
        mixed(limited, 100, day=DAY, hour=0),
        mixed(limited, 100, day=DAY + timedelta(days=1), hour=0),
    )

    assert found_on() == {}


def test_a_limit_staff_changed_is_the_one_checked(limited: Line) -> None:
    FairUseLimit.objects.filter(rule__code="1", metric="voice_minutes").update(limit=Decimal("100.5"))
    write(mixed(limited, 101))

    assert found_on()[(limited.number, "1")][0]["limit"] == "100.5"


def test_a_disabled_rule_is_not_checked(limited: Line) -> None:
    FairUseRule.objects.filter(code="1").update(enabled=False)
    write(mixed(limited, 200))

    assert found_on() == {}


# --- rule 2: monthly outgoing traffic ---------------------------------------------------


def test_1250_minutes_in_a_month_are_fine_and_one_more_breaks_rule_2(limited: Line, cast: Cast) -> None:
    other = LineFactory.create(company=cast.rossi, offer=limited.offer)
    for line, extra in ((limited, 0), (other, 1)):
        write(
            mixed(line, 625, day=MONTH),
            mixed(line, 625 + extra, day=MONTH + timedelta(days=29)),
        )

    found = found_in()

    assert rules_of(found, limited) == set()
    assert found[(other.number, "2")] == [{"metric": "voice_minutes", "measured": "1251.00", "limit": "1250"}]


# --- rules 3, 4 and 5: shares ---------------------------------------------------------


def test_shares_at_their_limits_are_fine(limited: Line) -> None:
    # 60% to other operators, 30% to each, 40% within the network: every share at or under its limit.
    write(
        record(limited, operator="TIM", seconds=180, network="fixed"),
        record(limited, operator="VODAFONE", seconds=180, network="fixed"),
        record(limited, operator="own", seconds=240, network="fixed"),
    )

    assert found_on() == {}


def test_more_than_60_percent_to_other_operators_breaks_rule_3(limited: Line) -> None:
    write(
        record(limited, operator="TIM", seconds=180, network="fixed"),
        record(limited, operator="VODAFONE", seconds=181, network="fixed"),
        record(limited, operator="own", seconds=240, network="fixed"),
    )

    assert found_on() == {
        (limited.number, "3"): [{"metric": "voice_off_share", "measured": "0.6007", "limit": "0.6000"}]
    }


def test_more_than_half_the_sms_to_other_operators_mobiles_breaks_rule_3(limited: Line) -> None:
    write(
        texts(limited, 3, operator="TIM"),
        texts(limited, 3, operator="ILIAD"),
        texts(limited, 5, operator="own"),
    )

    assert found_on()[(limited.number, "3")] == [
        {"metric": "sms_off_mobile_share", "measured": "0.5455", "limit": "0.5000"}
    ]


def test_a_share_below_its_minimum_base_breaks_nothing(limited: Line) -> None:
    write(calls(limited, 1, seconds=599, operator="TIM", network="fixed"))

    assert found_on() == {}


def test_a_share_at_its_minimum_base_is_checked(limited: Line) -> None:
    write(calls(limited, 1, seconds=600, operator="TIM", network="fixed"))

    assert set(found_on()) == {(limited.number, "3"), (limited.number, "4")}


def test_a_minimum_base_staff_raised_holds_back_the_share(limited: Line) -> None:
    FairUseRule.objects.filter(code__in=["3", "4"]).update(minimum_base_day=Decimal("10.02"))
    write(calls(limited, 1, seconds=601, operator="TIM", network="fixed"))

    assert found_on() == {}


def test_more_than_40_percent_to_one_other_operator_breaks_rule_4_naming_it(limited: Line) -> None:
    write(
        record(limited, operator="TIM", seconds=246, network="fixed"),
        record(limited, operator="OTHER", seconds=240, network="fixed"),
        record(limited, operator="own", seconds=114, network="fixed"),
    )

    found = found_on()

    assert found[(limited.number, "4")] == [
        {"metric": "voice_operator_share", "operator": "TIM", "measured": "0.4100", "limit": "0.4000"}
    ]
    assert (limited.number, "3") in found  # 81% to other operators


def test_other_counts_as_an_operator_of_its_own_for_rule_4(limited: Line) -> None:
    write(
        texts(limited, 9, operator="OTHER", network="fixed"),
        texts(limited, 11, operator="own", network="fixed"),
    )

    assert found_on() == {
        (limited.number, "4"): [
            {"metric": "sms_operator_share", "operator": "OTHER", "measured": "0.4500", "limit": "0.4000"}
        ]
    }


def test_more_than_30_percent_to_one_operators_mobiles_breaks_rule_4(limited: Line) -> None:
    write(
        texts(limited, 8, operator="TIM"),
        texts(limited, 6, operator="VODAFONE"),
        texts(limited, 6, operator="own", network="fixed"),
    )

    found = found_on()

    # TIM has 40% of all the SMS: at that limit, fine; but 8 of the 14 to mobiles.
    assert found[(limited.number, "4")] == [
        {"metric": "sms_operator_mobile_share", "operator": "TIM", "measured": "0.5714", "limit": "0.3000"},
        {
            "metric": "sms_operator_mobile_share",
            "operator": "VODAFONE",
            "measured": "0.4286",
            "limit": "0.3000",
        },
    ]


def test_more_than_80_percent_within_the_network_breaks_rule_5(limited: Line) -> None:
    write(
        record(limited, operator="own", seconds=481, network="fixed"),
        record(limited, operator="TIM", seconds=120, network="fixed"),
    )

    assert found_on() == {
        (limited.number, "5"): [{"metric": "voice_own_share", "measured": "0.8003", "limit": "0.8000"}]
    }


def test_80_percent_within_the_network_is_fine(limited: Line) -> None:
    write(
        record(limited, operator="own", seconds=480, network="fixed"),
        record(limited, operator="TIM", seconds=120, network="fixed"),
    )

    assert found_on() == {}


def test_monthly_shares_use_the_monthly_minimum_base(limited: Line) -> None:
    write(calls(limited, 59, operator="TIM", network="fixed", day=MONTH + timedelta(days=3)))

    assert found_in() == {}
    write(record(limited, operator="TIM", seconds=60, network="fixed", day=MONTH + timedelta(days=4)))
    FairUseFinding.objects.all().delete()

    assert set(found_in()) == {(limited.number, "3"), (limited.number, "4")}


# --- rule 6: automatic top-up ---------------------------------------------------------


def test_two_hours_of_top_up_in_and_out_are_fine_and_a_second_more_breaks_rule_6(
    unlimited: Line, limited: Line
) -> None:
    for line, extra in ((unlimited, 1), (limited, 0)):
        write(
            record(line, topup=True, direction="in", seconds=3600, operator="own", network="special"),
            record(
                line, topup=True, direction="out", seconds=3600 + extra, operator="own", network="special"
            ),
        )

    found = found_on()

    assert found[(unlimited.number, "6")] == [
        {"metric": "topup_voice_minutes", "measured": "120.02", "limit": "120"}
    ]
    assert rules_of(found, limited) == {"5"}  # all of it within the network


# --- rules 7 and 8: offers with unlimited calls and SMS -------------------------------------


def test_more_than_60_percent_of_calls_to_other_operators_breaks_rule_7(unlimited: Line, cast: Cast) -> None:
    at_limit = LineFactory.create(company=cast.bianchi, offer=unlimited.offer)
    write(calls(at_limit, 6, operator="TIM"), calls(at_limit, 4, operator="own"))
    write(calls(unlimited, 7, operator="TIM"), calls(unlimited, 4, operator="own"))
    write(
        calls(at_limit, 3, operator="TIM", direction="in"),
        calls(unlimited, 3, operator="TIM", direction="in"),
    )

    found = found_on()

    assert rules_of(found, at_limit) == set()
    assert found == {
        (unlimited.number, "7"): [{"metric": "calls_off_share", "measured": "0.6364", "limit": "0.6000"}]
    }


def test_three_calls_out_for_each_one_received_are_fine_and_one_more_breaks_rule_8(
    unlimited: Line, cast: Cast
) -> None:
    at_limit = LineFactory.create(company=cast.bianchi, offer=unlimited.offer)
    for line, extra in ((at_limit, 0), (unlimited, 1)):
        write(
            calls(line, 2, operator="VODAFONE", direction="in"),
            calls(line, 3, operator="TIM"),
            texts(line, 3 + extra, operator="ILIAD"),
            calls(line, 6, operator="own"),
        )

    found = found_on()

    assert rules_of(found, at_limit) == set()
    assert found == {(unlimited.number, "8"): [{"metric": "off_net_outgoing", "measured": "7", "limit": "6"}]}


def test_with_nothing_received_from_other_operators_any_call_to_them_breaks_rule_8(unlimited: Line) -> None:
    write(calls(unlimited, 1, operator="TIM"), calls(unlimited, 9, operator="own"))
    write(calls(unlimited, 5, operator="own", direction="in"))

    assert found_on() == {
        (unlimited.number, "8"): [{"metric": "off_net_outgoing", "measured": "1", "limit": "0"}]
    }


def test_rule_8_waits_for_the_minimum_base_of_all_outgoing_calls_and_sms(unlimited: Line) -> None:
    write(calls(unlimited, 5, operator="TIM"), texts(unlimited, 4, operator="own"))

    assert found_on() == {}


def test_rules_7_and_8_do_not_apply_to_offers_without_unlimited_calls(limited: Line) -> None:
    write(
        calls(limited, 7, operator="TIM", network="fixed"), calls(limited, 4, operator="own", network="fixed")
    )

    assert {rule for _number, rule in found_on()} == {"3", "4"}


# --- D1 and D2: unlimited data ----------------------------------------------------------


GB = 10**9


@pytest.fixture
def data_offer(cast: Cast) -> Any:
    return OfferFactory.create(code="BIZ-DATA", unlimited_data=True, unlimited_voice_sms=True)


def data_line(cast: Cast, offer: Any, **kwargs: Any) -> Line:
    kwargs.setdefault("activated_on", date(2025, 1, 1))
    return LineFactory.create(company=cast.rossi, offer=offer, **kwargs)


def test_just_under_five_times_the_average_of_the_others_is_fine(cast: Cast, data_offer: Any) -> None:
    checked = data_line(cast, data_offer)
    quiet = [data_line(cast, data_offer) for _ in range(3)]
    write(record(quiet[0], service="data", volume=3 * GB))
    write(record(checked, service="data", volume=5 * GB - 1))

    assert found_in() == {}


def test_a_line_at_five_times_the_average_of_the_others_breaks_d1(cast: Cast, data_offer: Any) -> None:
    checked = data_line(cast, data_offer)
    quiet = [data_line(cast, data_offer) for _ in range(3)]
    write(record(quiet[0], service="data", volume=3 * GB))
    write(record(checked, service="data", volume=5 * GB))

    found = found_in()

    # Others: 3 GB over 3 lines (two with no traffic count as zero) = 1 GB; 5 GB is 5 times that.
    assert found[(checked.number, "D1")] == [
        {"metric": "data_volume_gb", "measured": "5.00", "limit": "5.00"}
    ]
    assert rules_of(found, quiet[0]) == set()


def test_lines_not_active_the_whole_month_are_left_out_of_the_average(cast: Cast, data_offer: Any) -> None:
    checked = data_line(cast, data_offer)
    other = data_line(cast, data_offer)
    joined = data_line(cast, data_offer, activated_on=MONTH + timedelta(days=1))
    left = data_line(cast, data_offer, ceased_on=MONTH + timedelta(days=28))
    write(record(joined, service="data", volume=10 * GB), record(left, service="data", volume=10 * GB))
    write(record(other, service="data", volume=1 * GB), record(checked, service="data", volume=5 * GB))

    # Counted, they would make the others' average 7 GB; left out, it is 1 GB.

    assert (checked.number, "D1") in found_in()


def test_a_line_alone_on_its_offer_has_no_average_to_break(cast: Cast, data_offer: Any) -> None:
    checked = data_line(cast, data_offer)
    write(record(checked, service="data", volume=50 * GB))

    assert found_in() == {}


def test_d1_does_not_apply_to_offers_without_unlimited_data(cast: Cast) -> None:
    offer = OfferFactory.create(code="BIZ-LIM-DATA", unlimited_data=False)
    checked, other = data_line(cast, offer), data_line(cast, offer)
    write(record(other, service="data", volume=GB), record(checked, service="data", volume=50 * GB))

    assert found_in() == {}


def test_above_the_average_three_months_running_breaks_d2_with_a_figure_per_month(
    cast: Cast, data_offer: Any
) -> None:
    checked, other, twice = (data_line(cast, data_offer) for _ in range(3))
    months = [MONTH, date(2026, 10, 1), date(2026, 9, 1)]
    for month in months:
        write(record(other, service="data", volume=2 * GB, day=month))
        write(record(checked, service="data", volume=4 * GB, day=month + timedelta(days=27)))
    write(record(twice, service="data", volume=4 * GB, day=months[0]))
    write(record(twice, service="data", volume=4 * GB, day=months[1]))

    found = found_in()

    # `twice` was above the others' average in two months only; `checked` in all three.
    assert rules_of(found, twice) == set()
    assert found == {
        (checked.number, "D2"): [
            {"metric": "data_volume_gb", "month": "2026-11", "measured": "4.00", "limit": "3.00"},
            {"metric": "data_volume_gb", "month": "2026-10", "measured": "4.00", "limit": "3.00"},
            {"metric": "data_volume_gb", "month": "2026-09", "measured": "4.00", "limit": "1.00"},
        ]
    }


def test_d2_needs_the_average_of_the_other_lines_of_each_month(cast: Cast, data_offer: Any) -> None:
    checked, other = data_line(cast, data_offer), data_line(cast, data_offer)
    for month in (MONTH, date(2026, 10, 1), date(2026, 9, 1)):
        write(record(other, service="data", volume=2 * GB, day=month))
        write(record(checked, service="data", volume=2 * GB, day=month))

    assert found_in() == {}
