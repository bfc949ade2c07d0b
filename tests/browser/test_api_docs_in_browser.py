"""The API docs and the API tokens page in a real browser, under the portal's CSP."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from selfcare.middleware import SESSION_MEMBERSHIP_KEY
from tests.cast import make_cast

pytestmark = pytest.mark.django_db(transaction=True)


def collect_errors(page: Page) -> list[str]:
    """Console errors (a CSP refusal is one) and uncaught script errors of the page."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_the_api_docs_render_swagger_ui_under_the_csp_without_errors(page: Page, live_server: Any) -> None:
    errors = collect_errors(page)

    response = page.goto(live_server.url + "/api/docs/")

    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Business customer area API")
    lines_list = page.locator(".opblock-summary-path", has_text="/api/v1/lines/").first
    expect(lines_list).to_be_visible()
    # Opening an operation and the authorisation dialog renders more of the UI.
    lines_list.click()
    expect(page.get_by_text("The pagination cursor value.").first).to_be_visible()
    page.get_by_role("button", name="Authorize").first.click()
    expect(page.get_by_text("tokenAuth").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    # The page's own style rules carry the nonce: they applied.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 250, 250)"

    assert errors == []


def test_the_api_tokens_page_creates_a_token_and_has_no_serious_accessibility_violation(
    page: Page, live_server: Any, serious_accessibility_violations: Any
) -> None:
    cast = make_cast()
    client = Client()
    client.force_login(cast.rossi_line_user.user)
    session = client.session
    session[SESSION_MEMBERSHIP_KEY] = cast.rossi_line_user.pk
    session.save()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key or "",
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )
    errors = collect_errors(page)

    page.goto(live_server.url + "/settings/api-tokens/")
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    page.get_by_label("Name").fill("Fleet app")
    page.get_by_role("button", name="Create token").click()

    key = page.get_by_label("Key")
    expect(key).to_have_attribute("readonly", "")
    assert len(key.input_value()) >= 40
    expect(page.get_by_role("row", name="Fleet app")).to_be_visible()
    assert serious_accessibility_violations(page) == []
    assert [e for e in errors if "Content Security Policy" in e] == []
