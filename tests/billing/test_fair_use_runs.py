"""Fair-use runs: chunks, reruns, the command's JSON, automatic warnings, and a worker killed mid-run."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from billing.fair_use import fair_use_chunk_check, fair_use_run_finish, fair_use_run_open, fair_use_run_period
from billing.models import (
    FairUseChunkStatus,
    FairUseFinding,
    FairUseFindingStatus,
    FairUseMeasure,
    FairUsePeriod,
    FairUseRun,
    FairUseRunStatus,
)
from selfcare.models import Line, Notification
from tests.billing.fair_use_traffic import DAY, calls, mixed, record, write
from tests.cast import Cast
from tests.factories import LineFactory, OfferFactory


def run_json(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("run_fair_use", *args, "--json", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue().strip().splitlines()[-1])
    return result


@pytest.fixture
def busy_lines(cast: Cast) -> list[Line]:
    """Five lines without unlimited calls, each over 160 minutes (rule 1); one also over rule 8's offer."""
    offer = OfferFactory.create(code="BIZ-BASE", unlimited_voice_sms=False)
    lines = [LineFactory.create(company=cast.rossi, offer=offer) for _ in range(5)]
    for line in lines:
        write(mixed(line, 161))
    return lines


@pytest.mark.django_db
def test_the_command_prints_every_finding_as_contracts_shows(busy_lines: list[Line]) -> None:
    result = run_json("--day", DAY.isoformat())

    assert sorted(result["findings"], key=lambda f: f["line"]) == [
        {
            "line": line.number,
            "rule": "1",
            "period": "2026-11-20",
            "measured": "161.00",
            "limit": "160",
            "metrics": [{"metric": "voice_minutes", "measured": "161.00", "limit": "160"}],
        }
        for line in sorted(busy_lines, key=lambda line: line.number)
    ]


@pytest.mark.django_db
def test_a_rerun_reports_the_same_findings_and_creates_none_twice(busy_lines: list[Line]) -> None:
    first = run_json("--day", DAY.isoformat())
    second = run_json("--day", DAY.isoformat())

    assert second == first
    assert FairUseFinding.objects.count() == 5
    assert list(FairUseRun.objects.order_by("pk").values_list("status", "findings_new")) == [
        (FairUseRunStatus.DONE, 5),
        (FairUseRunStatus.DONE, 0),
    ]


@pytest.mark.django_db
def test_a_period_checked_again_once_its_records_are_purged_finds_the_same(busy_lines: list[Line]) -> None:
    from datetime import timedelta

    from billing.models import TrafficRecord
    from billing.traffic_retention import traffic_purge

    first = run_json("--day", DAY.isoformat())
    FairUseMeasure.objects.all().delete()
    FairUseFinding.objects.all().delete()

    # A year on, the raw records are gone; the daily totals the checks read are kept.
    traffic_purge(today=DAY + timedelta(days=365))
    assert not TrafficRecord.objects.exists()

    assert run_json("--day", DAY.isoformat()) == first
    assert FairUseFinding.objects.count() == 5


@pytest.mark.django_db
def test_the_month_command_takes_a_month(busy_lines: list[Line]) -> None:
    assert run_json("--month", "2026-11") == {"findings": []}


@pytest.mark.django_db
def test_the_command_refuses_a_malformed_period() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("run_fair_use", "--month", "2026-13")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_fair_use", "--day", "20-11-2026")


@pytest.mark.django_db
@override_settings(FAIR_USE_CHUNK_LINES=2)
def test_a_run_is_cut_into_chunks_of_lines_by_id(busy_lines: list[Line]) -> None:
    run = fair_use_run_period(period=FairUsePeriod.DAY, period_start=DAY)

    chunks = list(run.chunks.order_by("first_line_id"))
    assert run.chunks_total == run.chunks_done == len(chunks) == (Line.objects.count() + 1) // 2
    assert all(chunk.status == FairUseChunkStatus.DONE for chunk in chunks)
    assert sum(chunk.findings_new for chunk in chunks) == run.findings_new == 5


@pytest.mark.django_db
@override_settings(FAIR_USE_CHUNK_LINES=2)
def test_a_run_left_half_done_is_resumed_by_running_again(busy_lines: list[Line]) -> None:
    # What a worker that died leaves: some chunks done and committed, the rest pending.
    run = fair_use_run_open(period=FairUsePeriod.DAY, period_start=DAY)
    assert fair_use_chunk_check(run=run, wait=False)
    assert fair_use_chunk_check(run=run, wait=False)

    result = run_json("--day", DAY.isoformat())

    run.refresh_from_db()
    assert FairUseRun.objects.get() == run
    assert (run.status, run.chunks_done, run.findings_new) == (FairUseRunStatus.DONE, run.chunks_total, 5)
    assert len(result["findings"]) == FairUseFinding.objects.count() == 5


@pytest.mark.django_db
def test_a_run_with_a_chunk_still_pending_is_not_finished(busy_lines: list[Line]) -> None:
    run = fair_use_run_open(period=FairUsePeriod.DAY, period_start=DAY)

    assert fair_use_run_finish(run=run).status == FairUseRunStatus.RUNNING
    assert not FairUseMeasure.objects.exists()


@pytest.mark.django_db
def test_rules_1_to_7_warn_by_themselves_once(busy_lines: list[Line]) -> None:
    fair_use_run_period(period=FairUsePeriod.DAY, period_start=DAY)
    fair_use_run_period(period=FairUsePeriod.DAY, period_start=DAY)

    assert FairUseMeasure.objects.count() == 5
    assert set(FairUseFinding.objects.values_list("status", flat=True)) == {FairUseFindingStatus.WARNED}


@pytest.mark.django_db
def test_rule_8_waits_for_staff(cast: Cast) -> None:
    line = cast.bianchi_line
    write(calls(line, 11, operator="TIM", network="fixed"), calls(line, 11, operator="own"))

    fair_use_run_period(period=FairUsePeriod.DAY, period_start=DAY)

    finding = FairUseFinding.objects.get()
    assert (finding.rule.code, finding.status) == ("8", FairUseFindingStatus.OPEN)
    assert not FairUseMeasure.objects.exists()


@pytest.mark.django_db
def test_a_dismissed_finding_is_not_warned_by_a_rerun(busy_lines: list[Line]) -> None:
    fair_use_run_period(period=FairUsePeriod.DAY, period_start=DAY)
    FairUseMeasure.objects.all().delete()
    FairUseFinding.objects.update(status=FairUseFindingStatus.DISMISSED)

    fair_use_run_period(period=FairUsePeriod.DAY, period_start=DAY)

    assert not FairUseMeasure.objects.exists()


@pytest.mark.django_db
@override_settings(FAIR_USE_CHUNK_LINES=2)
def test_a_monthly_run_sums_the_data_averages_when_it_opens_and_its_chunks_compare_with_them(
    cast: Cast,
) -> None:
    from datetime import date

    gb = 10**9
    offer = OfferFactory.create(code="BIZ-DATA", unlimited_data=True, unlimited_voice_sms=True)
    checked, *quiet = [
        LineFactory.create(company=cast.rossi, offer=offer, activated_on=date(2025, 1, 1)) for _ in range(4)
    ]
    write(record(quiet[0], service="data", volume=3 * gb))
    write(record(checked, service="data", volume=5 * gb))

    run = fair_use_run_open(period=FairUsePeriod.MONTH, period_start=DAY)

    # The month and the two before it (D2), for the one offer with unlimited data: 4 whole-month lines.
    assert run.data_averages == [[offer.pk, [[4, 8 * gb], [4, 0], [4, 0]]]]
    # Traffic arriving after the run opened moves no average of that run (a run resumed later
    # compares with the same figures): the others' average stays 1 GB, and 5 GB breaks D1.
    write(record(quiet[1], service="data", volume=30 * gb))
    fair_use_run_period(period=FairUsePeriod.MONTH, period_start=DAY)
    assert FairUseFinding.objects.get(line=checked).rule.code == "D1"
    assert FairUseRun.objects.get().data_averages == run.data_averages

    # A rerun of the period is a new run, which sums them again: now 35 GB over the others' 3 lines.
    rerun = fair_use_run_open(period=FairUsePeriod.MONTH, period_start=DAY)
    assert rerun.pk != run.pk
    assert rerun.data_averages == [[offer.pk, [[4, 38 * gb], [4, 0], [4, 0]]]]


@pytest.mark.django_db
def test_a_daily_run_keeps_no_data_averages(busy_lines: list[Line]) -> None:
    assert fair_use_run_open(period=FairUsePeriod.DAY, period_start=DAY).data_averages is None


def test_beat_runs_the_days_the_months_and_the_sweep() -> None:
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "billing.tasks_fair_use.fair_use_run_daily",
        "billing.tasks_fair_use.fair_use_run_monthly",
        "billing.tasks_fair_use.fair_use_runs_sweep",
    } <= tasks


# --- real workers ------------------------------------------------------------------------


@pytest.mark.worker
def test_a_real_worker_runs_the_day_in_chunks_fanned_out(
    celery_worker_process: Any, settings: Any, tmp_path: Path
) -> None:
    from billing.tasks_fair_use import fair_use_run_daily
    from tests.cast import make_cast
    from tests.worker import wait_until

    cast = make_cast()
    offer = OfferFactory.create(code="BIZ-BASE", unlimited_voice_sms=False)
    lines = [LineFactory.create(company=cast.rossi, offer=offer) for _ in range(4)]
    for line in lines:
        write(mixed(line, 161))

    fair_use_run_daily.delay(DAY.isoformat())

    wait_until(lambda: FairUseRun.objects.filter(status=FairUseRunStatus.DONE).exists(), timeout=60)
    assert FairUseFinding.objects.count() == 4
    assert FairUseMeasure.objects.count() == 4


def waiting_for_the_findings_table() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'billing_fairusefinding'::regclass"
        )
        (waiting,) = cursor.fetchone()
    return int(waiting)


def fair_use_as_found() -> dict[str, list[tuple[Any, ...]]]:
    """What a run leaves: its findings, their measures and the warnings sent, without ids or timestamps."""
    return {
        "findings": sorted(
            (
                f.line_id,
                f.rule.code,
                f.period,
                f.period_start,
                json.dumps(f.metrics, sort_keys=True),
                f.status,
            )
            for f in FairUseFinding.objects.select_related("rule")
        ),
        "measures": sorted(
            (m.line_id, m.finding.rule.code, m.kind, m.starts_on, m.ends_on, m.notice_on, m.effective_on)
            for m in FairUseMeasure.objects.select_related("finding__rule")
        ),
        # The dedupe key and link name the measure by its id, which a rolled-back run used up.
        "warnings": sorted(
            Notification.objects.values_list("event", "channel", "user_id", "address", "subject")
        ),
    }


@pytest.mark.worker
def test_a_worker_killed_in_the_middle_of_a_run_leaves_the_same_findings_after_the_sweep(
    transactional_db: None,
) -> None:
    from billing.tasks_fair_use import fair_use_run_daily, fair_use_runs_sweep
    from tests.cast import make_cast
    from tests.worker import WorkerProcess, wait_until

    cast = make_cast()
    offer = OfferFactory.create(code="BIZ-BASE", unlimited_voice_sms=False)
    # Lines over rule 1 and lines within it, mixed in the chunks.
    minutes = (161, 20, 161, 161, 20, 175)
    lines = [LineFactory.create(company=cast.rossi, offer=offer) for _ in minutes]
    for line, count in zip(lines, minutes, strict=True):
        write(mixed(line, count))
    chunks = {"FAIR_USE_CHUNK_LINES": "2", "FAIR_USE_RESUME_AFTER": "0"}

    # What an uninterrupted run finds in the same data; rolled back, so the data stays unchecked.
    with override_settings(FAIR_USE_CHUNK_LINES=2), transaction.atomic():
        fair_use_run_period(period=FairUsePeriod.DAY, period_start=DAY)
        reference = fair_use_as_found()
        transaction.set_rollback(True)
    assert not FairUseRun.objects.exists()

    # The test holds the findings table: the first chunk with a breach blocks writing it,
    # mid-transaction, and its worker is killed there.
    with WorkerProcess(extra_env=chunks) as worker, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE billing_fairusefinding IN EXCLUSIVE MODE")
        fair_use_run_daily.delay(DAY.isoformat())
        wait_until(lambda: waiting_for_the_findings_table() > 0, timeout=60)
        worker.kill()

    run = FairUseRun.objects.get()
    assert run.status == FairUseRunStatus.RUNNING
    assert run.chunks.filter(status=FairUseChunkStatus.PENDING).count() >= 1
    assert not FairUseFinding.objects.exists()

    with WorkerProcess(extra_env=chunks):
        fair_use_runs_sweep.delay()
        wait_until(lambda: FairUseRun.objects.filter(status=FairUseRunStatus.DONE).exists(), timeout=60)

    run.refresh_from_db()
    assert (run.chunks_done, run.findings_new) == (run.chunks_total, 4)
    # The same findings, measures and warnings as the run that was not killed: nothing missing, nothing twice.
    assert fair_use_as_found() == reference
    assert [finding[:2] for finding in reference["findings"]] == sorted(
        (line.pk, "1") for line, count in zip(lines, minutes, strict=True) if count > 160
    )
    assert len(reference["measures"]) == 4
    assert {warning[0] for warning in reference["warnings"]} == {"fair_use_measure"}
