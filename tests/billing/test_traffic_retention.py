"""Retention of the raw traffic records (docs/traffic.md, "Retention"): what goes, what stays, and when."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone

import billing.traffic_retention
from billing.models import TrafficDailyTotal, TrafficRecord, TrafficRecordId
from billing.tasks_traffic_retention import purge_traffic
from billing.traffic_import import TRAFFIC_PARTITION_LOCK, TRAFFIC_PARTITIONS_IN_USE_LOCK, traffic_import_file
from billing.traffic_retention import traffic_purge, traffic_retention_cutoff
from selfcare.models import Line
from tests.billing.test_traffic_import import (  # noqa: F401 - committed_partitions_dropped is a fixture
    CUSTOMERS,
    ROSSI_NUMBER,
    committed_partitions_dropped,
    partitions,
)
from tests.billing.traffic_files import call, data_session, feed_file
from tests.commands import SERVER_SETTINGS, in_embedded_mode, manage
from tests.factories import CompanyFactory, LineFactory
from tests.worker import database_url_of_test_database

# With the default margin of 30 days, on 2 December 2026 the cutoff is 3 May 2026.
TODAY = date(2026, 12, 2)
CUTOFF = date(2026, 5, 3)


@pytest.fixture
def line(db: None, settings: Any) -> Line:
    settings.TRAFFIC_RETENTION_MARGIN_DAYS = 30
    return LineFactory.create(number=ROSSI_NUMBER, company=CompanyFactory.create(name="Rossi"))


def on(day: date, record_id: str) -> dict[str, str]:
    return call(record_id, ROSSI_NUMBER, started_at=f"{day.isoformat()}T10:00:00+02:00")


@pytest.fixture
def around_the_cutoff(line: Line, tmp_path: Path) -> Path:
    """Records two days before the cutoff, the day before it, on it, the day after, and last month."""
    rows = [
        on(CUTOFF - timedelta(days=2), "r1"),
        on(CUTOFF - timedelta(days=1), "r2"),
        data_session("r3", ROSSI_NUMBER, started_at="2026-05-02T23:30:00+02:00"),
        on(CUTOFF, "r4"),
        on(CUTOFF + timedelta(days=1), "r5"),
        call("r6", ROSSI_NUMBER),  # 20 November 2026
    ]
    path = feed_file(tmp_path, rows)
    assert traffic_import_file(path=path).inserted == 6
    return path


def kept_days() -> list[date]:
    return sorted(set(TrafficRecord.objects.values_list("day", flat=True)))


@pytest.mark.parametrize(
    ("today", "margin", "cutoff"),
    [
        (date(2026, 12, 2), 30, date(2026, 5, 3)),
        (date(2026, 12, 2), 0, date(2026, 6, 2)),
        # No 31 February: the month's last day, then the margin.
        (date(2026, 8, 31), 0, date(2026, 2, 28)),
        (date(2028, 8, 31), 1, date(2028, 2, 28)),
        # Across the new year.
        (date(2027, 3, 15), 10, date(2026, 9, 5)),
    ],
)
def test_the_cutoff_is_the_same_day_six_months_back_less_the_margin(
    today: date, margin: int, cutoff: date
) -> None:
    assert traffic_retention_cutoff(today=today, margin_days=margin) == cutoff


def test_the_margin_comes_from_the_settings(settings: Any) -> None:
    settings.TRAFFIC_RETENTION_MARGIN_DAYS = 5

    assert traffic_retention_cutoff(today=TODAY) == date(2026, 5, 28)


def test_partitions_wholly_before_the_cutoff_are_dropped_and_the_others_kept(around_the_cutoff: Path) -> None:
    purge = traffic_purge(today=TODAY)

    assert purge.cutoff == CUTOFF
    assert purge.dropped == [
        ("billing_trafficrecord_p20260501", 1),
        ("billing_trafficrecord_p20260502", 2),
    ]
    assert (purge.rows_deleted, purge.rows) == (0, 3)
    assert partitions() == {
        "billing_trafficrecord_p20260503",
        "billing_trafficrecord_p20260504",
        "billing_trafficrecord_p20261120",
    }
    assert kept_days() == [CUTOFF, CUTOFF + timedelta(days=1), date(2026, 11, 20)]


def test_record_ids_and_daily_totals_are_never_purged(around_the_cutoff: Path) -> None:
    ids = list(TrafficRecordId.objects.order_by("record_id").values_list())
    totals = list(TrafficDailyTotal.objects.order_by("pk").values_list())

    traffic_purge(today=TODAY)

    assert list(TrafficRecordId.objects.order_by("record_id").values_list()) == ids
    assert list(TrafficDailyTotal.objects.order_by("pk").values_list()) == totals
    assert {day for (day,) in TrafficDailyTotal.objects.values_list("day")} >= {date(2026, 5, 1)}


def test_a_replay_after_the_purge_is_still_duplicates_and_makes_no_partition(around_the_cutoff: Path) -> None:
    traffic_purge(today=TODAY)
    before = partitions()

    replay = traffic_import_file(path=around_the_cutoff)

    assert (replay.inserted, replay.duplicates, replay.rejected) == (0, 6, [])
    assert partitions() == before
    assert TrafficRecord.objects.count() == 3


def test_a_second_purge_drops_nothing(around_the_cutoff: Path) -> None:
    traffic_purge(today=TODAY)

    again = traffic_purge(today=TODAY)

    assert (again.dropped, again.rows) == ([], 0)
    assert len(kept_days()) == 3


def test_an_old_record_imported_late_goes_at_the_next_run(line: Line, tmp_path: Path) -> None:
    traffic_purge(today=TODAY)
    traffic_import_file(path=feed_file(tmp_path, [on(date(2026, 1, 10), "late")]))
    assert "billing_trafficrecord_p20260110" in partitions()

    purge = traffic_purge(today=TODAY)

    assert purge.dropped == [("billing_trafficrecord_p20260110", 1)]
    assert not TrafficRecord.objects.exists()
    assert TrafficRecordId.objects.filter(record_id="late").exists()


def test_a_dry_run_says_what_would_go_and_drops_nothing(around_the_cutoff: Path) -> None:
    before = partitions()

    purge = traffic_purge(today=TODAY, dry_run=True)

    assert [name for name, _rows in purge.dropped] == [
        "billing_trafficrecord_p20260501",
        "billing_trafficrecord_p20260502",
    ]
    assert (purge.rows_deleted, purge.rows) == (0, 3)
    assert partitions() == before
    assert TrafficRecord.objects.count() == 6


def test_old_rows_in_a_partition_of_several_days_are_deleted_one_by_one(line: Line) -> None:
    # Not one the importer makes: a partition by hand holding days on both sides of the cutoff.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE traffic_spring (LIKE billing_trafficrecord)")
        cursor.execute(
            "ALTER TABLE billing_trafficrecord ATTACH PARTITION traffic_spring "
            "FOR VALUES FROM ('2026-04-01') TO ('2026-06-01')"
        )
    # The importer knows day partitions only: the rows go in by hand too.
    for record_id, day in (("old", date(2026, 4, 20)), ("new", date(2026, 5, 20))):
        TrafficRecord.objects.create(
            record_id=record_id,
            company_id=line.company_id,
            line=line,
            started_at=timezone.make_aware(datetime.combine(day, time(10))),
            day=day,
            direction="out",
            service="data",
            country="IT",
        )

    purge = traffic_purge(today=TODAY)

    assert (purge.dropped, purge.rows_deleted) == ([], 1)
    assert "traffic_spring" in partitions()
    assert list(TrafficRecord.objects.values_list("record_id", flat=True)) == ["new"]


@pytest.mark.usefixtures("committed_partitions_dropped")
@pytest.mark.parametrize(
    "held",
    [
        # What an import making partitions holds until it commits.
        f"SELECT pg_advisory_xact_lock({TRAFFIC_PARTITION_LOCK})",
        # What every import holds from its look at the partitions until it commits.
        f"SELECT pg_advisory_xact_lock_shared({TRAFFIC_PARTITIONS_IN_USE_LOCK})",
    ],
)
def test_the_purge_waits_for_the_imports_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any, held: str
) -> None:
    # Committed, so that the import's own hold of the lock is over when the other one takes it.
    settings.TRAFFIC_RETENTION_MARGIN_DAYS = 30
    LineFactory.create(number=ROSSI_NUMBER, company=CompanyFactory.create(name="Rossi"))
    traffic_import_file(path=feed_file(tmp_path, [on(date(2026, 4, 1), "old")]))
    monkeypatch.setattr(billing.traffic_retention, "LOCK_TIMEOUT", "300ms")
    with psycopg.connect(database_url_of_test_database(), autocommit=False) as importer:
        importer.execute(held)

        with pytest.raises(OperationalError, match="lock timeout"):
            traffic_purge(today=TODAY)

        assert "billing_trafficrecord_p20260401" in partitions()
        importer.rollback()
    assert traffic_purge(today=TODAY).rows == 1
    assert "billing_trafficrecord_p20260401" not in partitions()


def test_the_purge_logs_what_it_dropped(around_the_cutoff: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="billing.traffic_retention"):
        traffic_purge(today=TODAY)

    assert "billing_trafficrecord_p20260502 (2 rows)" in caplog.text
    assert "records before 2026-05-03, 3 rows" in caplog.text


def test_the_daily_task_purges_with_todays_cutoff(line: Line, tmp_path: Path) -> None:
    today = timezone.localdate()
    old = today - timedelta(days=300)
    traffic_import_file(path=feed_file(tmp_path, [on(old, "old"), on(today - timedelta(days=10), "recent")]))

    purge_traffic()

    assert list(TrafficRecord.objects.values_list("record_id", flat=True)) == ["recent"]
    entry = settings.CELERY_BEAT_SCHEDULE["traffic-retention-daily"]
    assert entry["task"] == "billing.tasks_traffic_retention.purge_traffic"


def test_the_command_prints_the_summary_as_json(around_the_cutoff: Path, settings: Any) -> None:
    # The command's cutoff is today's: keep the same distance from it as the fixture's records.
    settings.TRAFFIC_RETENTION_MARGIN_DAYS = 30 + (timezone.localdate() - TODAY).days
    out = StringIO()

    call_command("purge_traffic", "--dry-run", "--json", stdout=out)

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["dry_run"] is True
    assert summary["rows"] >= 3
    assert TrafficRecord.objects.count() == 6


def test_the_embedded_sqlite_mode_deletes_the_old_rows(tmp_path: Path) -> None:
    embedded = in_embedded_mode(tmp_path / "var")
    customers = tmp_path / "customers.json"
    customers.write_text(json.dumps(CUSTOMERS))
    today = date.today()  # noqa: DTZ011 - a day of records well on either side of the cutoff
    path = feed_file(
        tmp_path, [on(today - timedelta(days=400), "old"), on(today - timedelta(days=10), "recent")]
    )
    assert manage("migrate", "--noinput", env=embedded, unset=SERVER_SETTINGS).returncode == 0
    assert manage("import_customers", str(customers), env=embedded, unset=SERVER_SETTINGS).returncode == 0
    assert manage("import_traffic", str(path), env=embedded, unset=SERVER_SETTINGS).returncode == 0

    runs = [manage("purge_traffic", "--json", env=embedded, unset=SERVER_SETTINGS) for _ in range(2)]

    summaries = [json.loads(run.stdout.strip().splitlines()[-1]) for run in runs]
    assert [(s["partitions"], s["rows_deleted"]) for s in summaries] == [([], 1), ([], 0)]
    replay = manage("import_traffic", str(path), "--json", env=embedded, unset=SERVER_SETTINGS)
    assert json.loads(replay.stdout.strip().splitlines()[-1])["duplicates"] == 2
