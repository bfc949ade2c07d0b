"""A legal representative manages the company's users in the browser, end to end."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from selfcare.models import Membership, Notification, Role
from tests.cast import Cast, make_cast

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "Una-password-nuova-42"


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    return make_cast()


def test_a_legal_rep_switches_company_invites_a_line_user_who_then_sees_only_their_line(
    page: Page, live_server: Any, browser_cast: Cast, log_in_through_the_form: Any
) -> None:
    cast = browser_cast
    legal_rep = cast.rossi_legal_rep.user
    # A consultant's second company, to switch between.
    Membership.objects.create(user=legal_rep, company=cast.bianchi, role=Role.LINE_USER)
    log_in_through_the_form(legal_rep.email, totp_secret=legal_rep.totp_secret)  # type: ignore[attr-defined]

    def switch_to(company_name: str) -> None:
        page.locator("#company-switcher").click()
        menu = page.locator("[aria-labelledby=company-switcher]")
        menu.get_by_role("button", name=re.compile(re.escape(company_name))).click()
        expect(page.locator("#company-switcher")).to_contain_text(company_name)

    switch_to(cast.rossi.name)
    switch_to(cast.bianchi.name)
    switch_to(cast.rossi.name)

    page.goto(live_server.url + "/settings/users/invite/")
    page.locator("#id_email").fill("nuova@rossi.example")
    page.locator("#id_name").fill("Nuova Collega")
    page.locator("#id_role").select_option("line_user")
    page.get_by_label(re.compile(re.escape(cast.rossi_other_line.number))).check()
    page.locator("#main form button[type=submit]").click()

    expect(page.locator(".alert-success")).to_contain_text("nuova@rossi.example")
    expect(page.get_by_role("cell", name="nuova@rossi.example", exact=True)).to_be_visible()

    invitation = Notification.objects.get(user__email="nuova@rossi.example", channel="email")
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", invitation.body)
    assert link is not None
    page.context.clear_cookies()
    # The e-mail links to SITE_URL; the live server listens elsewhere.
    page.goto(live_server.url + "/accounts/" + link.group(0).split("/accounts/", 1)[1])
    page.locator("#id_password1").fill(NEW_PASSWORD)
    page.locator("#id_password2").fill(NEW_PASSWORD)
    page.locator("#main form button[type=submit]").click()

    log_in_through_the_form("nuova@rossi.example", password=NEW_PASSWORD)
    page.goto(live_server.url + "/lines/")

    expect(page.get_by_role("rowheader", name=cast.rossi_other_line.number)).to_be_visible()
    expect(page.get_by_role("rowheader")).to_have_count(1)


def test_an_admin_is_never_offered_the_legal_rep_role(
    page: Page, live_server: Any, browser_cast: Cast, log_in_through_the_form: Any
) -> None:
    admin = browser_cast.rossi_admin.user
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]

    page.goto(live_server.url + "/settings/users/invite/")

    options = page.locator("#id_role option").evaluate_all("options => options.map(o => o.value)")
    assert options == ["line_user", "admin"]
