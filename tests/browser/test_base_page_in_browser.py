"""The base page in a real browser, after a real login: two languages, keyboard, accessibility."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.cast import Cast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def logged_in(cast: Cast, log_in_through_the_form: Any) -> None:
    """Every page of the portal needs a login: Rossi's legal representative logs in, with her second factor."""
    user: Any = cast.rossi_legal_rep.user
    log_in_through_the_form(user.email, totp_secret=user.totp_secret)


def test_the_base_page_switches_between_italian_and_english(
    page: Page, live_server: Any, logged_in: None
) -> None:
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.get_by_role("heading", level=1)).to_have_text("Panoramica")

    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_role("link", name="Invoices and usage").first).to_be_visible()

    page.get_by_role("button", name="Italiano").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Panoramica")


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_base_page_has_no_serious_accessibility_violation(
    page: Page, live_server: Any, serious_accessibility_violations: Any, language: str, logged_in: None
) -> None:
    page.context.add_cookies([{"name": "selfcare_language", "value": language, "url": live_server.url}])
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", language)

    assert serious_accessibility_violations(page) == []


def test_the_skip_link_takes_the_keyboard_to_the_content(
    page: Page, live_server: Any, logged_in: None
) -> None:
    page.goto(live_server.url + "/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Vai al contenuto principale")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#main")).to_be_focused()


def test_the_page_raises_no_content_security_policy_error(
    page: Page, live_server: Any, logged_in: None
) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(live_server.url + "/")
    page.wait_for_load_state("networkidle")

    assert [e for e in errors if "Content Security Policy" in e] == []
