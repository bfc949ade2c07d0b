"""The traffic report as XLSX: the writer, small reports at once, large ones in the background, the API.

Files are read back by unzipping them and parsing the sheets' XML (openpyxl
is not a dependency). Background files go to a private storage folder of the
test's own; the Celery test runs a real worker pointed at the same folder.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from lxml import etree

import billing.tasks_traffic_export
from billing import traffic_xlsx
from billing.models import ClearNumbersRequest, ClearNumbersStatus, TrafficExport, TrafficExportStatus
from billing.traffic_csv import localized_header
from billing.traffic_import import traffic_import_files
from billing.traffic_report import IN_CLEAR_AUDIT_EVENT
from billing.traffic_xlsx import traffic_export_build, traffic_exports_sweep, traffic_xlsx_write
from selfcare.models import Notification
from tests.billing.traffic_files import call, data_session, feed_file
from tests.cast import Cast, make_cast
from tests.conftest import log_in
from tests.worker import WorkerProcess, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2026, 11, 20)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


# ---------------------------------------------------------------------------
# Reading an XLSX back
# ---------------------------------------------------------------------------


def _column_index(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference)
    index = 0
    for letter in letters.group(0) if letters else "":
        index = index * 26 + ord(letter) - 64
    return index - 1


def read_xlsx(content: bytes) -> dict[str, list[list[object]]]:
    """Each sheet's rows, by sheet name: strings as text, numbers as floats, empty cells as None."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            root = etree.fromstring(archive.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in item.iter(f"{{{NS['m']}}}t")) for item in root]
        workbook = etree.fromstring(archive.read("xl/workbook.xml"))
        sheet_names = [sheet.get("name") or "" for sheet in workbook.iter(f"{{{NS['m']}}}sheet")]
        sheets: dict[str, list[list[object]]] = {}
        for number, name in enumerate(sheet_names, start=1):
            root = etree.fromstring(archive.read(f"xl/worksheets/sheet{number}.xml"))
            rows: list[list[object]] = []
            for row in root.iter(f"{{{NS['m']}}}row"):
                cells: list[object] = [None] * 12
                for cell in row.findall("m:c", NS):
                    kind = cell.get("t")
                    column = _column_index(cell.get("r") or "A")
                    if kind == "inlineStr":
                        cells[column] = "".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t"))
                    elif kind == "s":
                        cells[column] = shared[int(cell.findtext("m:v", "0", NS))]
                    elif kind == "str":
                        cells[column] = cell.findtext("m:v", "", NS)
                    else:
                        cells[column] = float(cell.findtext("m:v", "0", NS))
                rows.append(cells)
            sheets[name] = rows
    return sheets


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content


def excel_serial(year: int, month: int, day: int, hour: int, minute: int) -> float:
    """Excel's number for a wall-clock time: days since 1899-12-30."""
    delta = datetime(year, month, day, hour, minute) - datetime(1899, 12, 30)
    return delta.days + delta.seconds / 86_400


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def on_the_day(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("worker"):
        # The worker runs in another process, on the real clock: time-machine does not reach it.
        yield
        return
    with time_machine.travel("2026-11-21T10:00:00+01:00", tick=False):
        yield


@pytest.fixture(autouse=True)
def private_storage(settings: Any, tmp_path: Path) -> Path:
    """Django's default storage in a folder of the test's own."""
    folder = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    return folder


@pytest.fixture
def traffic(cast: Cast, tmp_path: Path) -> None:
    assigned, other, foreign = (
        cast.rossi_assigned_line.number,
        cast.rossi_other_line.number,
        cast.bianchi_line.number,
    )
    records = [
        call("r1", assigned),
        call("r2", other, started_at="2026-09-20T09:15:00+02:00", other_party="+39061234567"),
        data_session("r3", assigned),
        call("r4", foreign),
        call("r6", assigned, other_party="119", direction="out"),
    ]
    result = traffic_import_files(paths=[feed_file(tmp_path, records)])
    assert not result.refused, result.as_dict()
    assert not result.result.rejected, result.as_dict()


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The exports whose task was sent to the broker (not sent: the test runs them itself)."""
    sent: list[int] = []
    monkeypatch.setattr(
        billing.tasks_traffic_export.traffic_export_build,
        "apply_async",
        lambda args, **options: sent.append(args[0]),
    )
    return sent


@pytest.fixture
def small_threshold(settings: Any) -> None:
    """Reports of more than two rows go to the background."""
    settings.TRAFFIC_XLSX_DIRECT_ROWS = 2


def approve_clear_numbers(cast: Cast) -> None:
    request = ClearNumbersRequest.objects.create(
        company=cast.rossi,
        requested_by=cast.rossi_legal_rep.user,
        period_start=DAY - timedelta(days=1),
        period_end=DAY,
        users_informed=True,
        status=ClearNumbersStatus.APPROVED,
    )
    request.lines.add(cast.rossi_assigned_line)


def data_rows(sheets: dict[str, list[list[object]]]) -> dict[str, list[object]]:
    """The records of every sheet by record id, headers left out."""
    return {str(row[0]): row for rows in sheets.values() for row in rows[1:]}


ROW = (
    "id",
    "+393401234567",
    "2026-11-20T09:15:00+01:00",
    "out",
    "voice",
    "+39347XXX",
    "TIM",
    "mobile",
    120,
    0,
    "IT",
    0,
)


# ---------------------------------------------------------------------------
# The writer
# ---------------------------------------------------------------------------


def test_rows_past_a_sheets_limit_continue_on_a_new_sheet_with_its_own_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(traffic_xlsx, "SHEET_ROWS", 3)
    rows = [(f"r{n}", *ROW[1:]) for n in range(7)]

    written = traffic_xlsx_write(rows=rows, path=tmp_path / "report.xlsx", language="en")

    sheets = read_xlsx((tmp_path / "report.xlsx").read_bytes())
    assert written == 7
    assert list(sheets) == ["Traffic", "Traffic 2", "Traffic 3"]
    assert [len(rows) for rows in sheets.values()] == [4, 4, 2]
    assert all(rows[0][0] == "Record id" for rows in sheets.values())
    assert [row[0] for rows in sheets.values() for row in rows[1:]] == [f"r{n}" for n in range(7)]


def test_the_real_limit_leaves_one_row_of_excels_1048576_for_the_header() -> None:
    assert traffic_xlsx.SHEET_ROWS + 1 == 1_048_576


def test_starts_are_excel_datetimes_in_rome_time_and_counts_are_numbers(tmp_path: Path) -> None:
    traffic_xlsx_write(
        rows=[ROW, ("summer", *ROW[1:2], "2026-07-01T23:30:00+02:00", *ROW[3:])],
        path=tmp_path / "report.xlsx",
        language="en",
    )

    rows = data_rows(read_xlsx((tmp_path / "report.xlsx").read_bytes()))
    assert rows["id"][2] == pytest.approx(excel_serial(2026, 11, 20, 9, 15))
    assert rows["summer"][2] == pytest.approx(excel_serial(2026, 7, 1, 23, 30))
    assert rows["id"][8:10] == [120.0, 0.0]
    assert rows["id"][11] == 0.0
    styles = zipfile.ZipFile(tmp_path / "report.xlsx").read("xl/styles.xml").decode()
    assert 'formatCode="yyyy-mm-dd hh:mm:ss"' in styles


def test_the_header_and_the_labels_are_in_the_reports_language(tmp_path: Path) -> None:
    for language in ("it", "en"):
        path = tmp_path / f"{language}.xlsx"
        traffic_xlsx_write(rows=[ROW], path=path, language=language)
        sheets = read_xlsx(path.read_bytes())
        with translation.override(language):
            expected = localized_header()
        header, row = next(iter(sheets.values()))
        assert header == expected
        assert row[3] == ("In uscita" if language == "it" else "Outgoing")
    assert next(iter(read_xlsx((tmp_path / "it.xlsx").read_bytes()).values()))[0][2] == "Avviata il"


def test_progress_is_reported_every_n_rows_and_at_the_end(tmp_path: Path) -> None:
    seen: list[int] = []

    traffic_xlsx_write(
        rows=[ROW] * 5, path=tmp_path / "report.xlsx", language="en", progress=seen.append, progress_every=2
    )

    assert seen == [2, 4, 5]


def test_a_report_with_no_rows_is_a_file_with_its_header(tmp_path: Path) -> None:
    written = traffic_xlsx_write(rows=[], path=tmp_path / "report.xlsx", language="en")

    sheets = read_xlsx((tmp_path / "report.xlsx").read_bytes())
    assert written == 0
    assert [len(rows) for rows in sheets.values()] == [1]


# ---------------------------------------------------------------------------
# Small reports: built in the request
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("traffic")
def test_a_small_report_downloads_at_once_with_the_numbers_masked(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    response = client.get(reverse("billing:traffic-export-xlsx"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]
    rows = data_rows(read_xlsx(body_of(response)))
    assert sorted(rows) == ["r1", "r2", "r3", "r6"]  # Bianchi's r4 never
    assert rows["r1"][5] == "+393471234XXX"
    assert rows["r3"][5] is None  # a data session has no other party
    assert not TrafficExport.objects.exists()
    assert not LogEntry.objects.filter(additional_data__event=IN_CLEAR_AUDIT_EVENT).exists()


@pytest.mark.usefixtures("traffic")
def test_a_line_user_gets_only_their_lines(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_line_user)

    rows = data_rows(read_xlsx(body_of(client.get(reverse("billing:traffic-export-xlsx")))))

    assert sorted(rows) == ["r1", "r3", "r6"]


@pytest.mark.usefixtures("traffic")
def test_the_filters_of_the_page_choose_the_rows(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)
    query = {
        "line": cast.rossi_assigned_line.number,
        "service": "voice",
        "from": "2026-11-20",
        "to": "2026-11-20",
    }

    rows = data_rows(read_xlsx(body_of(client.get(reverse("billing:traffic-export-xlsx"), query))))

    assert sorted(rows) == ["r1", "r6"]


@pytest.mark.usefixtures("traffic")
def test_bad_filters_answer_400_naming_them(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_line_user)

    response = client.get(
        reverse("billing:traffic-export-xlsx"),
        {"line": cast.rossi_other_line.number, "from": "2025-01-01"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert b"is not one of your lines" in response.content
    assert b"The report covers the last 90 days" in response.content


@pytest.mark.usefixtures("traffic")
def test_a_legal_rep_with_approved_numbers_in_clear_sees_them_and_the_download_is_audited(
    cast: Cast, client: Client
) -> None:
    approve_clear_numbers(cast)
    log_in(client, cast.rossi_legal_rep)

    rows = data_rows(read_xlsx(body_of(client.get(reverse("billing:traffic-export-xlsx")))))

    assert rows["r1"][5] == "+393471234567"  # the approved line and days
    assert rows["r2"][5] == "+39061234XXX"  # another line: masked
    entry = LogEntry.objects.get(additional_data__event="traffic_numbers_in_clear_downloaded")
    assert entry.actor == cast.rossi_legal_rep.user
    assert entry.additional_data["format"] == "xlsx"


@pytest.mark.usefixtures("traffic")
def test_a_line_user_never_sees_numbers_in_clear_and_is_not_audited(cast: Cast, client: Client) -> None:
    approve_clear_numbers(cast)
    log_in(client, cast.rossi_line_user)

    rows = data_rows(read_xlsx(body_of(client.get(reverse("billing:traffic-export-xlsx")))))

    assert rows["r1"][5] == "+393471234XXX"
    assert not LogEntry.objects.filter(additional_data__event=IN_CLEAR_AUDIT_EVENT).exists()


# ---------------------------------------------------------------------------
# Large reports: built in the background
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("traffic", "small_threshold")
def test_a_large_report_is_built_in_the_background_with_progress_and_one_notification(
    cast: Cast, client: Client, enqueued: list[int]
) -> None:
    log_in(client, cast.rossi_admin)

    response = client.get(reverse("billing:traffic-export-xlsx"), HTTP_ACCEPT_LANGUAGE="en")

    export = TrafficExport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:traffic-export", args=[export.pk])
    assert enqueued == [export.pk]
    assert (export.status, export.rows_total, export.rows_done, export.language) == ("pending", 4, 0, "en")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert b'hx-trigger="every 2s"' in page.content
    assert b"0 of 4 rows written" in page.content

    assert traffic_export_build(export_id=export.pk) is True
    assert traffic_export_build(export_id=export.pk) is False  # a second run does nothing

    export.refresh_from_db()
    assert (export.status, export.rows_done, export.percent) == ("ready", 4, 100)
    assert export.finished_at is not None
    told = Notification.objects.filter(event="traffic_export_ready")
    assert {n.user for n in told} == {cast.rossi_admin.user}
    assert told.count() == told.values("channel").distinct().count()  # once per channel
    assert all(n.link.endswith(reverse("billing:traffic-export", args=[export.pk])) for n in told)
    block = client.get(reverse("billing:traffic-export", args=[export.pk]), HTTP_HX_REQUEST="true")
    assert b"hx-trigger" not in block.content
    assert b"<html" not in block.content
    assert reverse("billing:traffic-export-file", args=[export.pk]).encode() in block.content
    download = client.get(reverse("billing:traffic-export-file", args=[export.pk]))
    assert download["Content-Type"] == XLSX
    assert sorted(data_rows(read_xlsx(body_of(download)))) == ["r1", "r2", "r3", "r6"]
    listing = client.get(reverse("billing:traffic-exports"))
    assert f'id="traffic-export-{export.pk}"'.encode() in listing.content


@pytest.mark.usefixtures("traffic", "small_threshold")
def test_the_same_report_asked_again_while_built_joins_it(
    cast: Cast, client: Client, enqueued: list[int]
) -> None:
    log_in(client, cast.rossi_admin)

    first = client.get(reverse("billing:traffic-export-xlsx"))
    again = client.get(reverse("billing:traffic-export-xlsx"))

    assert first["Location"] == again["Location"]
    assert TrafficExport.objects.count() == 1
    assert len(enqueued) == 1


@pytest.mark.usefixtures("traffic", "small_threshold")
def test_the_task_writes_its_progress_in_the_row(
    cast: Cast, client: Client, enqueued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(client, cast.rossi_admin)
    client.get(reverse("billing:traffic-export-xlsx"))
    export = TrafficExport.objects.get()
    monkeypatch.setattr(traffic_xlsx, "PROGRESS_EVERY", 1)
    seen: list[tuple[str, int]] = []
    writer = traffic_xlsx.traffic_xlsx_write

    def write_and_watch(**kwargs: Any) -> int:
        progress = kwargs["progress"]

        def watched(rows_done: int) -> None:
            progress(rows_done)
            row = TrafficExport.objects.get(pk=export.pk)
            seen.append((row.status, row.rows_done))

        return writer(**{**kwargs, "progress": watched})

    monkeypatch.setattr(traffic_xlsx, "traffic_xlsx_write", write_and_watch)

    traffic_export_build(export_id=export.pk)

    assert seen[:4] == [("running", 1), ("running", 2), ("running", 3), ("running", 4)]


@pytest.mark.usefixtures("traffic", "small_threshold")
def test_an_export_that_cannot_be_built_is_failed_and_says_so(
    cast: Cast, client: Client, enqueued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(client, cast.rossi_admin)
    client.get(reverse("billing:traffic-export-xlsx"), HTTP_ACCEPT_LANGUAGE="en")
    export = TrafficExport.objects.get()

    def broken(**kwargs: Any) -> int:
        raise ValueError("a bug")

    monkeypatch.setattr(traffic_xlsx, "traffic_xlsx_write", broken)

    assert traffic_export_build(export_id=export.pk) is False

    export.refresh_from_db()
    assert export.status == TrafficExportStatus.FAILED
    assert not Notification.objects.filter(event="traffic_export_ready").exists()
    page = client.get(reverse("billing:traffic-export", args=[export.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert b"could not be built" in page.content
    assert client.get(reverse("billing:traffic-export-file", args=[export.pk])).status_code == 404


@pytest.mark.usefixtures("traffic", "small_threshold")
def test_a_background_export_in_clear_is_audited_at_each_download(
    cast: Cast, client: Client, enqueued: list[int]
) -> None:
    approve_clear_numbers(cast)
    log_in(client, cast.rossi_legal_rep)
    client.get(reverse("billing:traffic-export-xlsx"))
    export = TrafficExport.objects.get()
    traffic_export_build(export_id=export.pk)
    assert not LogEntry.objects.filter(additional_data__event=IN_CLEAR_AUDIT_EVENT).exists()

    for _ in range(2):
        rows = data_rows(
            read_xlsx(body_of(client.get(reverse("billing:traffic-export-file", args=[export.pk]))))
        )

    export.refresh_from_db()
    assert export.in_clear is True
    assert rows["r1"][5] == "+393471234567"
    entries = LogEntry.objects.filter(additional_data__event=IN_CLEAR_AUDIT_EVENT)
    assert entries.count() == 2
    assert {e.additional_data["export_id"] for e in entries} == {export.pk}


@pytest.mark.usefixtures("traffic", "small_threshold")
def test_an_export_is_its_requesters_only(cast: Cast, client: Client, enqueued: list[int]) -> None:
    log_in(client, cast.rossi_admin)
    client.get(reverse("billing:traffic-export-xlsx"))
    export = TrafficExport.objects.get()
    traffic_export_build(export_id=export.pk)
    urls = [
        reverse("billing:traffic-export", args=[export.pk]),
        reverse("billing:traffic-export-file", args=[export.pk]),
        f"/api/v1/traffic/exports/{export.pk}/",
        f"/api/v1/traffic/exports/{export.pk}/file/",
    ]

    for other in (cast.rossi_legal_rep, cast.rossi_line_user, cast.bianchi_admin):
        other_client = log_in(Client(), other)
        assert [other_client.get(url).status_code for url in urls] == [404] * 4, other
        assert (
            f"traffic-export-{export.pk}"
            not in other_client.get(reverse("billing:traffic-exports")).content.decode()
        )


def test_the_sweep_queues_again_the_exports_whose_task_was_lost(cast: Cast, enqueued: list[int]) -> None:
    def export(status: str, age: timedelta, *, silent_for: timedelta | None = None) -> TrafficExport:
        row = TrafficExport.objects.create(
            company=cast.rossi, membership=cast.rossi_admin, language="en", status=status, filters={}
        )
        heartbeat = None if silent_for is None else timezone.now() - silent_for
        TrafficExport.objects.filter(pk=row.pk).update(
            requested_at=timezone.now() - age, heartbeat_at=heartbeat
        )
        return row

    lost_pending = export("pending", timedelta(minutes=6))
    export("pending", timedelta(minutes=1))  # its task is on its way
    # A long build still moving, however old the request.
    export("running", timedelta(hours=2), silent_for=timedelta(seconds=3))
    dead_running = export(
        "running", timedelta(minutes=8), silent_for=traffic_xlsx.RUNNING_SILENT_AFTER + timedelta(seconds=1)
    )
    export("ready", timedelta(days=1), silent_for=timedelta(days=1))

    assert traffic_exports_sweep() == 2
    assert enqueued == [lost_pending.pk, dead_running.pk]


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("traffic")
def test_the_api_sends_a_small_report_at_once(cast: Cast, api_client_for: Any) -> None:
    response = api_client_for(cast.rossi_admin).get(
        "/api/v1/traffic/export.xlsx", {"line": cast.rossi_assigned_line.number}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert sorted(data_rows(read_xlsx(body_of(response)))) == ["r1", "r3", "r6"]


@pytest.mark.usefixtures("traffic", "small_threshold")
def test_the_api_answers_202_with_a_location_to_poll_then_the_file(
    cast: Cast, api_client_for: Any, enqueued: list[int]
) -> None:
    api = api_client_for(cast.rossi_admin)

    accepted = api.get("/api/v1/traffic/export.xlsx", HTTP_ACCEPT=XLSX)

    export = TrafficExport.objects.get()
    assert accepted.status_code == 202
    assert accepted["Location"] == f"http://testserver/api/v1/traffic/exports/{export.pk}/"
    assert accepted.json()["status"] == "pending"
    assert accepted.json()["download"] is None
    assert api.get(f"/api/v1/traffic/exports/{export.pk}/file/").status_code == 409

    traffic_export_build(export_id=export.pk)
    polled = api.get(accepted["Location"]).json()

    assert polled["status"] == "ready"
    assert (polled["percent"], polled["rows_done"], polled["rows_total"]) == (100, 4, 4)
    assert polled["download"] == f"http://testserver/api/v1/traffic/exports/{export.pk}/file/"
    download = api.get(polled["download"])
    assert download.status_code == 200
    assert sorted(data_rows(read_xlsx(body_of(download)))) == ["r1", "r2", "r3", "r6"]


@pytest.mark.usefixtures("traffic")
def test_the_api_refuses_bad_filters_with_400_naming_them(cast: Cast, api_client_for: Any) -> None:
    response = api_client_for(cast.rossi_line_user).get(
        "/api/v1/traffic/export.xlsx",
        {"line": cast.rossi_other_line.number, "from": "2025-01-01", "service": "fax"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"line", "from", "service"}


# ---------------------------------------------------------------------------
# With a real Celery worker
# ---------------------------------------------------------------------------


@pytest.mark.worker
def test_a_real_worker_builds_the_export_and_tells_who_asked(
    settings: Any, tmp_path: Path, private_storage: Path
) -> None:
    # On the real clock (see on_the_day): the records are yesterday's, inside today's window.
    settings.TRAFFIC_XLSX_DIRECT_ROWS = 1
    cast = make_cast()
    yesterday = timezone.localtime() - timedelta(days=1)
    started = yesterday.replace(microsecond=0).isoformat()
    records = [call(f"w{n}", cast.rossi_assigned_line.number, started_at=started) for n in range(3)]
    result = traffic_import_files(paths=[feed_file(tmp_path, records)])
    assert not result.refused, result.as_dict()
    client = log_in(Client(), cast.rossi_admin)

    with WorkerProcess(extra_env={"PRIVATE_STORAGE_ROOT": str(private_storage)}) as worker:
        response = client.get(reverse("billing:traffic-export-xlsx"))
        export = TrafficExport.objects.get()
        assert response["Location"] == reverse("billing:traffic-export", args=[export.pk])
        wait_until(
            lambda: TrafficExport.objects.filter(pk=export.pk, status=TrafficExportStatus.READY).exists(),
            timeout=60,
        )
        assert "traffic_export_build" in worker.log

    export.refresh_from_db()
    assert export.rows_done == 3
    assert Notification.objects.filter(event="traffic_export_ready", user=cast.rossi_admin.user).exists()
    download = client.get(reverse("billing:traffic-export-file", args=[export.pk]))
    assert sorted(data_rows(read_xlsx(body_of(download)))) == ["w0", "w1", "w2"]
