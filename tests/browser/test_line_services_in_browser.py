"""A line user lifts premium services barring with the code the line received, and switches VoLTE."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from selfcare.models import Line, LineServiceChange, Notification
from tests.cast import Cast, make_cast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    return make_cast()


def code_sent_to(line: Line) -> str:
    """What the phone shows: the newest SMS to the line, from the outbox."""
    sms_row = Notification.objects.filter(event="vas_unlock_code", channel="sms", address=line.number).latest(
        "created_at"
    )
    match = re.search(r"\b(\d{5,})\b", sms_row.body)
    assert match is not None
    return match.group(1)


def test_a_line_user_lifts_the_barring_with_the_code_and_sees_it_in_the_history(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    line = browser_cast.rossi_assigned_line
    log_in_through_the_form(browser_cast.rossi_line_user.user.email)
    page.goto(f"{live_server.url}/lines/{line.pk}/")
    expect(page.locator("#line-services-history-title")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    page.locator("#vas-send-code").click()
    page.wait_for_url(re.compile(rf"/lines/{line.pk}/services/vas/$"))
    expect(page.locator(".alert-success")).to_contain_text(line.number)
    code = code_sent_to(line)
    assert serious_accessibility_violations(page) == []

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.locator("#id_code").fill(wrong)
    page.locator("#vas-lift").click()
    expect(page.locator("#id_code")).to_have_attribute("aria-invalid", "true")
    line.refresh_from_db()
    assert line.vas_barred is True

    page.locator("#id_code").fill(code)
    page.locator("#vas-lift").click()
    page.wait_for_url(re.compile(rf"/lines/{line.pk}/"))
    expect(page.locator(".alert-success")).to_contain_text(line.number)
    expect(page.locator("#vas-restore")).to_be_visible()
    history = page.locator("#line-services table tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text(browser_cast.rossi_line_user.user.name)
    line.refresh_from_db()
    assert line.vas_barred is False


def test_a_line_user_switches_volte_off_and_on_without_leaving_the_page(
    page: Page, live_server: Any, browser_cast: Cast, log_in_through_the_form: Any
) -> None:
    line = browser_cast.rossi_assigned_line
    log_in_through_the_form(browser_cast.rossi_line_user.user.email)
    page.goto(f"{live_server.url}/lines/{line.pk}/")
    history = page.locator("#line-services table tbody tr")

    page.locator("#volte-toggle").click()
    expect(history).to_have_count(1)
    expect(page.locator("#line-services .alert-success")).to_contain_text(line.number)
    page.locator("#volte-toggle").click()
    expect(history).to_have_count(2)

    assert page.url.endswith(f"/lines/{line.pk}/")  # htmx swapped the block in place
    assert list(
        LineServiceChange.objects.filter(line=line).values_list("enabled_before", "enabled_after")
    ) == [(False, True), (True, False)]
