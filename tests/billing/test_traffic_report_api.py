"""The traffic report's API: the list and the CSV for integrations, by token and by session."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from auditlog.models import LogEntry
from rest_framework.test import APIClient

from billing.models import ClearNumbersRequest, ClearNumbersStatus
from billing.traffic_feed import FEED_COLUMNS
from billing.traffic_import import traffic_import_files
from tests.billing.traffic_files import call, data_session, feed_file
from tests.cast import Cast
from tests.selfcare.test_api import session_api_client

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2026, 11, 20)
LIST = "/api/v1/traffic/"
CSV = "/api/v1/traffic/export.csv"
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
    load(
        tmp_path,
        [
            call("r1", cast.rossi_assigned_line.number),
            call(
                "r2",
                cast.rossi_other_line.number,
                started_at="2026-09-20T09:15:00+02:00",
                other_party="+39061234567",
            ),
            data_session("r3", cast.rossi_assigned_line.number),
            call("b1", cast.bianchi_line.number, other_party="+39021111222"),
        ],
    )


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def in_clear_audits() -> list[LogEntry]:
    return [
        entry
        for entry in LogEntry.objects.all()
        if (entry.additional_data or {}).get("event") == IN_CLEAR_EVENT
    ]


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


# ---------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------
@pytest.mark.usefixtures("traffic")
def test_the_list_speaks_the_feeds_columns_masked(cast: Cast, api_client_for: Any) -> None:
    body = api_client_for(cast.rossi_admin).get(LIST).json()

    assert [record["record_id"] for record in body["results"]] == ["r2", "r1", "r3"]
    assert body["results"][1] == {
        "record_id": "r1",
        "line": cast.rossi_assigned_line.number,
        "started_at": "2026-11-20T09:15:00+01:00",
        "direction": "out",
        "service": "voice",
        "other_party": "+393471234XXX",
        "other_operator": "TIM",
        "other_network": "mobile",
        "duration_s": 120,
        "volume_bytes": 0,
        "country": "IT",
        "topup": 0,
    }
    assert list(body["results"][1]) == list(FEED_COLUMNS)


@pytest.mark.usefixtures("traffic")
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("rossi_legal_rep", ["r2", "r1", "r3"]),
        ("rossi_admin", ["r2", "r1", "r3"]),
        ("rossi_line_user", ["r1", "r3"]),
    ],
)
def test_each_role_lists_what_it_may_see(
    cast: Cast, api_client_for: Any, role: str, expected: list[str]
) -> None:
    body = api_client_for(getattr(cast, role)).get(LIST).json()

    assert [record["record_id"] for record in body["results"]] == expected


@pytest.mark.usefixtures("traffic")
def test_a_line_user_naming_another_line_gets_400_and_no_records(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_line_user)

    for path in (LIST, CSV):
        response = client.get(f"{path}?line={quote(cast.rossi_other_line.number)}")
        assert response.status_code == 400, path
        assert "line" in response.json()
        assert "+39061234" not in response.content.decode()
        assert client.get(f"{path}?line={quote(cast.bianchi_line.number)}").status_code == 400


@pytest.mark.usefixtures("traffic")
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-01-01", "from"),
        ("to=tomorrow", "to"),
        ("service=fax", "service"),
        ("direction=up", "direction"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(
    cast: Cast, api_client_for: Any, query: str, field: str
) -> None:
    client = api_client_for(cast.rossi_admin)

    for path in (LIST, CSV):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert field in response.json(), path


@pytest.mark.usefixtures("traffic")
def test_the_filters_narrow_the_list(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_admin)

    def ids(query: str) -> list[str]:
        return [record["record_id"] for record in client.get(f"{LIST}?{query}").json()["results"]]

    assert ids(f"line={quote(cast.rossi_other_line.number)}") == ["r2"]
    assert ids(
        f"line={quote(cast.rossi_other_line.number)}&line={quote(cast.rossi_assigned_line.number)}"
    ) == [
        "r2",
        "r1",
        "r3",
    ]
    assert ids("service=data") == ["r3"]
    assert ids("from=2026-11-01&to=2026-11-20") == ["r1", "r3"]
    assert ids("direction=in") == []


def test_the_cursor_walks_every_record_once(cast: Cast, api_client_for: Any, tmp_path: Path) -> None:
    # Several records at the same second: the cursor must neither skip nor repeat them.
    load(
        tmp_path,
        [
            call(
                f"c{n:02d}",
                cast.rossi_assigned_line.number,
                started_at=f"2026-11-{1 + n // 3:02d}T09:00:00+01:00",
            )
            for n in range(25)
        ],
    )
    client = api_client_for(cast.rossi_admin)

    seen: list[str] = []
    url: str | None = f"{LIST}?page_size=4"
    while url:
        body = client.get(url).json()
        seen += [record["record_id"] for record in body["results"]]
        url = body["next"]

    assert sorted(seen) == [f"c{n:02d}" for n in range(25)]
    assert len(seen) == 25


def test_the_list_takes_the_same_number_of_queries_whatever_the_traffic(
    cast: Cast, api_client_for: Any, tmp_path: Path, django_assert_num_queries: Any
) -> None:
    client = api_client_for(cast.rossi_admin)
    # A first call records the token's use (once a minute): not the list's cost.
    client.get(LIST)
    load(tmp_path, [call("one", cast.rossi_assigned_line.number)])
    with django_assert_num_queries(QUERIES_OF_THE_LIST):
        assert len(client.get(LIST).json()["results"]) == 1
    load(tmp_path, [call(f"m{n}", cast.rossi_other_line.number) for n in range(150)])
    with django_assert_num_queries(QUERIES_OF_THE_LIST):
        assert len(client.get(LIST).json()["results"]) == 100


QUERIES_OF_THE_LIST = 4  # the token, the lines of the form, the windows in clear, one page of records


# ---------------------------------------------------------------------------
# The CSV for integrations
# ---------------------------------------------------------------------------
@pytest.mark.usefixtures("traffic")
def test_the_csv_has_the_feeds_header_iso_dates_and_masking(cast: Cast, api_client_for: Any) -> None:
    # In Italian or not, an integration reads the feed's own column names.
    rows = csv_rows(api_client_for(cast.rossi_admin).get(CSV, HTTP_ACCEPT_LANGUAGE="it"))

    assert rows[0] == list(FEED_COLUMNS)
    assert rows[1:] == [
        [
            "r2",
            cast.rossi_other_line.number,
            "2026-09-20T09:15:00+02:00",
            "out",
            "voice",
            "+39061234XXX",
            "TIM",
            "mobile",
            "120",
            "0",
            "IT",
            "0",
        ],
        [
            "r1",
            cast.rossi_assigned_line.number,
            "2026-11-20T09:15:00+01:00",
            "out",
            "voice",
            "+393471234XXX",
            "TIM",
            "mobile",
            "120",
            "0",
            "IT",
            "0",
        ],
        [
            "r3",
            cast.rossi_assigned_line.number,
            "2026-11-20T09:15:00+01:00",
            "out",
            "data",
            "",
            "",
            "",
            "0",
            "5000000",
            "IT",
            "0",
        ],
    ]
    assert in_clear_audits() == []


@pytest.mark.usefixtures("traffic")
def test_the_csv_works_with_a_session_too(cast: Cast) -> None:
    rows = csv_rows(session_api_client(cast.rossi_line_user).get(CSV))

    assert [row[0] for row in rows[1:]] == ["r1", "r3"]


def test_the_csv_refuses_anonymous_callers(db: None) -> None:
    assert APIClient().get(CSV).status_code == 401


@pytest.mark.usefixtures("traffic")
def test_an_approved_window_is_in_clear_in_the_csv_and_audited(cast: Cast, api_client_for: Any) -> None:
    approve_clear_numbers(cast)

    rows = csv_rows(api_client_for(cast.rossi_legal_rep).get(CSV))
    masked = csv_rows(api_client_for(cast.rossi_line_user).get(CSV))
    listed = api_client_for(cast.rossi_admin).get(LIST).json()["results"]

    assert {row[0]: row[5] for row in rows[1:]} == {"r1": "+393471234567", "r2": "+39061234XXX", "r3": ""}
    assert {row[0]: row[5] for row in masked[1:]} == {"r1": "+393471234XXX", "r3": ""}
    assert {record["record_id"]: record["other_party"] for record in listed}["r1"] == "+393471234567"
    [audit] = in_clear_audits()
    assert audit.actor == cast.rossi_legal_rep.user
    assert audit.additional_data["format"] == "csv"
    assert audit.additional_data["windows"] == [
        {"line_id": cast.rossi_assigned_line.pk, "from": "2026-11-19", "to": "2026-11-20"}
    ]


@pytest.mark.usefixtures("traffic")
def test_bianchi_never_sees_rossis_traffic_nor_the_reverse(cast: Cast, api_client_for: Any) -> None:
    bianchi = csv_rows(api_client_for(cast.bianchi_admin).get(CSV))
    rossi = api_client_for(cast.rossi_admin).get(LIST).content.decode()

    assert [row[0] for row in bianchi[1:]] == ["b1"]
    assert cast.bianchi_line.number not in rossi
    assert "b1" not in [
        record["record_id"] for record in api_client_for(cast.rossi_legal_rep).get(LIST).json()["results"]
    ]
