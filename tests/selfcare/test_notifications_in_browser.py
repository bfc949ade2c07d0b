"""The inbox in a real browser: htmx marks messages read under the CSP, and the page is accessible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import Page, expect

from selfcare.middleware import SESSION_MEMBERSHIP_KEY
from selfcare.models import Membership
from tests.cast import make_cast
from tests.selfcare.test_notifications import inbox_messages, install_event_templates

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(autouse=True)
def event_templates(settings: Any, tmp_path: Path) -> Path:
    return install_event_templates(settings, tmp_path / "templates")


def open_session_in_english(page: Page, live_server: Any, membership: Membership) -> None:
    """The browser logged in as the membership (the login form has tests of its own)."""
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_MEMBERSHIP_KEY] = membership.pk
    session.save()
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": session.session_key or "",
                "url": live_server.url,
            },
            {"name": django_settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )


def serious_violations(page: Page) -> list[dict[str, Any]]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def test_a_user_marks_messages_read_in_place_and_the_header_count_follows(
    page: Page, live_server: Any
) -> None:
    cast = make_cast()
    older, newer = inbox_messages(cast.rossi_line_user, 2)
    open_session_in_english(page, live_server, cast.rossi_line_user)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(live_server.url + "/inbox/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    expect(page.locator("#inbox-badge .badge")).to_have_text("2 unread messages")
    assert serious_violations(page) == []

    page.locator(f"#notification-{newer.pk}").get_by_role("button", name="Mark as read").click()

    expect(page.locator(f"#notification-{newer.pk} button")).to_have_count(0)
    expect(page.locator("#inbox-badge .badge")).to_have_text("1 unread message")
    expect(page.locator("#inbox-summary")).to_have_text("1 unread message")
    expect(page.locator(f"#notification-{older.pk}.notification-unread")).to_have_count(1)

    page.get_by_role("button", name="Mark all as read").click()

    expect(page.locator(".notification-unread")).to_have_count(0)
    expect(page.locator("#inbox-badge .badge")).to_have_count(0)
    expect(page.locator("#inbox-summary")).to_have_text("You have read all your messages.")
    assert page.url == live_server.url + "/inbox/"
    assert serious_violations(page) == []
    assert errors == []
