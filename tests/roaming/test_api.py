"""The roaming API: the lines' status and switches, scoped like the pages; the price list and estimate, public."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from roaming.models import LineRoaming
from selfcare.models import LineService, LineServiceChange
from tests.cast import Cast
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db

LINES = "/api/v1/roaming/lines/"


def test_the_list_shows_each_visible_line_with_its_status(cast: Cast, api_client_for: Any) -> None:
    body = api_client_for(cast.rossi_admin).get(LINES).json()

    rows = {row["number"]: row for row in body["results"]}
    assert set(rows) == {cast.rossi_assigned_line.number, cast.rossi_other_line.number}
    row = rows[cast.rossi_assigned_line.number]
    assert row["works_abroad"] is True
    assert row["data_works_abroad"] is True
    assert row["spending_cap"] == "200.00"
    assert row["month_spend"] == "0.00"
    assert row["cap_used_percent"] == 0


def test_a_line_user_lists_and_reaches_only_assigned_lines(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_line_user)

    numbers = [row["number"] for row in client.get(LINES).json()["results"]]

    assert numbers == [cast.rossi_assigned_line.number]
    assert client.get(f"{LINES}{cast.rossi_other_line.pk}/").status_code == 404
    assert (
        client.patch(
            f"{LINES}{cast.rossi_other_line.pk}/", {"roaming_enabled": False}, format="json"
        ).status_code
        == 404
    )
    assert client.get(f"{LINES}{cast.bianchi_line.pk}/").status_code == 404


def test_patch_switches_roaming_and_data_through_the_service(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_line_user)
    url = f"{LINES}{cast.rossi_assigned_line.pk}/"

    response = client.patch(url, {"roaming_enabled": False, "data_enabled": False}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["works_abroad"] is False
    assert response.json()["data_enabled"] is False
    assert set(LineServiceChange.objects.values_list("service", flat=True)) == {
        LineService.ROAMING,
        LineService.DATA_ROAMING,
    }
    # The same state again is no change and no error.
    assert client.patch(url, {"roaming_enabled": False}, format="json").status_code == 200
    assert LineServiceChange.objects.count() == 2
    assert not LineRoaming.objects.get(pk=cast.rossi_assigned_line.pk).roaming_enabled


def test_patch_needs_a_switch_and_put_is_not_offered(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_admin)
    url = f"{LINES}{cast.rossi_other_line.pk}/"

    assert client.patch(url, {}, format="json").status_code == 400
    assert client.put(url, {"roaming_enabled": False}, format="json").status_code == 405


def test_the_list_costs_the_same_queries_with_more_lines(
    cast: Cast, api_client_for: Any, django_assert_num_queries: Any
) -> None:
    client = api_client_for(cast.rossi_admin)
    client.get(LINES)  # the token's first use stamps its last use: not part of the count
    # The token (with its membership, user and company), one page of lines with settings and spend.
    with django_assert_num_queries(2):
        client.get(LINES)
    LineFactory.create_batch(5, company=cast.rossi)
    with django_assert_num_queries(2):
        assert len(client.get(LINES).json()["results"]) == 7


def test_the_zones_and_rates_are_public_and_searchable() -> None:
    zones = APIClient().get("/api/v1/roaming/zones/", {"q": "svizzera"})

    assert zones.status_code == 200
    [zone] = zones.json()
    assert zone["code"] == "zone-1"
    assert zone["kind"] == "rated"
    assert zone["rate"]["call_made_per_minute"] == "0.7900"
    assert zone["rate_with_vat"]["call_made_per_minute"] == "0.96"
    assert zone["countries"] == [{"code": "CH", "name": "Svizzera"}]


def test_the_estimate_is_public_with_and_without_vat() -> None:
    response = APIClient().get(
        "/api/v1/roaming/estimate/",
        {"country": "US", "days": "2", "minutes_made": "10", "sms": "1", "megabytes": "5"},
    )

    body = response.json()
    assert response.status_code == 200, body
    assert (body["total"], body["vat"], body["total_with_vat"]) == ("50.78", "11.17", "61.95")
    assert body["roam_like_at_home"] is False
    assert body["zone"] == "zone-2"


def test_the_estimate_says_when_roam_like_at_home_applies() -> None:
    body = (
        APIClient()
        .get("/api/v1/roaming/estimate/", {"country": "ES", "days": "3", "megabytes": "900"})
        .json()
    )

    assert body["roam_like_at_home"] is True
    assert body["total_with_vat"] == "0.00"
    assert body["rates_valid_from"] is None


def test_the_estimate_refuses_an_unknown_country_or_a_wrong_trip() -> None:
    client = APIClient()

    assert client.get("/api/v1/roaming/estimate/", {"country": "ZZ", "days": "1"}).status_code == 400
    assert client.get("/api/v1/roaming/estimate/", {"country": "US", "days": "0"}).status_code == 400
