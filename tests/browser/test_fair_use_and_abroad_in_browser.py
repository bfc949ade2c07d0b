"""Fair use and the trip calculator in the browser: what a line user is told, what a traveller is quoted."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from billing.models import FairUseFinding, FairUseMeasure
from tests.billing.fair_use_rows import make_finding
from tests.cast import Cast, make_cast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    return make_cast()


def speed_limited_finding(cast: Cast) -> FairUseFinding:
    """Rule 1 on the line user's line, with a data speed limit in force: as staff leave it."""
    today = timezone.localdate()
    finding = make_finding(cast.rossi_assigned_line, period_start=today - timedelta(days=2), status="measure")
    FairUseMeasure.objects.create(
        finding=finding,
        company_id=finding.company_id,
        line_id=finding.line_id,
        kind="speed_limit",
        starts_on=today,
        ends_on=today + timedelta(days=13),
        applied_at=timezone.now(),
    )
    make_finding(cast.rossi_other_line, rule="6")  # not the line user's: never shown to them
    return finding


def test_a_line_user_reads_the_finding_of_their_line_the_measure_and_how_to_withdraw(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    finding = speed_limited_finding(browser_cast)
    log_in_through_the_form(browser_cast.rossi_line_user.user.email)

    page.goto(live_server.url + "/fair-use/")

    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(finding.line.number)
    expect(rows.first).to_contain_text("161 min")
    expect(rows.first).to_contain_text("Misura presa")
    expect(rows.first.get_by_role("link", name="Come recedere")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    page.get_by_label("Regola").select_option("6")
    page.get_by_role("search", name="Cerca rilevazioni di uso corretto").get_by_role(
        "button", name="Cerca"
    ).click()
    expect(page).to_have_url(re.compile(r"/fair-use/\?.*rule=6"))
    expect(page.get_by_text("Nessuna rilevazione corrisponde a questi filtri.")).to_be_visible()

    page.goto(f"{live_server.url}/lines/{finding.line_id}/")
    expect(page.get_by_text("Oggi la velocità dati di questa linea è limitata.")).to_be_visible()
    page.get_by_role("link", name="Tutte le rilevazioni di uso corretto di questa linea").click()
    expect(page).to_have_url(re.compile(rf"/fair-use/\?line={finding.line_id}$"))


def test_a_traveller_estimates_a_trip_without_logging_in_and_is_told_what_is_wrong(
    page: Page, live_server: Any, transactional_db: None, serious_accessibility_violations: Any
) -> None:
    page.goto(live_server.url + "/abroad/calculator/")
    page.get_by_label("Paese").select_option("CH")
    page.get_by_label("Giorni").fill("0")
    page.get_by_role("button", name="Stima il costo").click()
    expect(page.get_by_text("Controlla i dati del viaggio:")).to_be_visible()

    page.get_by_label("Giorni").fill("4")
    page.get_by_label("Minuti di chiamate effettuate al giorno").fill("10")
    page.get_by_label("Minuti di chiamate ricevute al giorno").fill("0")
    page.get_by_label("SMS inviati al giorno").fill("0")
    page.get_by_label("MB di dati al giorno").fill("0")
    page.get_by_role("button", name="Stima il costo").click()

    # Zone 1: 40 minutes made at € 0.79 = € 31.60, with VAT at 22% € 38.55.
    expect(page.get_by_text("€ 31,60").first).to_be_visible()
    expect(page.get_by_text("€ 38,55")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    page.get_by_label("Paese").select_option("FR")
    page.get_by_role("button", name="Stima il costo").click()
    expect(page.get_by_text("Vale il roaming come a casa", exact=False)).to_be_visible()


def test_a_traveller_looks_up_the_rates_of_a_country_by_its_italian_name(
    page: Page, live_server: Any, transactional_db: None, serious_accessibility_violations: Any
) -> None:
    page.goto(live_server.url + "/abroad/rates/")
    search = page.get_by_role("search", name="Cerca un paese")
    search.get_by_label("Paese").fill("svizz")
    search.get_by_role("button", name="Cerca").click()

    expect(page).to_have_url(re.compile(r"/abroad/rates/\?q=svizz$"))
    cards = page.locator("section.card")
    # Switzerland alone: zone 1, its rates with and without VAT (€ 0.79 a minute, € 0.96 with VAT).
    expect(cards).to_have_count(1)
    expect(cards.first.get_by_role("heading")).to_contain_text("Zona 1")
    expect(cards.first.get_by_text("€ 0,79")).to_be_visible()
    expect(cards.first.get_by_text("€ 0,96")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    search.get_by_label("Paese").fill("atlantide")
    search.get_by_role("button", name="Cerca").click()
    expect(page.locator("#rates-none")).to_contain_text("Nessun paese corrisponde")


def test_a_line_user_switches_data_abroad_off_and_on_for_their_line(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    line = browser_cast.rossi_assigned_line
    log_in_through_the_form(browser_cast.rossi_line_user.user.email)
    page.goto(f"{live_server.url}/abroad/lines/{line.pk}/")

    status = page.locator("#line-roaming-status")
    expect(status).to_contain_text("Dati attivi")
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Disattiva i dati all'estero").click()
    expect(status).to_contain_text("Dati disattivati")
    # htmx swapped the block: keyboard focus stays on the switch, now saying the opposite.
    expect(page.locator("#data-toggle")).to_be_focused()
    expect(page.locator("#data-toggle")).to_have_text("Attiva i dati all'estero")

    page.reload()  # the change was saved, not only shown
    expect(status).to_contain_text("Dati disattivati")
    page.get_by_role("button", name="Attiva i dati all'estero").click()
    expect(status).to_contain_text("Dati attivi")
    # Each change is in the line's history, the latest first.
    history = page.locator("#line-roaming").get_by_role("table").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Dati all'estero")
