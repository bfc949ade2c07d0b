"""The traffic feed (CONTRACTS.md): `import_traffic`, its rules, duplicates, partitions, totals and the inbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, Sum

import billing.traffic_import
from billing.models import TrafficDailyTotal, TrafficRecord, TrafficRecordId
from billing.traffic_feed import TrafficFeedRefusedError
from billing.traffic_import import traffic_import_file, traffic_partition_name
from billing.traffic_inbox import traffic_inbox_import
from selfcare.models import Line, LineStatus
from tests.billing.traffic_files import HEADER, call, data_session, feed_file, feed_text, row_text
from tests.commands import SERVER_SETTINGS, in_embedded_mode, manage, on_the_test_database
from tests.factories import CompanyFactory, LineFactory
from tests.worker import WorkerProcess, wait_until

ROSSI_NUMBER = "+393331112222"
BIANCHI_NUMBER = "+393334445555"


@pytest.fixture
def lines(db: None) -> tuple[Line, Line]:
    rossi = LineFactory.create(number=ROSSI_NUMBER, company=CompanyFactory.create(name="Rossi"))
    bianchi = LineFactory.create(number=BIANCHI_NUMBER, company=CompanyFactory.create(name="Bianchi"))
    return rossi, bianchi


@pytest.fixture
def committed_partitions_dropped(transactional_db: None) -> Iterator[None]:
    """Partitions committed by a test in another process are not flushed with the rows: drop them after it."""
    yield
    with connection.cursor() as cursor:
        for name in partitions():
            cursor.execute(f"DROP TABLE {name}")


def import_json(*paths: Path) -> dict[str, Any]:
    out = StringIO()
    call_command("import_traffic", *map(str, paths), "--json", stdout=out)
    summary: dict[str, Any] = json.loads(out.getvalue().strip().splitlines()[-1])
    return summary


def rejected(summary: dict[str, Any]) -> list[tuple[int, str]]:
    return [(rejection["row"], rejection["code"]) for rejection in summary["rejected"]]


def partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'billing_trafficrecord'::regclass"
        )
        return {name for (name,) in cursor.fetchall()}


def nothing_written() -> bool:
    return not (
        TrafficRecord.objects.exists()
        or TrafficRecordId.objects.exists()
        or TrafficDailyTotal.objects.exists()
    )


# ---------------------------------------------------------------------------
# The summary and the rows
# ---------------------------------------------------------------------------


def test_the_json_summary_has_the_shape_of_the_contract(lines: Any, tmp_path: Path) -> None:
    path = feed_file(tmp_path, [call("r1", ROSSI_NUMBER), call("r2", "+393339999999")])

    summary = import_json(path)

    assert summary == {
        "inserted": 1,
        "updated": 0,
        "duplicates": 0,
        "rejected": [
            {
                "file": "traffic.csv",
                "row": 2,
                "error": "unknown line +393339999999: no company has a line with this number",
                "code": "line_unknown",
            }
        ],
        "refused": [],
    }


def test_good_rows_are_stored_with_the_company_of_their_line_and_their_rome_day(
    lines: Any, tmp_path: Path
) -> None:
    rossi, bianchi = lines
    late_evening = call("r1", ROSSI_NUMBER, started_at="2026-11-20T23:30:00Z")  # 21 November in Rome
    path = feed_file(tmp_path, [late_evening, data_session("r2", BIANCHI_NUMBER)])

    result = traffic_import_file(path=path)

    assert (result.inserted, result.duplicates, result.rejected) == (2, 0, [])
    first = TrafficRecord.objects.get(record_id="r1")
    assert (first.company_id, first.line_id, first.day) == (rossi.company_id, rossi.pk, date(2026, 11, 21))
    assert (first.duration_s, first.other_party, first.country, first.topup) == (
        120,
        "+393471234567",
        "IT",
        False,
    )
    second = TrafficRecord.objects.get(record_id="r2")
    assert (second.company_id, second.service, second.volume_bytes) == (bianchi.company_id, "data", 5_000_000)
    assert result.touched == {
        (rossi.company_id, rossi.pk, date(2026, 11, 21)),
        (bianchi.company_id, bianchi.pk, date(2026, 11, 20)),
    }


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"record_id": ""}, "record_id"),
        ({"record_id": "x" * 65}, "record_id"),
        ({"line": "3331112222"}, "line_format"),
        ({"line": "+393330000000"}, "line_unknown"),
        ({"started_at": "2026-11-20T09:15:00"}, "started_at_format"),
        ({"started_at": "2026-11-20 09:15:00+01:00"}, "started_at_format"),
        ({"started_at": "2026-02-30T09:15:00+01:00"}, "started_at_format"),
        ({"started_at": "2026-11-20T24:15:00+01:00"}, "started_at_format"),
        ({"started_at": "yesterday"}, "started_at_format"),
        ({"started_at": "1999-12-31T09:15:00+01:00"}, "started_at_range"),
        ({"started_at": "2999-01-01T09:15:00+01:00"}, "started_at_range"),
        ({"direction": "both"}, "direction"),
        ({"service": "fax"}, "service"),
        ({"other_party": "not a number"}, "other_party"),
        ({"other_party": ""}, "other_party"),
        ({"other_operator": ""}, "other_operator"),
        ({"other_network": "satellite"}, "other_network"),
        ({"duration_s": "-5"}, "duration_negative"),
        ({"duration_s": "12.5"}, "duration_format"),
        ({"duration_s": "86401"}, "duration_absurd"),
        ({"volume_bytes": "10"}, "volume_not_data"),
        ({"country": "XX"}, "country"),
        ({"country": "it"}, "country"),
        ({"topup": "yes"}, "topup"),
    ],
)
def test_a_bad_call_is_rejected_by_its_data_row_and_reason(
    lines: Any, tmp_path: Path, fields: dict[str, str], code: str
) -> None:
    path = feed_file(tmp_path, [call("good-1", ROSSI_NUMBER), call("bad", ROSSI_NUMBER, **fields)])

    result = traffic_import_file(path=path)

    assert [(r.row, r.code) for r in result.rejected] == [(2, code)]
    assert result.rejected[0].file == "traffic.csv"
    assert result.inserted == 1
    assert list(TrafficRecord.objects.values_list("record_id", flat=True)) == ["good-1"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"other_party": "+393471234567"}, "data_other_party"),
        ({"other_network": "mobile"}, "data_other_party"),
        ({"duration_s": "60"}, "duration_not_voice"),
        ({"volume_bytes": "100000000001"}, "volume_absurd"),
        ({"volume_bytes": "-1"}, "volume_negative"),
    ],
)
def test_a_bad_data_session_is_rejected_by_its_data_row_and_reason(
    lines: Any, tmp_path: Path, fields: dict[str, str], code: str
) -> None:
    path = feed_file(tmp_path, [data_session("bad", ROSSI_NUMBER, **fields)])

    result = traffic_import_file(path=path)

    assert [(r.row, r.code) for r in result.rejected] == [(1, code)]
    assert nothing_written()


def test_a_row_with_several_faults_gives_every_reason_at_once(lines: Any, tmp_path: Path) -> None:
    path = feed_file(
        tmp_path, [call("bad", ROSSI_NUMBER, direction="sideways", country="ZZ", duration_s="-1")]
    )

    (rejection,) = traffic_import_file(path=path).rejected

    assert rejection.code == "direction"
    assert rejection.error == (
        "direction must be out or in, not sideways; duration_s cannot be negative; "
        "country ZZ is not an ISO 3166-1 alpha-2 code"
    )


def test_what_the_contract_allows_goes_in(lines: Any, tmp_path: Path) -> None:
    rows = [
        call("withheld", ROSSI_NUMBER, direction="in", other_party=""),
        call(
            "short-code",
            ROSSI_NUMBER,
            service="sms",
            other_party="4916",
            duration_s="0",
            other_network="special",
        ),
        call("utc", ROSSI_NUMBER, started_at="2026-11-20T08:15:00.250Z", other_operator="own"),
        call("abroad", ROSSI_NUMBER, country="FR", topup="1", other_operator="ORANGE FR"),
        data_session("leap-day", ROSSI_NUMBER, started_at="2024-02-29T10:00:00+01:00"),
        call("quoted", ROSSI_NUMBER, other_party='"+393471234567"'),
    ]
    path = feed_file(tmp_path, rows)

    result = traffic_import_file(path=path)

    assert result.rejected == []
    assert result.inserted == 6


def test_malformed_quotes_and_control_characters_reject_their_row(lines: Any, tmp_path: Path) -> None:
    rows: list[dict[str, str] | str] = [
        call("ok", ROSSI_NUMBER),
        row_text(call("quotes", ROSSI_NUMBER)).replace("+393471234567", '"+39347"1234567'),
        call("tab\there", ROSSI_NUMBER),
        call("nul\x00here", ROSSI_NUMBER),
        call("back\\slash", ROSSI_NUMBER),
    ]
    path = feed_file(tmp_path, rows)

    result = traffic_import_file(path=path)

    assert [(r.row, r.code) for r in result.rejected] == [(2, "quoting"), (3, "record_id"), (4, "record_id")]
    assert set(TrafficRecord.objects.values_list("record_id", flat=True)) == {"ok", "back\\slash"}


def test_rows_for_lines_of_no_company_are_rejected_and_the_others_go_in(lines: Any, tmp_path: Path) -> None:
    rows = [call(f"r{n}", ROSSI_NUMBER if n % 2 else "+393330000000") for n in range(1, 7)]
    path = feed_file(tmp_path, rows)

    result = traffic_import_file(path=path)

    assert [(r.row, r.code) for r in result.rejected] == [
        (2, "line_unknown"),
        (4, "line_unknown"),
        (6, "line_unknown"),
    ]
    assert result.inserted == 3


def test_a_truncated_last_line_is_rejected_as_that_row_and_the_others_go_in(
    lines: Any, tmp_path: Path
) -> None:
    text = feed_text([call("r1", ROSSI_NUMBER), call("r2", ROSSI_NUMBER), call("r3", ROSSI_NUMBER)])
    path = tmp_path / "traffic.csv"
    path.write_text(text[:-25])  # the last row cut in its middle, no final newline

    summary = import_json(path)

    assert rejected(summary) == [(3, "columns")]
    assert summary["rejected"][0]["error"].startswith("expected 12 columns, found ")
    assert summary["inserted"] == 2


def test_blank_lines_are_skipped_but_counted_in_row_numbers(lines: Any, tmp_path: Path) -> None:
    path = feed_file(tmp_path, [call("r1", ROSSI_NUMBER), "", call("r3", ROSSI_NUMBER, country="XX")])

    result = traffic_import_file(path=path)

    assert [(r.row, r.code) for r in result.rejected] == [(3, "country")]
    assert result.inserted == 1


def test_windows_line_endings_and_a_byte_order_mark_are_read(lines: Any, tmp_path: Path) -> None:
    path = tmp_path / "traffic.csv"
    path.write_bytes(
        ("\ufeff" + feed_text([call("r1", ROSSI_NUMBER), call("r2", ROSSI_NUMBER)]))
        .replace("\n", "\r\n")
        .encode()
    )

    result = traffic_import_file(path=path)

    assert (result.inserted, result.rejected) == (2, [])


# ---------------------------------------------------------------------------
# Duplicates and conflicts
# ---------------------------------------------------------------------------


def test_a_second_import_of_the_same_file_inserts_nothing(lines: Any, tmp_path: Path) -> None:
    path = feed_file(tmp_path, [call("r1", ROSSI_NUMBER), data_session("r2", ROSSI_NUMBER)])
    import_json(path)
    totals_before = list(TrafficDailyTotal.objects.values_list("records", "duration_s", "volume_bytes"))

    summary = import_json(path)

    assert (summary["inserted"], summary["updated"], summary["duplicates"], summary["rejected"]) == (
        0,
        0,
        2,
        [],
    )
    assert TrafficRecord.objects.count() == 2
    assert (
        list(TrafficDailyTotal.objects.values_list("records", "duration_s", "volume_bytes")) == totals_before
    )


def test_the_same_record_written_otherwise_is_still_a_duplicate(lines: Any, tmp_path: Path) -> None:
    traffic_import_file(path=feed_file(tmp_path, [call("r1", ROSSI_NUMBER)], name="a.csv"))
    same_moment = call("r1", ROSSI_NUMBER, started_at="2026-11-20T08:15:00Z", duration_s="0120")

    result = traffic_import_file(path=feed_file(tmp_path, [same_moment], name="b.csv"))

    assert (result.inserted, result.duplicates, result.rejected) == (0, 1, [])


def test_a_record_id_imported_before_with_other_content_is_rejected_as_a_conflict(
    lines: Any, tmp_path: Path
) -> None:
    traffic_import_file(path=feed_file(tmp_path, [call("r1", ROSSI_NUMBER)], name="a.csv"))

    result = traffic_import_file(
        path=feed_file(tmp_path, [call("r1", ROSSI_NUMBER, duration_s="999")], name="b.csv")
    )

    assert [(r.file, r.row, r.code) for r in result.rejected] == [("b.csv", 1, "conflict_earlier")]
    assert result.rejected[0].error == "record_id r1 was imported before with different content"
    assert TrafficRecord.objects.get().duration_s == 120


def test_a_record_id_repeated_in_the_file_with_other_content_is_a_conflict_and_the_first_is_kept(
    lines: Any, tmp_path: Path
) -> None:
    rows = [
        call("r0", ROSSI_NUMBER),
        call("r1", ROSSI_NUMBER),
        call("r1", ROSSI_NUMBER, duration_s="999"),
        call("r1", ROSSI_NUMBER),
    ]
    path = feed_file(tmp_path, rows)

    result = traffic_import_file(path=path)

    assert [(r.row, r.code, r.error) for r in result.rejected] == [
        (3, "conflict_in_file", "record_id r1 appears earlier in the file (row 2) with different content")
    ]
    assert (result.inserted, result.duplicates) == (2, 1)
    assert TrafficRecord.objects.get(record_id="r1").duration_s == 120


def test_ten_thousand_duplicate_rows_are_counted_and_stored_once(lines: Any, tmp_path: Path) -> None:
    path = feed_file(tmp_path, [call("same", ROSSI_NUMBER)] * 10_000)

    first = traffic_import_file(path=path)
    again = traffic_import_file(path=path)

    assert (first.inserted, first.duplicates, first.rejected) == (1, 9_999, [])
    assert (again.inserted, again.duplicates, again.rejected) == (0, 10_000, [])
    assert TrafficRecord.objects.count() == 1
    assert TrafficDailyTotal.objects.get().records == 1


def test_ten_thousand_records_imported_twice_are_all_duplicates_the_second_time(
    lines: Any, tmp_path: Path
) -> None:
    path = feed_file(tmp_path, [call(f"r{n}", ROSSI_NUMBER) for n in range(10_000)])
    traffic_import_file(path=path)

    again = traffic_import_file(path=path)

    assert (again.inserted, again.duplicates, again.rejected) == (0, 10_000, [])
    assert TrafficRecord.objects.count() == 10_000


def test_a_replay_after_the_raw_records_are_purged_is_still_duplicates(lines: Any, tmp_path: Path) -> None:
    path = feed_file(
        tmp_path, [call("r1", ROSSI_NUMBER), call("r2", ROSSI_NUMBER, started_at="2026-11-21T10:00:00+01:00")]
    )
    traffic_import_file(path=path)
    with connection.cursor() as cursor:  # what the retention task does: whole partitions go
        cursor.execute(f"DROP TABLE {traffic_partition_name(date(2026, 11, 20))}")
        cursor.execute("DELETE FROM billing_trafficrecord WHERE day = '2026-11-21'")

    result = traffic_import_file(path=path)

    assert (result.inserted, result.duplicates) == (0, 2)
    assert not TrafficRecord.objects.exists()


# ---------------------------------------------------------------------------
# Files refused whole
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEADER.replace("topup", "top_up").encode() + b"\n", "has the wrong header"),
        (b"", "is empty"),
        (
            feed_text([call("r1", ROSSI_NUMBER)]).encode() + "r2,+393331112222,caf\u00e9".encode("latin-1"),
            "is not UTF-8",
        ),
        ("\u00e9".encode("latin-1") + HEADER.encode(), "is not UTF-8"),
    ],
)
def test_a_file_refused_whole_writes_nothing(
    lines: Any, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "traffic.csv"
    path.write_bytes(content)

    with pytest.raises(TrafficFeedRefusedError, match=message):
        traffic_import_file(path=path)

    assert nothing_written()
    assert not partitions()


def test_latin1_bytes_far_in_a_big_file_write_nothing_of_it(lines: Any, tmp_path: Path) -> None:
    rows = [call(f"r{n}", ROSSI_NUMBER) for n in range(20_000)]  # over one read chunk before the bad byte
    path = tmp_path / "traffic.csv"
    path.write_bytes(feed_text(rows).encode() + b"bad,+393331112222,\xe8\n")

    with pytest.raises(TrafficFeedRefusedError, match=r"is not UTF-8 text \(bad byte at offset \d+\)"):
        traffic_import_file(path=path)

    assert nothing_written()


def test_a_refused_file_makes_the_command_exit_non_zero_with_a_message(lines: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(feed_text([call("r1", ROSSI_NUMBER)]).encode() + b"r2,\xe8\n")

    finished = manage("import_traffic", str(path), "--json", env=on_the_test_database())

    assert finished.returncode != 0
    assert "latin1.csv is not UTF-8 text" in finished.stderr
    assert json.loads(finished.stdout.strip().splitlines()[-1])["refused"][0]["file"] == str(path)


def test_a_missing_file_is_refused_and_the_good_files_of_the_command_still_go_in(
    lines: Any, tmp_path: Path
) -> None:
    good = feed_file(tmp_path, [call("r1", ROSSI_NUMBER)], name="good.csv")
    wrong = feed_file(tmp_path, [call("r2", ROSSI_NUMBER)], name="wrong.csv", header="id,line")
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="2 of 3 files refused"):
        call_command(
            "import_traffic",
            str(tmp_path / "missing.csv"),
            str(wrong),
            str(good),
            "--json",
            stdout=out,
            stderr=err,
        )

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["inserted"] == 1
    assert [refusal["file"] for refusal in summary["refused"]] == [str(tmp_path / "missing.csv"), str(wrong)]
    assert "Cannot read" in err.getvalue()
    assert "wrong.csv has the wrong header" in err.getvalue()
    assert list(TrafficRecord.objects.values_list("record_id", flat=True)) == ["r1"]


def test_the_human_summary_lists_the_rejections(lines: Any, tmp_path: Path) -> None:
    path = feed_file(tmp_path, [call("r1", ROSSI_NUMBER), call("r2", ROSSI_NUMBER, country="XX")])
    out = StringIO()

    call_command("import_traffic", str(path), stdout=out)

    assert out.getvalue().splitlines() == [
        "Inserted 1, updated 0, duplicates 0, rejected 1, files refused 0.",
        "  traffic.csv row 2: country XX is not an ISO 3166-1 alpha-2 code",
    ]


# ---------------------------------------------------------------------------
# Partitions, totals, lines over time, crashes
# ---------------------------------------------------------------------------


def test_day_partitions_are_made_as_the_records_need_them(lines: Any, tmp_path: Path) -> None:
    assert not partitions()
    rows = [
        call("r1", ROSSI_NUMBER, started_at="2026-11-20T09:00:00+01:00"),
        call("r2", ROSSI_NUMBER, started_at="2026-11-21T00:30:00+01:00"),
        call("r3", ROSSI_NUMBER, started_at="2026-11-20T23:30:00Z"),  # the 21st in Rome
        call("r4", "+393330000000", started_at="2026-11-25T10:00:00+01:00"),  # rejected: no partition for it
    ]

    traffic_import_file(path=feed_file(tmp_path, rows))
    traffic_import_file(
        path=feed_file(
            tmp_path, [call("r5", ROSSI_NUMBER, started_at="2026-11-22T10:00:00+01:00")], name="b.csv"
        )
    )

    assert partitions() == {
        "billing_trafficrecord_p20261120",
        "billing_trafficrecord_p20261121",
        "billing_trafficrecord_p20261122",
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_trafficrecord_p20261121")
        assert cursor.fetchone() == (2,)


def test_daily_totals_are_the_sums_of_the_records(lines: Any, tmp_path: Path) -> None:
    first = [
        call("r1", ROSSI_NUMBER, duration_s="60"),
        call("r2", ROSSI_NUMBER, duration_s="30"),
        call("r3", ROSSI_NUMBER, direction="in", duration_s="10"),
        data_session("r4", ROSSI_NUMBER, volume_bytes="1000"),
        data_session("r5", BIANCHI_NUMBER, volume_bytes="7", country="FR"),
    ]
    second = [data_session("r6", ROSSI_NUMBER, volume_bytes="500"), call("r7", ROSSI_NUMBER, duration_s="5")]
    traffic_import_file(path=feed_file(tmp_path, first, name="a.csv"))
    traffic_import_file(path=feed_file(tmp_path, second, name="b.csv"))

    key = (
        "company",
        "line",
        "day",
        "service",
        "direction",
        "other_operator",
        "other_network",
        "country",
        "topup",
    )
    from_records = {
        tuple(row[k] for k in key): (row["records"], row["duration"], row["volume"])
        for row in TrafficRecord.objects.values(*key).annotate(
            records=Count("id"), duration=Sum("duration_s"), volume=Sum("volume_bytes")
        )
    }
    totals = {
        tuple(row[k] for k in key): (row["records"], row["duration_s"], row["volume_bytes"])
        for row in TrafficDailyTotal.objects.values(*key, "records", "duration_s", "volume_bytes")
    }
    assert totals == from_records
    assert sum(records for records, _d, _v in totals.values()) == 7
    rossi_calls_out = TrafficDailyTotal.objects.get(
        line__number=ROSSI_NUMBER, service="voice", direction="out"
    )
    assert (rossi_calls_out.records, rossi_calls_out.duration_s) == (3, 95)


def test_a_record_goes_to_the_company_that_had_the_line_on_its_day(db: None, tmp_path: Path) -> None:
    outgoing = LineFactory.create(
        number=ROSSI_NUMBER, activated_on=date(2025, 1, 1), status=LineStatus.CEASED
    )
    incoming = LineFactory.create(number=ROSSI_NUMBER, activated_on=date(2026, 11, 15))
    rows = [
        call("before", ROSSI_NUMBER, started_at="2026-11-14T10:00:00+01:00"),
        call("after", ROSSI_NUMBER, started_at="2026-11-15T10:00:00+01:00"),
    ]

    traffic_import_file(path=feed_file(tmp_path, rows))

    records = dict(TrafficRecord.objects.values_list("record_id", "company_id"))
    assert records == {"before": outgoing.company_id, "after": incoming.company_id}


def test_a_crash_in_the_middle_of_a_file_leaves_nothing_of_it(
    lines: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = feed_file(
        tmp_path,
        [call("r1", ROSSI_NUMBER), data_session("r2", ROSSI_NUMBER, started_at="2026-11-02T10:00:00+01:00")],
    )

    def records_then_crash(cursor: Any) -> Any:
        cursor.execute(billing.traffic_import.RECORDS_INSERT)
        cursor.execute("SELECT count(*) FROM billing_trafficrecord")
        assert cursor.fetchone() == (2,)  # the rows were in when it crashed
        raise RuntimeError("the worker died")

    monkeypatch.setattr(billing.traffic_import, "_records_write", records_then_crash)

    with pytest.raises(RuntimeError, match="the worker died"):
        traffic_import_file(path=path)

    assert nothing_written()
    assert not partitions()
    monkeypatch.undo()
    assert traffic_import_file(path=path).inserted == 2


# ---------------------------------------------------------------------------
# Processes: two at once, the embedded mode, the inbox with a real worker
# ---------------------------------------------------------------------------


def test_two_imports_of_the_same_file_at_the_same_time_store_it_once(
    committed_partitions_dropped: None, tmp_path: Path
) -> None:
    LineFactory.create(number=ROSSI_NUMBER)
    path = feed_file(tmp_path, [call(f"r{n}", ROSSI_NUMBER) for n in range(3_000)])
    command = [sys.executable, "manage.py", "import_traffic", str(path), "--json"]
    env = {**os.environ, **on_the_test_database()}

    runs = [
        subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    summaries = [json.loads(run.communicate(timeout=120)[0].strip().splitlines()[-1]) for run in runs]

    assert sorted((s["inserted"], s["duplicates"]) for s in summaries) == [(0, 3_000), (3_000, 0)]
    assert TrafficRecord.objects.count() == 3_000
    assert TrafficDailyTotal.objects.get().records == 3_000


CUSTOMERS = {
    "offers": [
        {
            "code": "BIZ",
            "name": "Business",
            "payment": "postpaid",
            "monthly_fee": "10.00",
            "unlimited_voice_sms": True,
            "unlimited_data": False,
            "data_gb": 50,
        }
    ],
    "companies": [
        {
            "vat_number": "IT01234560017",
            "name": "Rossi Impianti S.r.l.",
            "tax_code": "01234560017",
            "pec": "rossi@pec.example.it",
            "users": [],
            "lines": [
                {
                    "number": ROSSI_NUMBER,
                    "kind": "mobile",
                    "sim": "physical",
                    "iccid": "8939880000000000006",
                    "offer": "BIZ",
                    "status": "active",
                    "activated_on": "2025-03-01",
                }
            ],
        }
    ],
}


def mixed_rows() -> list[dict[str, str] | str]:
    return [
        call("r1", ROSSI_NUMBER),
        data_session("r2", ROSSI_NUMBER),
        call("r3", "+393330000000"),
        call("r4", ROSSI_NUMBER, country="XX", duration_s="-1"),
        call("r1", ROSSI_NUMBER, duration_s="7"),
        call("r2x", ROSSI_NUMBER, started_at="2026-02-30T10:00:00+01:00"),
        call("r5", ROSSI_NUMBER, other_party='"+393471234567"'),
        "r6,+393331112222,2026",
    ]


def test_the_embedded_sqlite_mode_gives_the_same_summary_as_postgresql(lines: Any, tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    customers = tmp_path / "customers.json"
    customers.write_text(json.dumps(CUSTOMERS))
    path = feed_file(tmp_path, mixed_rows())
    embedded = in_embedded_mode(var_dir)
    assert manage("migrate", "--noinput", env=embedded, unset=SERVER_SETTINGS).returncode == 0
    assert manage("import_customers", str(customers), env=embedded, unset=SERVER_SETTINGS).returncode == 0

    runs = [
        manage("import_traffic", str(path), "--json", env=embedded, unset=SERVER_SETTINGS) for _ in range(2)
    ]

    on_postgresql = [import_json(path) for _ in range(2)]
    on_sqlite = [json.loads(run.stdout.strip().splitlines()[-1]) for run in runs]
    assert on_sqlite == on_postgresql
    assert on_sqlite[0]["inserted"] == 3
    assert on_sqlite[1]["duplicates"] == 3


def test_the_inbox_imports_files_and_files_them_with_their_summary(lines: Any, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    feed_file(inbox, [call("r1", ROSSI_NUMBER), call("r2", ROSSI_NUMBER, country="XX")], name="a.csv")
    feed_file(inbox, [call("r9", ROSSI_NUMBER)], name="b.csv", header="wrong")
    feed_file(inbox, [call("r8", ROSSI_NUMBER)], name="c.csv.part")  # still being written

    run = traffic_inbox_import(inbox=inbox)

    assert (run.imported, run.refused) == (["a.csv"], ["b.csv"])
    assert len(run.touched) == 1
    report = json.loads((inbox / "done" / "a.csv.json").read_text())
    assert (report["inserted"], [r["row"] for r in report["rejected"]]) == (1, [2])
    assert "wrong header" in json.loads((inbox / "refused" / "b.csv.json").read_text())["refused"]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["c.csv.part"]
    assert not list((inbox / "processing").iterdir())

    feed_file(inbox, [call("r1", ROSSI_NUMBER)], name="a.csv")  # the same file again
    traffic_inbox_import(inbox=inbox)
    replays = list((inbox / "done").glob("a-*.csv.json"))
    assert [json.loads(p.read_text())["duplicates"] for p in replays] == [1]


@pytest.mark.worker
def test_the_inbox_task_imports_a_dropped_file_on_a_real_worker(
    committed_partitions_dropped: None, tmp_path: Path
) -> None:
    from billing.tasks_traffic import import_traffic_inbox

    LineFactory.create(number=ROSSI_NUMBER)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    feed_file(inbox, [call("r1", ROSSI_NUMBER), data_session("r2", ROSSI_NUMBER)], name="drop.csv")

    with WorkerProcess(extra_env={"TRAFFIC_INBOX": str(inbox)}) as worker:
        import_traffic_inbox.delay()
        wait_until(lambda: (inbox / "done" / "drop.csv.json").exists(), timeout=60)
        assert "Traceback" not in worker.log

    assert json.loads((inbox / "done" / "drop.csv.json").read_text())["inserted"] == 2
    assert TrafficRecord.objects.count() == 2
