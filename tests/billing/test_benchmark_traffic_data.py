"""`benchmarks.traffic_data.fill_traffic`: the benchmarks' traffic, checked at a small size."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from benchmarks.traffic_data import fill_traffic
from billing.models import TrafficDailyTotal, TrafficRecord, TrafficRecordId
from billing.traffic_feed import ROME
from tests.billing.test_traffic_import import partitions
from tests.factories import CompanyFactory, LineFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 30)


def test_fill_traffic_spreads_the_records_over_the_days_and_lines_in_their_partitions() -> None:
    company = CompanyFactory.create()
    lines = LineFactory.create_batch(3, company=company)

    fill_traffic(company=company, lines=lines, records=1_000, days=10, today=TODAY)
    fill_traffic(company=company.pk, lines=[line.pk for line in lines], records=500, days=10, today=TODAY)

    assert TrafficRecord.objects.filter(company=company).count() == 1_500
    days = {TODAY - timedelta(days=n) for n in range(10)}
    assert set(TrafficRecord.objects.values_list("day", flat=True)) == days
    assert partitions() == {f"billing_trafficrecord_p{day:%Y%m%d}" for day in days}
    assert set(TrafficRecord.objects.values_list("line_id", flat=True)) == {line.pk for line in lines}
    assert set(TrafficRecord.objects.values_list("service", flat=True)) == {"voice", "sms", "mms", "data"}
    # Each record's day is its Rome day, as the importer would store it.
    assert all(
        timezone.localtime(started_at, ROME).date() == day
        for started_at, day in TrafficRecord.objects.values_list("started_at", "day")
    )
    assert not TrafficRecordId.objects.exists()


def test_fill_traffic_with_ids_and_totals_sums_like_the_importer() -> None:
    company = CompanyFactory.create()
    lines = LineFactory.create_batch(2, company=company)

    fill_traffic(company=company, lines=lines, records=400, days=3, today=TODAY, ids_and_totals=True)

    assert TrafficRecordId.objects.count() == 400
    totals = TrafficDailyTotal.objects.aggregate(records=Sum("records"), volume=Sum("volume_bytes"))
    records = TrafficRecord.objects.aggregate(records=Count("id"), volume=Sum("volume_bytes"))
    assert totals == records


def test_fill_traffic_fair_use_mix_keeps_lines_within_the_policy_but_the_heavy_one() -> None:
    company = CompanyFactory.create()
    heavy, fair = LineFactory.create_batch(2, company=company)

    fill_traffic(
        company=company, lines=[heavy, fair], records=100, days=1, today=TODAY, mix="fair_use", totals=True
    )

    # Added to the daily totals as the importer adds them, and no record ids.
    totals = TrafficDailyTotal.objects.aggregate(
        records=Sum("records"), seconds=Sum("duration_s"), volume=Sum("volume_bytes")
    )
    records = TrafficRecord.objects.aggregate(
        records=Count("id"), seconds=Sum("duration_s"), volume=Sum("volume_bytes")
    )
    assert totals == records
    assert not TrafficRecordId.objects.exists()
    outgoing = TrafficRecord.objects.filter(direction="out").exclude(service="data")
    # The fair line: most of its calls and SMS within the network; the heavy one: all to TIM.
    fair_operators = list(outgoing.filter(line=fair).values_list("other_operator", flat=True))
    assert fair_operators.count("own") * 2 > len(fair_operators)
    assert set(outgoing.filter(line=heavy).values_list("other_operator", flat=True)) == {"TIM"}
