"""Help and contacts in a real browser, as a visitor who is not logged in."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_visitor_searches_apn_from_the_header_and_reads_the_settings(page: Page, live_server: Any) -> None:
    page.goto(live_server.url + "/help/")

    # Found by id: the box is the same in both languages.
    page.locator("#header-help-q").fill("APN")
    page.locator("#header-help-q").press("Enter")

    expect(page).to_have_url(live_server.url + "/help/search/?q=APN")
    page.get_by_role("link", name="APN internet.it: configurare internet sullo smartphone").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "APN internet.it: configurare internet sullo smartphone"
    )
    expect(page.locator("#main")).to_contain_text("APN: internet.it")


def test_a_visitor_reaches_help_from_the_login_page(page: Page, live_server: Any) -> None:
    page.context.add_cookies([{"name": "selfcare_language", "value": "en", "url": live_server.url}])
    page.goto(live_server.url + "/accounts/login/")

    page.locator(".portal-topbar").get_by_role("link", name="Help", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Help and contacts")
    expect(page.get_by_role("link", name="1928").first).to_be_visible()


@pytest.mark.parametrize("language", ["it", "en"])
@pytest.mark.parametrize("path", ["/help/", "/help/apn-internet/", "/help/search/?q=segreteria"])
def test_the_help_pages_have_no_serious_accessibility_violation(
    page: Page, live_server: Any, serious_accessibility_violations: Any, language: str, path: str
) -> None:
    page.context.add_cookies([{"name": "selfcare_language", "value": language, "url": live_server.url}])
    page.goto(live_server.url + path)
    expect(page.locator("html")).to_have_attribute("lang", language)

    assert serious_accessibility_violations(page) == []
