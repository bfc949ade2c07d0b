"""The traffic report's page and its CSV download: roles, masking, numbers in clear, languages, pages, streaming."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse

from billing.models import ClearNumbersRequest, ClearNumbersStatus
from billing.traffic_import import traffic_import_files
from selfcare.models import Line
from tests.billing.traffic_files import call, data_session, feed_file
from tests.cast import Cast
from tests.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2026, 11, 20)
PAGE = reverse("billing:traffic-report")
CSV = reverse("billing:traffic-export-csv")
IN_CLEAR_EVENT = "traffic_numbers_in_clear_downloaded"


@pytest.fixture(autouse=True)
def on_the_day() -> object:
    with time_machine.travel("2026-11-21T10:00:00+01:00", tick=False) as traveller:
        yield traveller


def load(tmp_path: Path, records: list[dict[str, str]]) -> None:
    result = traffic_import_files(paths=[feed_file(tmp_path, records)])
    assert not result.refused, result.as_dict()
    assert not result.result.rejected, result.as_dict()


@pytest.fixture
def traffic(cast: Cast, tmp_path: Path) -> None:
    assigned, other, foreign = (
        cast.rossi_assigned_line.number,
        cast.rossi_other_line.number,
        cast.bianchi_line.number,
    )
    load(
        tmp_path,
        [
            call("r1", assigned),
            call("r2", other, started_at="2026-09-20T09:15:00+02:00", other_party="+39061234567"),
            data_session("r3", assigned),
            call("b1", foreign, other_party="+39021111222"),
            call("r6", assigned, other_party="119", direction="in", started_at="2026-11-20T10:00:00+01:00"),
        ],
    )


def approve_clear_numbers(cast: Cast, line: Line) -> ClearNumbersRequest:
    request = ClearNumbersRequest.objects.create(
        company=cast.rossi,
        requested_by=cast.rossi_legal_rep.user,
        period_start=DAY - timedelta(days=1),
        period_end=DAY,
        users_informed=True,
        status=ClearNumbersStatus.APPROVED,
    )
    request.lines.add(line)
    return request


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def in_clear_audits() -> list[LogEntry]:
    return [
        entry
        for entry in LogEntry.objects.all()
        if (entry.additional_data or {}).get("event") == IN_CLEAR_EVENT
    ]


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------
@pytest.mark.usefixtures("traffic")
@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin"])
def test_those_who_see_every_line_see_the_companys_traffic_masked(
    cast: Cast, client: Client, role: str
) -> None:
    log_in(client, getattr(cast, role))

    page = client.get(PAGE).content.decode()

    assert cast.rossi_assigned_line.number in page
    assert cast.rossi_other_line.number in page
    assert "+393471234XXX" in page
    assert "+39061234XXX" in page
    assert "+393471234567" not in page
    assert cast.bianchi_line.number not in page
    assert "+39021111" not in page
    assert "XXX" in page
    assert "art. 124" in page
    # Totals: 4 records, 3 calls of 2 minutes, one data session of 5 MB.
    assert 'id="traffic-total-records">4<' in page
    assert "6,0 min" in page  # three calls of two minutes
    assert "5,00 MB" in page


@pytest.mark.usefixtures("traffic")
def test_a_line_user_sees_only_the_assigned_line(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_line_user)

    page = client.get(PAGE).content.decode()

    assert cast.rossi_assigned_line.number in page
    assert cast.rossi_other_line.number not in page
    assert "+39061234" not in page
    assert 'id="traffic-total-records">3<' in page


@pytest.mark.usefixtures("traffic")
def test_a_line_user_naming_another_line_gets_an_error_and_none_of_its_records(
    cast: Cast, client: Client
) -> None:
    log_in(client, cast.rossi_line_user)
    other = quote(cast.rossi_other_line.number)

    page = client.get(f"{PAGE}?line={other}").content.decode()
    download = client.get(f"{CSV}?line={other}")
    foreign = client.get(f"{CSV}?line={quote(cast.bianchi_line.number)}")

    assert "+39061234" not in page
    assert "is-invalid" in page or "invalid-feedback" in page
    assert download.status_code == 400
    assert b"+39061234" not in download.content
    assert foreign.status_code == 400


@pytest.mark.usefixtures("traffic")
def test_the_page_filters_by_line_service_and_direction(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    by_line = client.get(f"{PAGE}?line={quote(cast.rossi_other_line.number)}").content.decode()
    by_service = client.get(f"{PAGE}?service=data").content.decode()
    incoming = client.get(f"{PAGE}?direction=in").content.decode()

    assert 'id="traffic-total-records">1<' in by_line
    assert "+39061234XXX" in by_line
    assert 'id="traffic-total-records">1<' in by_service
    assert "5,00 MB" in by_service
    assert 'id="traffic-total-records">1<' in incoming
    assert ">XXX<" in incoming


@pytest.mark.usefixtures("traffic")
def test_dates_are_shown_in_the_users_language(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    italian = client.get(PAGE).content.decode()
    english = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "20/11/2026 09:15" in italian
    assert "11/20/2026 9:15 a.m." in english


def test_the_empty_state_says_there_is_no_traffic(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    page = client.get(PAGE).content.decode()
    narrowed = client.get(f"{PAGE}?service=mms").content.decode()

    assert 'id="traffic-empty"' in page
    assert 'id="traffic-records"' not in page
    assert 'id="traffic-empty"' in narrowed
    assert f'href="{PAGE}"' in narrowed


@pytest.mark.usefixtures("traffic")
def test_the_legal_rep_is_told_when_numbers_are_in_clear(cast: Cast, client: Client) -> None:
    approve_clear_numbers(cast, cast.rossi_assigned_line)
    log_in(client, cast.rossi_legal_rep)

    page = client.get(PAGE).content.decode()

    assert 'id="traffic-in-clear"' in page
    assert "+393471234567" in page
    assert "+39061234XXX" in page  # another line


@pytest.mark.usefixtures("traffic")
def test_the_invoice_list_and_the_line_page_link_to_the_report(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)
    line = cast.rossi_assigned_line

    invoices = client.get(reverse("billing:invoice-list")).content.decode()
    line_page = client.get(reverse("selfcare:line-detail", args=[line.pk])).content.decode()

    assert f'href="{PAGE}"' in invoices
    assert f'href="{PAGE}?line={quote(line.number)}"' in line_page
    assert client.get(f"{PAGE}?line={quote(line.number)}").status_code == 200


def test_the_page_takes_the_same_number_of_queries_whatever_the_traffic(
    cast: Cast, client: Client, tmp_path: Path, pinned_queries: Any
) -> None:
    log_in(client, cast.rossi_admin)
    # Session, user and membership, the navigation's, then the page's own: the lines of
    # the form, the windows in clear, the totals and one page of records. No COUNT(*):
    # the totals give the paginator its count.
    load(tmp_path, [call("p1", cast.rossi_assigned_line.number)])
    few = pinned_queries(PAGE, queries=QUERIES_OF_THE_PAGE)
    assert 'id="traffic-total-records">1<' in few.content.decode()

    load(
        tmp_path,
        [
            call(
                f"q{n}",
                cast.rossi_other_line.number,
                started_at=f"2026-11-{1 + n % 20:02d}T09:{n % 60:02d}:00+01:00",
            )
            for n in range(130)
        ],
    )
    many = pinned_queries(PAGE, queries=QUERIES_OF_THE_PAGE)
    last_page = pinned_queries(f"{PAGE}?page=3", queries=QUERIES_OF_THE_PAGE)

    assert many.content.decode().count("<tr>") == 1 + 50
    assert last_page.content.decode().count("<tr>") == 1 + 131 - 100
    assert "3" in last_page.content.decode()


QUERIES_OF_THE_PAGE = 12


# ---------------------------------------------------------------------------
# The CSV download
# ---------------------------------------------------------------------------
@pytest.mark.usefixtures("traffic")
def test_the_download_speaks_italian_to_an_italian_user(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    rows = csv_rows(client.get(CSV))

    assert rows[0][:3] == ["Id del record", "Linea", "Avviata il"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["r1"] == [
        "r1",
        cast.rossi_assigned_line.number,
        "20/11/2026 09:15:00",
        "In uscita",
        "Chiamate",
        "+393471234XXX",
        "TIM",
        "Mobile",
        "120",
        "0",
        "IT",
        "0",
    ]
    assert by_id["r2"][2] == "20/09/2026 09:15:00"  # summer time, Rome's clock
    assert [row[0] for row in rows[1:]] == ["r2", "r1", "r3", "r6"]
    assert cast.bianchi_line.number not in str(rows)
    assert in_clear_audits() == []


@pytest.mark.usefixtures("traffic")
def test_the_download_speaks_english_to_an_english_user(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    rows = csv_rows(client.get(CSV, HTTP_ACCEPT_LANGUAGE="en"))

    assert rows[0] == [
        "Record id",
        "Line",
        "Started at",
        "Direction",
        "Service",
        "Other party",
        "Other operator",
        "Other network",
        "Duration (seconds)",
        "Volume (bytes)",
        "Country",
        "Feeds automatic top-up",
    ]
    assert {row[0]: row for row in rows[1:]}["r1"][2:5] == ["2026-11-20 09:15:00", "Outgoing", "Calls"]


@pytest.mark.usefixtures("traffic")
def test_the_download_follows_the_filters_and_the_role(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_line_user)
    mine = csv_rows(client.get(CSV))
    data = csv_rows(client.get(f"{CSV}?service=data"))

    assert {row[1] for row in mine[1:]} == {cast.rossi_assigned_line.number}
    assert [row[0] for row in data[1:]] == ["r3"]


@pytest.mark.usefixtures("traffic")
def test_bad_filters_are_refused_with_400(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    assert client.get(f"{CSV}?from=2026-01-01").status_code == 400
    assert client.get(f"{CSV}?from=yesterday").status_code == 400
    assert client.get(f"{CSV}?service=fax").status_code == 400
    assert client.get(f"{CSV}?from=2026-11-20&to=2026-11-01").status_code == 400


@pytest.mark.usefixtures("traffic")
def test_an_approved_window_shows_numbers_in_clear_and_the_download_is_audited(
    cast: Cast, client: Client
) -> None:
    approve_clear_numbers(cast, cast.rossi_assigned_line)
    log_in(client, cast.rossi_legal_rep)

    rows = csv_rows(client.get(CSV))

    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["r1"][5] == "+393471234567"
    assert by_id["r6"][5] == "119"
    assert by_id["r2"][5] == "+39061234XXX"
    [audit] = in_clear_audits()
    assert audit.actor == cast.rossi_legal_rep.user
    details = audit.additional_data
    assert details["windows"] == [
        {"line_id": cast.rossi_assigned_line.pk, "from": "2026-11-19", "to": "2026-11-20"}
    ]
    assert details["filters"]["from"] == "2026-08-24"


@pytest.mark.usefixtures("traffic")
def test_a_download_outside_the_windows_stays_masked_and_unaudited(cast: Cast, client: Client) -> None:
    approve_clear_numbers(cast, cast.rossi_assigned_line)
    log_in(client, cast.rossi_legal_rep)

    rows = csv_rows(client.get(f"{CSV}?line={quote(cast.rossi_other_line.number)}"))

    assert [row[5] for row in rows[1:]] == ["+39061234XXX"]
    assert in_clear_audits() == []


@pytest.mark.usefixtures("traffic")
def test_a_line_user_never_gets_numbers_in_clear(cast: Cast, client: Client) -> None:
    approve_clear_numbers(cast, cast.rossi_assigned_line)
    log_in(client, cast.rossi_line_user)

    rows = csv_rows(client.get(CSV))

    assert {row[5] for row in rows[1:] if row[0] == "r1"} == {"+393471234XXX"}
    assert in_clear_audits() == []


def test_the_stream_reads_a_few_thousand_records_whole(cast: Cast, client: Client, tmp_path: Path) -> None:
    records = [
        call(
            f"s{n:05d}",
            cast.rossi_assigned_line.number if n % 2 else cast.rossi_other_line.number,
            started_at=f"2026-{10 + n % 2}-{1 + n % 20:02d}T{n % 24:02d}:{n % 60:02d}:{n % 57:02d}+01:00",
            other_party=f"+39347{n:07d}",
        )
        for n in range(4000)
    ]
    load(tmp_path, records)
    log_in(client, cast.rossi_admin)

    response = client.get(CSV)
    chunks = list(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))

    assert len(rows) == 1 + 4000
    assert {row[0] for row in rows[1:]} == {record["record_id"] for record in records}
    assert all(row[5].endswith("XXX") for row in rows[1:])
    if connection.vendor == "postgresql":
        # The COPY's bytes, gathered into a few large chunks rather than a write per row.
        assert 2 < len(chunks) < 20
    # The connection is free for the next request.
    assert client.get(PAGE).status_code == 200


def test_a_download_abandoned_midway_leaves_the_connection_usable(
    cast: Cast, client: Client, tmp_path: Path
) -> None:
    load(
        tmp_path,
        [
            call(f"a{n:05d}", cast.rossi_assigned_line.number, other_party=f"+39347{n:07d}")
            for n in range(3000)
        ],
    )
    log_in(client, cast.rossi_admin)

    response = client.get(CSV)
    stream = iter(response.streaming_content)  # type: ignore[attr-defined]
    next(stream)
    next(stream)
    response.close()  # the client went away: the server closes the response

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_trafficrecord")
        assert cursor.fetchone() == (3000,)
    assert client.get(PAGE).status_code == 200


def test_the_page_belongs_to_the_invoices_and_usage_section_of_the_header(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_line_user)

    page = client.get(PAGE).content.decode()

    highlighted = re.findall(r'<a class="nav-link active" href="([^"]+)"\s+aria-current="location">', page)
    assert highlighted == [reverse("billing:invoice-list")]
