"""Lines in the browser: find one among 2,000, filter, export what is shown; a line user's narrower view."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from selfcare.models import Line, LineStatus, Offer
from tests.cast import Cast, make_cast
from tests.factories import OfferFactory, iccid

pytestmark = pytest.mark.django_db(transaction=True)

COST_CENTRES = ["Cantieri", "Ufficio", "Direzione", "Flotta"]
FLEET_SIZE = 2000


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    return make_cast()


def add_fleet(cast: Cast) -> None:
    """2,000 more lines for Rossi, spread over four cost centres and two offers."""
    offers: list[Offer] = [
        OfferFactory.create(code="FLEET-VOICE", name="Business Voce"),
        OfferFactory.create(code="FLEET-DATA", name="Business Dati", unlimited_data=True),
    ]
    Line.objects.bulk_create(
        Line(
            company=cast.rossi,
            number=f"+39347{n:07d}",
            kind="mobile",
            sim="physical",
            iccid=iccid(500_000 + n),
            offer=offers[n % 2],
            cost_centre=COST_CENTRES[n % 4],
            status=LineStatus.ACTIVE,
        )
        for n in range(FLEET_SIZE)
    )


def test_an_admin_finds_one_line_among_2000_filters_by_cost_centre_and_exports_what_is_shown(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    cast = browser_cast
    add_fleet(cast)
    admin = cast.rossi_admin.user
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]

    page.goto(live_server.url + "/lines/")
    expect(page.get_by_role("rowheader")).to_have_count(50)
    assert serious_accessibility_violations(page) == []

    # Part of the number, written as people write it.
    page.locator("#id_search").fill("347 000 1234")
    page.locator("#id_search").press("Enter")
    expect(page.get_by_role("rowheader")).to_have_count(1)
    expect(page.get_by_role("rowheader")).to_have_text("+393470001234")

    page.get_by_role("link", name="+393470001234").click()
    expect(page.locator("h1")).to_contain_text("+393470001234")
    expect(page.locator("#line-offer")).to_contain_text("Business Voce")
    assert serious_accessibility_violations(page) == []

    page.goto(live_server.url + "/lines/")
    page.locator("#id_cost_centre").select_option("Flotta")
    page.locator("#id_offer").select_option("FLEET-DATA")
    page.locator("#line-filters button[type=submit]").click()
    expect(page.get_by_role("rowheader")).to_have_count(50)
    expect(page.locator("#id_cost_centre")).to_have_value("Flotta")
    # The next page keeps the filters.
    page.locator(".pagination a").last.click()
    expect(page.locator("#id_cost_centre")).to_have_value("Flotta")
    expect(page.locator("tbody tr td:nth-child(5)").first).to_have_text("Flotta")

    with page.expect_download() as download_info:
        page.locator("#line-export").click()
    download = download_info.value
    with open(download.path(), encoding="utf-8") as exported:
        rows = list(csv.reader(io.StringIO(exported.read())))

    # Every matching line, not just the page shown: n % 4 == 3 and n odd, 500 of the 2,000.
    assert rows[0][0] == "Numero"
    numbers = [row[0] for row in rows[1:]]
    assert len(numbers) == FLEET_SIZE // 4
    assert {row[6] for row in rows[1:]} == {"Flotta"}
    assert {row[4] for row in rows[1:]} == {"Business Dati"}
    assert numbers == sorted(numbers)
    assert cast.bianchi_line.number not in numbers


def test_a_line_user_sees_only_their_line_and_no_other_lines_page(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    cast = browser_cast
    log_in_through_the_form(cast.rossi_line_user.user.email)

    page.goto(live_server.url + "/lines/")
    expect(page.get_by_role("rowheader")).to_have_count(1)
    expect(page.get_by_role("rowheader")).to_have_text(cast.rossi_assigned_line.number)
    expect(page.locator("#id_cost_centre option")).to_have_count(2)  # "any" and the line's own

    page.get_by_role("link", name=cast.rossi_assigned_line.number).click()
    expect(page.locator("#line-summary")).to_contain_text(cast.rossi_assigned_line.iccid)

    for other in (cast.rossi_other_line, cast.bianchi_line):
        response = page.goto(f"{live_server.url}/lines/{other.pk}/")
        assert response is not None
        assert response.status == 404
