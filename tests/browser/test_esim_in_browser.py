"""SIM secrets and eSIM in the browser: the real password prompt, the QR code, the refusal after three views."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account import app_settings as account_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from selfcare.models import EsimProfile
from tests.cast import Cast, make_cast
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

# A valid EID (32 digits, mod 97 == 1), of no real device.
EID = "89049032000001000000000000000074"


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    cast = make_cast()
    cast.rossi_assigned_line.pin = "4821"
    cast.rossi_assigned_line.puk = "73019264"
    cast.rossi_assigned_line.save()
    return cast


def let_the_login_grow_old(time_machine: Any) -> None:
    """Past the re-authentication window: the login no longer counts as a recent password."""
    time_machine.move_to(timezone.now() + timedelta(seconds=account_settings.REAUTHENTICATION_TIMEOUT + 60))


def confirm_password(page: Page) -> None:
    expect(page.locator("#reauthenticate-form")).to_be_visible()
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("#reauthenticate-form button[type=submit]").click()


def test_a_line_user_reveals_the_puk_after_confirming_the_password_and_the_page_is_not_cached(
    page: Page, live_server: Any, browser_cast: Cast, log_in_through_the_form: Any, time_machine: Any
) -> None:
    line = browser_cast.rossi_assigned_line
    log_in_through_the_form(browser_cast.rossi_line_user.user.email)
    let_the_login_grow_old(time_machine)
    page.goto(f"{live_server.url}/lines/{line.pk}/")
    expect(page.locator("#sim-heading")).to_be_visible()
    expect(page.get_by_text("73019264")).to_have_count(0)

    page.locator("#show-sim-secrets").click()
    with page.expect_response(lambda r: r.url.endswith("/sim/secrets/") and r.status == 200) as shown:
        confirm_password(page)

    expect(page.locator("#sim-puk")).to_have_text("73019264")
    expect(page.locator("#sim-pin")).to_have_text("4821")
    assert "no-store" in shown.value.headers["cache-control"]


def test_an_admin_requests_an_esim_sees_its_qr_three_times_and_is_refused_the_fourth(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    time_machine: Any,
    serious_accessibility_violations: Any,
) -> None:
    admin = browser_cast.rossi_admin.user
    line = browser_cast.rossi_other_line
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]
    esim_page = f"{live_server.url}/lines/{line.pk}/esim/"

    page.goto(esim_page)
    page.locator("#id_eid").fill(EID[:31])
    page.locator("#main form button[type=submit]").click()
    expect(page.locator("#id_eid")).to_have_attribute("aria-invalid", "true")
    assert not EsimProfile.objects.exists()

    page.locator("#id_eid").fill(" ".join(re.findall(".{8}", EID)))
    page.locator("#main form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    let_the_login_grow_old(time_machine)
    page.locator("#show-esim-code").click()
    confirm_password(page)
    expect(page.locator("#esim-qr")).to_be_visible()
    assert page.locator("#esim-qr").get_attribute("src").startswith("data:image/svg+xml;base64,")  # type: ignore[union-attr]
    expect(page.locator("#esim-code")).to_have_text(
        re.compile(r"^LPA:1\$smdp\.operatore\.example\.it\$[A-Z0-9-]{23}$")
    )
    assert serious_accessibility_violations(page) == []

    page.goto(esim_page)
    page.locator("#show-esim-code").click()
    expect(page.locator("#esim-code")).to_be_visible()
    # A second tab, opened while one view was left: its button is stale by the time it is pressed.
    stale = page.context.new_page()
    stale.goto(esim_page)
    page.goto(esim_page)
    page.locator("#show-esim-code").click()
    expect(page.locator("#esim-code")).to_be_visible()

    with stale.expect_response(lambda r: "/code/" in r.url) as fourth:
        stale.locator("#show-esim-code").click()

    assert fourth.value.status == 409
    expect(stale.locator("#esim-refusal")).to_be_visible()
    expect(stale.locator("#esim-code")).to_have_count(0)
    page.goto(esim_page)
    expect(page.locator("#show-esim-code")).to_have_count(0)
    assert EsimProfile.objects.get().views == 3
