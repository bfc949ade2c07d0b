"""The report's query: what each role sees, the window, the filters, the other party masked or in clear."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.http import QueryDict

from billing.clear_numbers import ClearWindow, clear_windows_for
from billing.forms_traffic import TrafficFilterForm
from billing.models import ClearNumbersRequest, ClearNumbersStatus
from billing.traffic_import import traffic_import_files
from billing.traffic_report import TrafficFilters, feed_value, report_window, traffic_report_queryset
from tests.billing.traffic_files import call, data_session, feed_file
from tests.cast import Cast

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def on_the_day() -> object:
    with time_machine.travel("2026-11-21T10:00:00+01:00", tick=False) as traveller:
        yield traveller


def rows(membership: object, **filters: object) -> list[tuple[object, ...]]:
    first, last = report_window()
    chosen = TrafficFilters(first_day=first, last_day=last, **filters)  # type: ignore[arg-type]
    windows = clear_windows_for(membership)  # type: ignore[arg-type]
    queryset = traffic_report_queryset(membership=membership, filters=chosen, clear_windows=windows)  # type: ignore[arg-type]
    return [tuple(feed_value(value) for value in row) for row in queryset]


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
        call("r5", other, started_at="2026-05-01T09:15:00+02:00"),  # outside the 90 days
        call("r6", assigned, other_party="119", direction="out"),
    ]
    result = traffic_import_files(paths=[feed_file(tmp_path, records)])
    assert not result.refused, result.as_dict()
    assert not result.result.rejected, result.as_dict()


@pytest.mark.usefixtures("traffic")
def test_an_admin_sees_every_line_of_the_company_in_the_window_masked(cast: Cast) -> None:
    seen = rows(cast.rossi_admin)

    assert [row[0] for row in seen] == ["r2", "r1", "r3", "r6"]
    by_id = {row[0]: row for row in seen}
    assert by_id["r1"][1:] == (
        cast.rossi_assigned_line.number,
        "2026-11-20T09:15:00+01:00",
        "out",
        "voice",
        "+393471234XXX",
        "TIM",
        "mobile",
        120,
        0,
        "IT",
        0,
    )
    assert by_id["r2"][2] == "2026-09-20T09:15:00+02:00"
    assert by_id["r3"][5] == ""
    assert by_id["r6"][5] == "XXX"


@pytest.mark.usefixtures("traffic")
def test_a_line_user_sees_only_the_assigned_line(cast: Cast) -> None:
    assert {row[1] for row in rows(cast.rossi_line_user)} == {cast.rossi_assigned_line.number}


@pytest.mark.usefixtures("traffic")
def test_filters_narrow_by_line_service_and_direction(cast: Cast) -> None:
    assert [row[0] for row in rows(cast.rossi_admin, line_ids=(cast.rossi_other_line.pk,))] == ["r2"]
    assert [row[0] for row in rows(cast.rossi_admin, service="data")] == ["r3"]
    assert [row[0] for row in rows(cast.rossi_admin, direction="in")] == []


@pytest.mark.usefixtures("traffic")
def test_an_approved_request_shows_its_lines_and_days_in_clear_to_the_legal_rep_only(cast: Cast) -> None:
    request = ClearNumbersRequest.objects.create(
        company=cast.rossi,
        requested_by=cast.rossi_legal_rep.user,
        period_start=DAY - timedelta(days=1),
        period_end=DAY,
        users_informed=True,
        status=ClearNumbersStatus.APPROVED,
    )
    request.lines.add(cast.rossi_assigned_line)

    assert clear_windows_for(cast.rossi_legal_rep) == [
        ClearWindow(line_id=cast.rossi_assigned_line.pk, first_day=DAY - timedelta(days=1), last_day=DAY)
    ]
    by_id = {row[0]: row for row in rows(cast.rossi_legal_rep)}
    assert by_id["r1"][5] == "+393471234567"
    assert by_id["r6"][5] == "119"
    assert by_id["r2"][5] == "+39061234XXX"  # another line
    assert {row[5] for row in rows(cast.rossi_line_user) if row[0] == "r1"} == {"+393471234XXX"}
    assert clear_windows_for(cast.bianchi_legal_rep) == []


def form_filters(membership: object, query: str) -> tuple[TrafficFilterForm, TrafficFilters]:
    form = TrafficFilterForm(QueryDict(query), membership=membership)  # type: ignore[arg-type]
    return form, form.filters()


def test_the_filter_form_reads_the_apis_parameters(cast: Cast) -> None:
    number = cast.rossi_other_line.number
    form, filters = form_filters(
        cast.rossi_admin, f"line={quote(number)}&from=2026-11-01&to=2026-11-20&service=voice&direction=out"
    )

    assert form.is_valid(), form.errors
    assert filters == TrafficFilters(
        first_day=date(2026, 11, 1),
        last_day=date(2026, 11, 20),
        line_ids=(cast.rossi_other_line.pk,),
        service="voice",
        direction="out",
    )
    assert form.query() == f"line={quote(number)}&from=2026-11-01&to=2026-11-20&service=voice&direction=out"


def test_the_filter_form_defaults_to_the_last_90_days_of_every_visible_line(cast: Cast) -> None:
    form, filters = form_filters(cast.rossi_admin, "")

    assert form.is_valid()
    assert filters == TrafficFilters(first_day=date(2026, 8, 24), last_day=date(2026, 11, 21))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-08-23", "from"),
        ("to=2026-11-22", "to"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("service=fax", "service"),
        ("direction=sideways", "direction"),
        ("from=yesterday", "from"),
    ],
)
def test_the_filter_form_refuses_what_is_outside_the_report(cast: Cast, query: str, field: str) -> None:
    form, filters = form_filters(cast.rossi_admin, query)

    assert not form.is_valid()
    assert field in form.errors
    first, last = report_window()
    assert first <= filters.first_day <= filters.last_day <= last


def test_a_line_of_another_company_or_not_assigned_is_refused_like_an_unknown_one(cast: Cast) -> None:
    for membership, number in [
        (cast.rossi_admin, cast.bianchi_line.number),
        (cast.rossi_line_user, cast.rossi_other_line.number),
    ]:
        form, filters = form_filters(membership, f"line={quote(number)}")
        assert "line" in form.errors
        assert filters.line_ids == ()
