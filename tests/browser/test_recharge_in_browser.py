"""A line user recharges a prepaid line through the sandbox's hosted payment page, in the browser."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from billing.models import Payment, PaymentStatus
from selfcare.models import Line
from tests.billing.helpers import make_prepaid
from tests.cast import Cast, make_cast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    return make_cast()


@pytest.fixture
def low_line(browser_cast: Cast) -> Line:
    """The line user's prepaid line, below its low-credit threshold."""
    return make_prepaid(browser_cast.rossi_assigned_line, balance="3.00", threshold="5.00")


def recharge_on_the_sandbox(page: Page, live_server: Any, line: Line, *, card: str) -> None:
    page.goto(f"{live_server.url}/lines/{line.pk}/")
    expect(page.locator("#low-credit-alert")).to_be_visible()
    page.locator("#recharge-link").click()
    page.locator("#id_amount").fill("20")
    page.locator("#recharge-submit").click()
    # The provider's hosted page (the sandbox's).
    page.wait_for_url(re.compile(r"/payments/sandbox/"))
    expect(page.locator("#sandbox-amount")).to_contain_text("20")
    page.locator("#id_card_number").fill(card)
    page.locator("#id_expiry").fill("12/30")
    page.locator("#id_cvc").fill("123")
    page.locator("#sandbox-pay").click()
    page.wait_for_url(re.compile(r"/payments/[0-9a-f-]{36}/$"))


def test_a_line_user_recharges_with_the_test_card_sees_the_balance_and_the_receipt_and_the_alert_is_gone(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    low_line: Line,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    log_in_through_the_form(browser_cast.rossi_line_user.user.email)

    recharge_on_the_sandbox(page, live_server, low_line, card="4242 4242 4242 4242")

    expect(page.locator("#payment-outcome .alert-success")).to_contain_text("23,00")
    assert serious_accessibility_violations(page) == []
    page.locator("#receipt-link").click()
    payment = Payment.objects.get(line=low_line)
    expect(page.locator("#receipt-number")).to_have_text(payment.receipt_number or "")
    assert serious_accessibility_violations(page) == []
    page.goto(f"{live_server.url}/lines/{low_line.pk}/")
    expect(page.locator("#credit-balance")).to_contain_text("23,00")
    expect(page.locator("#low-credit-alert")).to_have_count(0)
    expect(page.locator("#credit-movements")).to_contain_text(payment.receipt_number or "")


def test_a_declined_card_says_so_and_leaves_the_balance(
    page: Page, live_server: Any, browser_cast: Cast, low_line: Line, log_in_through_the_form: Any
) -> None:
    log_in_through_the_form(browser_cast.rossi_line_user.user.email)

    recharge_on_the_sandbox(page, live_server, low_line, card="4000 0000 0000 0002")

    expect(page.locator("#payment-outcome .alert-danger")).to_be_visible()
    assert Payment.objects.get(line=low_line).status == PaymentStatus.FAILED
    low_line.refresh_from_db()
    assert low_line.credit_balance == Decimal("3.00")
    page.goto(f"{live_server.url}/lines/{low_line.pk}/")
    expect(page.locator("#credit-balance")).to_contain_text("3,00")
    expect(page.locator("#low-credit-alert")).to_be_visible()
