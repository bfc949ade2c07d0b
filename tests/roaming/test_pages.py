"""The Abroad pages: the lines' status and switches for the company; rates and calculator for everybody."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from roaming.models import LineRoaming, RoamingSpendMonth
from roaming.selectors import month_of, rome_today
from selfcare.models import HelpPage, LineService, LineServiceChange
from selfcare.navigation import SECTIONS_BY_SLUG
from tests.cast import Cast
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db

ABROAD = "/abroad/"


def test_the_abroad_section_leads_to_the_abroad_page() -> None:
    assert SECTIONS_BY_SLUG["abroad"].url == reverse("roaming:abroad") == ABROAD


def test_the_abroad_page_lists_the_lines_with_their_status_in_italian(client_as: Any, cast: Cast) -> None:
    RoamingSpendMonth.objects.create(
        line=cast.rossi_other_line, month=month_of(rome_today()), chargeable_spend=Decimal("12.5")
    )
    LineRoaming.objects.create(line=cast.rossi_assigned_line, roaming_enabled=False)

    page = client_as(cast.rossi_admin).get(ABROAD).content.decode()

    assert "Estero" in page
    assert cast.rossi_assigned_line.number in page
    assert cast.rossi_other_line.number in page
    assert "€ 12,50" in page
    assert "€ 200,00" in page
    assert escape(HelpPage.objects.get(slug="data-abroad").title_it) in page
    assert reverse("roaming:rates") in page
    assert reverse("roaming:calculator") in page


def test_the_abroad_page_in_english(client_as: Any, cast: Cast) -> None:
    page = client_as(cast.rossi_admin).get(ABROAD, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Works abroad" in page
    assert "€ 0.00 of € 200.00" in page
    assert "Choosing the network by hand abroad" in page


def test_a_line_user_sees_only_the_lines_assigned_to_them(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_line_user)

    page = client.get(ABROAD).content.decode()

    assert cast.rossi_assigned_line.number in page
    assert cast.rossi_other_line.number not in page
    assert client.get(reverse("roaming:line", args=[cast.rossi_other_line.pk])).status_code == 404
    assert (
        client.post(
            reverse("roaming:line-roaming", args=[cast.rossi_other_line.pk]), {"enabled": "off"}
        ).status_code
        == 404
    )


def test_switching_roaming_off_without_javascript_redirects_with_a_message(
    client_as: Any, cast: Cast
) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_assigned_line

    response = client.post(reverse("roaming:line-roaming", args=[line.pk]), {"enabled": "off"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("roaming:line", args=[line.pk])
    page = response.content.decode()
    assert f"Il roaming è ora disattivato per {line.number}." in page or "Roaming" in page
    assert LineServiceChange.objects.get(line=line).service == LineService.ROAMING
    assert not LineRoaming.objects.get(line=line).roaming_enabled


def test_switching_data_abroad_through_htmx_answers_with_the_block(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_admin)
    line = cast.rossi_other_line

    response = client.post(
        reverse("roaming:line-data", args=[line.pk]),
        {"enabled": "off"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="line-roaming"')
    assert f"Data abroad is now off for {line.number}." in body
    assert "Turn data abroad on" in body


def test_the_line_page_abroad_shows_the_history_of_the_switches(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_admin)
    line = cast.rossi_other_line
    client.post(reverse("roaming:line-roaming", args=[line.pk]), {"enabled": "off"})

    page = client.get(reverse("roaming:line", args=[line.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Will not work: roaming off" in page
    assert "International roaming" in page
    assert "Turn roaming on" in page
    # The line's own services history shows it too, as On/Off.
    services = client.get(reverse("selfcare:line-services", args=[line.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "International roaming" in services.content.decode()


def test_the_abroad_page_costs_the_same_queries_with_more_lines(
    client_as: Any, cast: Cast, pinned_queries: Any
) -> None:
    client_as(cast.rossi_admin)
    pinned_queries(ABROAD, queries=QUERIES)
    lines = LineFactory.create_batch(6, company=cast.rossi)
    for line in lines[:3]:
        LineRoaming.objects.create(line=line, data_enabled=False)
        RoamingSpendMonth.objects.create(
            line=line, month=month_of(rome_today()), chargeable_spend=Decimal("3")
        )

    pinned_queries(ABROAD, queries=QUERIES)


# The session, its user and the membership; the count; one page of lines with
# their settings and this month's spend; the help pages; the company
# switcher's memberships; the inbox badge; the session's sliding expiry (a
# savepoint, an update, a release).
QUERIES = 11


# Public pages


def test_the_rates_page_is_public_and_searchable_in_italian(client: Client) -> None:
    response = client.get(reverse("roaming:rates"), {"q": "svizzera"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Zona 1 — Europa extra UE" in page
    assert "Svizzera" in page
    assert "UE/SEE — roaming come a casa" not in page
    assert "0,7900" in page
    assert "0,96" in page


def test_the_rates_page_in_english_finds_countries_by_english_name(client: Client) -> None:
    page = client.get(reverse("roaming:rates"), {"q": "germany"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "EU/EEA — roam like at home" in page
    assert "Germany" in page
    assert "Zone 1" not in page


def test_the_rates_page_says_when_no_country_matches(client: Client) -> None:
    page = client.get(
        reverse("roaming:rates"), {"q": "atlantide"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert 'No country matches "atlantide".' in page


def test_the_rates_page_costs_a_fixed_number_of_queries(pinned_queries: Any, db: None) -> None:
    pinned_queries(reverse("roaming:rates"), queries=3)


TRIP = {
    "country": "US",
    "days": "2",
    "minutes_made": "10",
    "minutes_received": "0",
    "sms": "1",
    "megabytes": "5",
}


def test_the_calculator_works_without_javascript_for_anonymous_visitors(client: Client) -> None:
    response = client.get(reverse("roaming:calculator"), TRIP, HTTP_ACCEPT_LANGUAGE="en")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<form" in page
    # 20 min * 1.49 + 2 SMS * 0.49 + 10 MB * 2.00 = 29.80 + 0.98 + 20.00 = 50.78; VAT 11.17 (11.1716)
    assert 'id="trip-total">€ 50.78' in page
    assert 'id="trip-vat">€ 11.17' in page
    assert 'id="trip-total-vat">€ 61.95' in page


def test_the_calculator_through_htmx_answers_with_the_result_only(client: Client) -> None:
    response = client.get(reverse("roaming:calculator"), {**TRIP, "country": "FR"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="trip-estimate"')
    assert "<form" not in body
    assert "Roaming come a casa" in body or "roaming come a casa" in body.lower()


def test_the_calculator_shows_the_errors_of_a_wrong_trip(client: Client) -> None:
    page = client.get(
        reverse("roaming:calculator"), {**TRIP, "days": "0"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert 'id="trip-errors"' in page
    assert 'aria-invalid="true"' in page


def test_the_calculator_without_a_trip_shows_the_form(client: Client) -> None:
    page = client.get(reverse("roaming:calculator")).content.decode()

    assert 'id="trip-form"' in page
    assert 'id="trip-estimate"' not in page.split("<form", 1)[0]


def test_the_abroad_page_needs_a_login(client: Client, db: None) -> None:
    response = client.get(ABROAD)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
