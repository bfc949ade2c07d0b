"""Roaming fair use (rule R, Implementing Regulation (EU) 2016/2286 art. 4) in the monthly run.

Over the four whole months ending with the month checked (2026-08-01 to
2026-11-30 here), a line breaches when its days in the EU/EEA outside Italy
are more than its days in Italy AND its consumption there is more than in
Italy for calls, SMS sent or data; equal is fine. The traffic is written as
daily totals, which is what the checks read.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse

from billing.demo_traffic import EU_COMMUTER, HEAVY_DATA, DemoLine, _country, demo_traffic_rows
from billing.fair_use import fair_use_run_period
from billing.fair_use_texts import fair_use_rule_descriptions
from billing.models import (
    FairUseFinding,
    FairUseFindingStatus,
    FairUseLimit,
    FairUseMeasure,
    FairUsePeriod,
    FairUseRule,
    TrafficDailyTotal,
)
from selfcare.models import Channel, Line, Notification, User
from tests.billing.fair_use_rows import make_finding
from tests.cast import Cast
from tests.factories import LineFactory, UserFactory, give_totp

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)
MONTH = date(2026, 11, 1)
WINDOW_FIRST, WINDOW_LAST = date(2026, 8, 1), date(2026, 11, 30)
# Days inside the window, far from its edges: home days from here on, abroad days from ABROAD.
HOME = date(2026, 9, 1)
ABROAD = date(2026, 10, 1)
MB = 1_000_000


@pytest.fixture(autouse=True)
def now(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def line(cast: Cast) -> Line:
    """A line of Rossi's observed the whole window (active since well before it)."""
    User.objects.filter(memberships__company=cast.rossi).update(language="en")
    return LineFactory.create(company=cast.rossi, activated_on=date(2025, 1, 10))


def traffic(
    line: Line,
    day: date,
    country: str,
    *,
    seconds: int = 0,
    sms: int = 0,
    volume: int = 0,
    direction: str = "out",
) -> None:
    """One daily total of the line: calls (seconds), SMS (a count) or data (bytes), as the import keeps them."""
    common = {"company_id": line.company_id, "line_id": line.pk, "day": day, "country": country}
    voice = {"other_operator": "TIM", "other_network": "mobile", "direction": direction}
    if seconds:
        _add({**common, **voice, "service": "voice"}, records=1, duration_s=seconds)
    if sms:
        _add({**common, **voice, "service": "sms"}, records=sms)
    if volume:
        _add({**common, "service": "data", "direction": "out"}, records=1, volume_bytes=volume)


def _add(kind: dict[str, Any], **figures: int) -> None:
    """Added to the day's total of that kind, or a new one: the import's upsert."""
    added = TrafficDailyTotal.objects.filter(**kind).update(
        **{name: F(name) + value for name, value in figures.items()}
    )
    if not added:
        TrafficDailyTotal.objects.create(**kind, **figures)


def presence(line: Line, *, home: int, abroad: int, country: str = "FR") -> None:
    """`home` days in Italy and `abroad` days in `country`, each with 1 MB of data: equal consumption per day."""
    for n in range(home):
        traffic(line, HOME + timedelta(days=n), "IT", volume=MB)
    for n in range(abroad):
        traffic(line, ABROAD + timedelta(days=n), country, volume=MB)


def run_month(month: date = MONTH) -> list[FairUseFinding]:
    fair_use_run_period(period=FairUsePeriod.MONTH, period_start=month)
    return list(FairUseFinding.objects.filter(rule__code="R").select_related("line", "rule").order_by("pk"))


def figures(finding: FairUseFinding) -> dict[str, tuple[str, str]]:
    return {figure["metric"]: (figure["measured"], figure["limit"]) for figure in finding.metrics}


# ---------------------------------------------------------------------------
# Presence: days abroad against days at home
# ---------------------------------------------------------------------------
def test_as_many_days_abroad_as_at_home_is_fair_whatever_the_consumption(line: Line) -> None:
    presence(line, home=10, abroad=10)
    traffic(line, ABROAD, "FR", volume=500 * MB)

    assert run_month() == []


def test_one_day_more_abroad_with_more_data_there_is_a_finding_of_the_month(line: Line) -> None:
    presence(line, home=10, abroad=11)

    [finding] = run_month()

    assert (finding.line, finding.period, finding.period_start) == (line, FairUsePeriod.MONTH, MONTH)
    assert figures(finding) == {"roaming_days": ("11", "10"), "roaming_data_mb": ("11.00", "10.00")}


def test_one_day_more_abroad_with_the_same_consumption_is_fair(line: Line) -> None:
    presence(line, home=10, abroad=11)
    traffic(line, HOME, "IT", volume=MB)  # 11 MB at home too

    assert run_month() == []


def test_consumption_is_compared_per_service_calls_over_alone_is_enough(line: Line) -> None:
    presence(line, home=10, abroad=11)
    traffic(line, HOME, "IT", volume=MB)  # data equal: 11 MB each
    traffic(line, HOME, "IT", seconds=600, sms=5)
    traffic(line, ABROAD, "FR", seconds=300, sms=5)
    traffic(line, ABROAD, "DE", seconds=301, direction="in")  # calls received abroad count too

    [finding] = run_month()

    assert figures(finding) == {"roaming_days": ("11", "10"), "roaming_voice_minutes": ("10.02", "10.00")}


def test_calls_exactly_equal_are_fair(line: Line) -> None:
    presence(line, home=10, abroad=11)
    traffic(line, HOME, "IT", volume=MB, seconds=600)
    traffic(line, ABROAD, "FR", seconds=600)

    assert run_month() == []


def test_only_sms_sent_count_not_those_received(line: Line) -> None:
    presence(line, home=10, abroad=11)
    traffic(line, HOME, "IT", volume=MB, sms=3)
    traffic(line, ABROAD, "FR", sms=50, direction="in")
    assert run_month() == []

    traffic(line, ABROAD + timedelta(days=1), "FR", sms=4)
    [finding] = run_month(MONTH)  # a second run of the month: the same window, now over

    assert figures(finding) == {"roaming_days": ("11", "10"), "roaming_sms_count": ("4", "3")}


def test_days_outside_the_eu_are_not_roaming_in_the_eu(line: Line) -> None:
    presence(line, home=10, abroad=10)
    for n in range(5):  # Switzerland and the USA: rated zones, not roam like at home
        traffic(line, date(2026, 11, 2) + timedelta(days=n), "CH", volume=100 * MB)
        traffic(line, date(2026, 11, 9) + timedelta(days=n), "US", volume=100 * MB)

    assert run_month() == []


def test_the_eea_outside_the_eu_is_roaming_like_the_eu(line: Line) -> None:
    presence(line, home=10, abroad=11, country="NO")

    assert len(run_month()) == 1


def test_a_day_with_traffic_in_italy_and_abroad_is_a_day_in_italy(line: Line) -> None:
    presence(line, home=10, abroad=11)
    traffic(line, ABROAD, "IT", seconds=60)  # back home that evening: 10 days abroad, 11 at home

    assert run_month() == []


def test_a_day_with_only_incoming_traffic_is_a_day_of_presence(line: Line) -> None:
    presence(line, home=10, abroad=10)
    traffic(line, ABROAD + timedelta(days=20), "FR", seconds=60, direction="in")

    [finding] = run_month()

    assert figures(finding)["roaming_days"] == ("11", "10")


# ---------------------------------------------------------------------------
# The window: the four whole months ending with the month checked
# ---------------------------------------------------------------------------
def test_a_day_just_before_the_window_does_not_count(line: Line) -> None:
    presence(line, home=10, abroad=10)
    traffic(line, WINDOW_FIRST - timedelta(days=1), "FR", volume=MB)

    assert run_month() == []


def test_the_first_day_of_the_window_counts(line: Line) -> None:
    presence(line, home=10, abroad=10)
    traffic(line, WINDOW_FIRST, "FR", volume=MB)

    assert len(run_month()) == 1


def test_the_last_day_of_the_window_counts_the_day_after_does_not(line: Line) -> None:
    presence(line, home=10, abroad=10)
    traffic(line, WINDOW_LAST + timedelta(days=1), "FR", volume=MB)
    assert run_month() == []

    traffic(line, WINDOW_LAST, "FR", volume=MB)
    assert len(run_month()) == 1


def test_staff_may_observe_longer_but_never_less_than_four_months(line: Line) -> None:
    presence(line, home=10, abroad=10)
    traffic(line, date(2026, 7, 15), "FR", volume=MB)
    limit = FairUseLimit.objects.get(rule__code="R", metric="observation_months")
    limit.limit = Decimal(3)
    limit.save()
    assert run_month() == []  # still four months: July is outside

    limit.limit = Decimal(5)
    limit.save()
    assert len(run_month()) == 1


def test_a_line_not_observed_for_the_whole_window_is_not_checked(cast: Cast) -> None:
    newer = LineFactory.create(company=cast.rossi, activated_on=WINDOW_FIRST + timedelta(days=1))
    presence(newer, home=10, abroad=11)

    assert run_month() == []


def test_a_disabled_rule_finds_nothing(line: Line) -> None:
    presence(line, home=10, abroad=11)
    FairUseRule.objects.filter(code="R").update(enabled=False)

    assert run_month() == []


# ---------------------------------------------------------------------------
# The finding, its warning with 14 days, once
# ---------------------------------------------------------------------------
def test_the_finding_is_warned_with_fourteen_days_to_change(cast: Cast, line: Line) -> None:
    presence(line, home=10, abroad=11)

    [finding] = run_month()

    assert finding.status == FairUseFindingStatus.WARNED
    assert finding.roaming_change_by == date(2026, 12, 16)
    messages = Notification.objects.filter(event="fair_use_measure", channel=Channel.INBOX)
    assert {message.user for message in messages} == {cast.rossi_admin.user, cast.rossi_legal_rep.user}
    body = messages[0].body
    assert "Over the last 4 months, the line was on more days in the EU/EEA outside Italy" in body
    assert "After a warning you have 14 days to change this pattern" in body
    assert "Days in the EU/EEA outside Italy: 11 (limit 10)" in body
    assert "You have until 12/16/2026 to change the line's pattern of roaming in the EU/EEA" in body


def test_the_customer_reads_the_day_to_change_by_on_the_finding(
    client_as: Any, cast: Cast, line: Line
) -> None:
    presence(line, home=10, abroad=11)
    [finding] = run_month()

    page = client_as(cast.rossi_admin).get(
        reverse("billing:fair-use-finding", args=[finding.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert 'id="finding-change-by">12/16/2026: after that a surcharge may apply' in page.content.decode()


def test_other_rules_findings_have_no_day_to_change_by(cast: Cast) -> None:
    finding = make_finding(cast.rossi_assigned_line, warned_at=NOW, status="warned")

    assert finding.roaming_change_by is None


def test_one_finding_and_one_warning_per_line_and_window_however_often_it_runs(line: Line) -> None:
    presence(line, home=10, abroad=11)

    run_month()
    run_month()
    findings = run_month()

    assert len(findings) == 1
    assert FairUseMeasure.objects.filter(finding__rule__code="R").count() == 1
    assert Notification.objects.filter(event="fair_use_measure", channel=Channel.INBOX).count() == 2


def test_the_next_month_is_another_window_with_its_own_finding(line: Line) -> None:
    presence(line, home=10, abroad=11)

    run_month()
    findings = run_month(date(2026, 12, 1))

    assert [finding.period_start for finding in findings] == [MONTH, date(2026, 12, 1)]


def test_run_fair_use_month_includes_the_roaming_rule(line: Line) -> None:
    presence(line, home=10, abroad=11)
    out = StringIO()

    call_command("run_fair_use", "--month", "2026-11", "--json", stdout=out)

    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["findings"] == [
        {
            "line": line.number,
            "rule": "R",
            "period": "2026-11",
            "measured": "11",
            "limit": "10",
            "metrics": [
                {"metric": "roaming_days", "measured": "11", "limit": "10"},
                {"metric": "roaming_data_mb", "measured": "11.00", "limit": "10.00"},
            ],
        }
    ]


def test_the_rule_in_words_says_the_window_and_the_days_to_change() -> None:
    text = fair_use_rule_descriptions()[("R", FairUsePeriod.MONTH)]

    assert text.startswith("Over the last 4 months")
    assert "14 days" in text


# ---------------------------------------------------------------------------
# Staff
# ---------------------------------------------------------------------------
def test_staff_find_it_in_the_admin_list_with_the_rule_filter(
    client: Client, cast: Cast, line: Line, staff_groups: None
) -> None:
    presence(line, home=10, abroad=11)
    [finding] = run_month()
    make_finding(cast.rossi_assigned_line)  # a rule-1 finding, left out by the filter
    staff = UserFactory.create(email="fair.use@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Fraud and fair use"))
    client.force_login(staff)

    page = client.get(
        reverse("admin:billing_fairusefinding_changelist"),
        {"rule__id__exact": FairUseRule.objects.get(code="R").pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert list(page.context["cl"].result_list) == [finding]
    assert "Days in the EU/EEA outside Italy: 11 (limit 10)" in page.content.decode()
    detail = client.get(
        reverse("admin:billing_fairusefinding_change", args=[finding.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Change the roaming pattern by" in detail
    assert '<div class="readonly">2026-12-16</div>' in detail


def test_the_api_gives_the_day_to_change_by(cast: Cast, line: Line, api_client_for: Any) -> None:
    presence(line, home=10, abroad=11)
    [finding] = run_month()
    make_finding(cast.rossi_assigned_line)  # rule 1: no such day

    body = api_client_for(cast.rossi_admin).get("/api/v1/fair-use/findings/").json()

    days = {row["id"]: row["roaming_change_by"] for row in body["results"]}
    assert days[finding.pk] == "2026-12-16"
    assert list(days.values()).count(None) == 1


# ---------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------
def _demo_line(number: str) -> DemoLine:
    return DemoLine(number=number, mobile=True, prepaid=False, activated_on=date(2024, 2, 2), ceased_on=None)


def test_the_demo_commuter_breaches_the_roaming_rule_over_its_ninety_days(cast: Cast) -> None:
    line = LineFactory.create(company=cast.rossi, number=EU_COMMUTER, activated_on=date(2024, 2, 2))
    # The demo's 90 days before today: the months checked by seed_demo are the last two whole ones.
    for row in demo_traffic_rows(lines=[_demo_line(EU_COMMUTER)], today=NOW.date()):
        day = datetime.fromisoformat(row["started_at"]).astimezone(ROME).date()
        figures_of = {
            "records": 1,
            "duration_s": int(row["duration_s"]),
            "volume_bytes": int(row["volume_bytes"]),
        }
        _add(
            {
                "company_id": line.company_id,
                "line_id": line.pk,
                "day": day,
                "country": row["country"],
                "service": row["service"],
                "direction": row["direction"],
                "other_operator": row["other_operator"],
                "other_network": row["other_network"],
            },
            **figures_of,
        )

    [october] = run_month(date(2026, 10, 1))
    november = run_month()[-1]

    assert october.line == november.line == line
    assert {"roaming_days", "roaming_data_mb"} <= set(figures(november))


def test_the_demo_heavy_data_line_never_goes_to_switzerland() -> None:
    heavy = _demo_line(HEAVY_DATA)
    first = date(2025, 1, 1)

    countries = {_country(heavy, first + timedelta(days=n)) for n in range(3 * 365)}

    assert "CH" not in countries
    # Another of Lombardi's lines still makes the Swiss deliveries.
    other = _demo_line("+393404511000")
    assert "CH" in {_country(other, first + timedelta(days=n)) for n in range(3 * 365)}
