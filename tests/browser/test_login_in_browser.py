"""Logging in through the real forms in a real browser, with the real second factor."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from selfcare.models import Role
from tests.cast import Cast
from tests.conftest import totp_code
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory, give_totp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_cache")]


def wrong_code_for(secret: str) -> str:
    return f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"


def submit_password(page: Page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("#login-form button[type=submit]").click()


def submit_code(page: Page, code: str) -> None:
    page.locator("#id_code").fill(code)
    page.locator("#mfa-authenticate-form button[type=submit]").click()


def without_transitions(page: Page) -> None:
    """Bootstrap animates button colours; axe must not measure contrast halfway through one."""
    page.emulate_media(reduced_motion="reduce")


def content_security_policy_errors(page: Page) -> list[str]:
    """Collects, from now on, what the browser reports about the Content-Security-Policy."""
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return errors


def test_the_rossi_legal_rep_logs_in_with_her_second_factor_and_sees_the_dashboard(
    page: Page, live_server: Any, cast: Cast
) -> None:
    user: Any = cast.rossi_legal_rep.user
    csp_errors = content_security_policy_errors(page)
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    submit_password(page, user.email)

    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    submit_code(page, totp_code(user.totp_secret))

    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Panoramica")
    expect(page.locator("#user-menu-button")).to_contain_text("Anna")
    assert csp_errors == []


def test_a_wrong_totp_code_is_refused_and_does_not_log_in(page: Page, live_server: Any, cast: Cast) -> None:
    user: Any = cast.rossi_legal_rep.user
    page.context.add_cookies([{"name": "selfcare_language", "value": "en", "url": live_server.url}])
    page.goto(live_server.url + "/accounts/login/")
    submit_password(page, user.email)

    submit_code(page, wrong_code_for(user.totp_secret))

    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    expect(page.locator("#id_code_error")).to_contain_text("The code is not correct.")
    expect(page.locator("#id_code")).to_have_attribute("aria-invalid", "true")
    # Still not logged in: the portal sends her back to finish the second factor.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))


def test_a_legal_rep_without_totp_is_made_to_set_it_up_at_first_login(
    page: Page, live_server: Any, cast: Cast
) -> None:
    newcomer = MembershipFactory.create(
        company=cast.rossi, role=Role.LEGAL_REP, two_factor=False, user__email="nuova@rossi.example"
    )
    csp_errors = content_security_policy_errors(page)
    page.goto(live_server.url + "/accounts/login/")

    submit_password(page, newcomer.user.email)

    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    qr_code = page.locator("img[src^='data:image/svg+xml']")
    expect(qr_code).to_be_visible()
    assert qr_code.evaluate("image => image.complete && image.naturalWidth > 0"), (
        "the CSP blocked the QR code"
    )
    secret = page.locator("#totp-secret").inner_text().strip()
    page.locator("#id_code").fill(totp_code(secret))
    page.locator("#totp-activate-form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.locator("main a.btn-primary").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Panoramica")
    assert csp_errors == []


def test_the_admin_login_asks_for_the_second_factor(page: Page, live_server: Any, db: None) -> None:
    staff: Any = UserFactory.create(email="operatore@operatore.example.it", is_staff=True, is_superuser=True)
    give_totp(staff)
    page.goto(live_server.url + "/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))

    submit_password(page, staff.email)

    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    submit_code(page, totp_code(staff.totp_secret))
    expect(page).to_have_url(live_server.url + "/admin/")
    expect(page.locator("#site-name")).to_be_visible()


def test_the_user_menu_leads_to_the_security_page_and_logs_out(
    page: Page, live_server: Any, cast: Cast, log_in_through_the_form: Any
) -> None:
    user: Any = cast.rossi_legal_rep.user
    log_in_through_the_form(user.email, totp_secret=user.totp_secret)

    page.locator("#user-menu-button").click()
    page.locator("#user-menu a[href='/accounts/2fa/']").click()
    expect(page).to_have_url(live_server.url + "/accounts/2fa/")
    expect(page.locator("#security-totp")).to_be_visible()

    page.locator("#user-menu-button").click()
    page.locator("#user-menu form button").click()
    expect(page).to_have_url(live_server.url + "/accounts/login/")
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_login_and_two_factor_pages_have_no_serious_accessibility_violation(
    page: Page, live_server: Any, cast: Cast, serious_accessibility_violations: Any, language: str
) -> None:
    user: Any = cast.rossi_legal_rep.user
    without_transitions(page)
    page.context.add_cookies([{"name": "selfcare_language", "value": language, "url": live_server.url}])
    page.goto(live_server.url + "/accounts/login/")
    assert serious_accessibility_violations(page) == []

    submit_password(page, user.email, "sbagliata-123")
    expect(page.get_by_role("alert")).to_be_visible()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []

    submit_password(page, user.email)
    submit_code(page, wrong_code_for(user.totp_secret))
    expect(page.locator("#id_code_error")).to_be_visible()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []

    page.goto(live_server.url + "/accounts/password/reset/")
    assert serious_accessibility_violations(page) == []


def test_the_enrolment_and_security_pages_have_no_serious_accessibility_violation(
    page: Page, live_server: Any, cast: Cast, serious_accessibility_violations: Any
) -> None:
    newcomer = MembershipFactory.create(company=cast.rossi, role=Role.ADMIN, two_factor=False)
    without_transitions(page)
    page.goto(live_server.url + "/accounts/login/")
    submit_password(page, newcomer.user.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []

    page.locator("#id_code").fill(totp_code(page.locator("#totp-secret").inner_text().strip()))
    page.locator("#totp-activate-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []

    page.goto(live_server.url + "/accounts/2fa/")
    assert serious_accessibility_violations(page) == []
