"""Browser tests: Playwright on the system Chromium against Django's live server."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.conftest import totp_code
from tests.factories import DEFAULT_PASSWORD

SERIOUS = {"serious", "critical"}


@pytest.fixture(autouse=True)
def _browser_marker(request: pytest.FixtureRequest) -> None:
    request.node.add_marker(pytest.mark.browser)


@pytest.fixture
def serious_accessibility_violations() -> Any:
    """axe-core's serious and critical WCAG 2.1 AA violations on the current page."""

    def check(page: Page) -> list[dict[str, Any]]:
        results = Axe().run(
            page,
            options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}},
        )
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in results.response["violations"]
            if v["impact"] in SERIOUS
        ]

    return check


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A customer in Italy: the browser asks for Italian, as most of them do."""
    return {**browser_context_args, "locale": "it-IT", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def log_in_through_the_form(page: Page, live_server: Any, fresh_cache: None) -> Any:
    """`log_in_through_the_form(email, totp_secret=…)`: the real login form, then the second factor if given.

    Fields and buttons are found by id, so the login works in either language.
    """

    def log_in(email: str, *, password: str = DEFAULT_PASSWORD, totp_secret: str | None = None) -> None:
        page.goto(live_server.url + "/accounts/login/")
        page.locator("#id_login").fill(email)
        page.locator("#id_password").fill(password)
        page.locator("#login-form button[type=submit]").click()
        if totp_secret is not None:
            page.locator("#id_code").fill(totp_code(totp_secret))
            page.locator("#mfa-authenticate-form button[type=submit]").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url and "/2fa/authenticate/" not in url)

    return log_in
