"""An administrator finds an expired invoice with the list's filter and pays it on the sandbox's hosted page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from billing.models import Invoice, InvoiceStatus, Payment, PaymentStatus
from tests.billing.invoices import make_invoice
from tests.cast import Cast, make_cast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    return make_cast()


@pytest.fixture
def expired(browser_cast: Cast) -> Invoice:
    make_invoice(browser_cast.rossi, month=2, status=InvoiceStatus.PAID)
    return make_invoice(
        browser_cast.rossi,
        month=1,
        status=InvoiceStatus.EXPIRED,
        lines=[(browser_cast.rossi_other_line, "", "70.00")],
    )


def test_an_admin_finds_the_expired_invoice_pays_it_by_card_and_sees_it_paid(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    expired: Invoice,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    admin = browser_cast.rossi_admin.user
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]

    page.goto(f"{live_server.url}/invoices/")
    page.locator("#id_status").select_option("expired")
    page.locator("#invoice-filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"status=expired"))
    expect(page.locator("#invoice-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name=expired.number).click()

    expect(page.locator("#invoice-payment")).to_contain_text("177,77")
    assert serious_accessibility_violations(page) == []
    page.locator("#invoice-pay-button").click()

    page.wait_for_url(re.compile(r"/payments/sandbox/"))
    expect(page.locator("#sandbox-amount")).to_contain_text("177")
    page.locator("#id_card_number").fill("4242 4242 4242 4242")
    page.locator("#id_expiry").fill("12/30")
    page.locator("#id_cvc").fill("123")
    page.locator("#sandbox-pay").click()

    page.wait_for_url(re.compile(r"/payments/[0-9a-f-]{36}/$"))
    expect(page.locator("#payment-outcome .alert-success")).to_contain_text(expired.number)
    assert serious_accessibility_violations(page) == []
    payment = Payment.objects.get(invoice=expired)
    assert payment.status == PaymentStatus.PAID
    page.locator("#receipt-link").click()
    expect(page.locator("#receipt-number")).to_have_text(payment.receipt_number or "")

    page.goto(f"{live_server.url}/invoices/{expired.pk}/")
    expect(page.locator("#invoice-header .invoice-status-paid")).to_be_visible()
    expect(page.locator("#invoice-pay-button")).to_have_count(0)


def test_a_declined_card_leaves_the_invoice_expired_and_offers_to_try_again(
    page: Page, live_server: Any, browser_cast: Cast, expired: Invoice, log_in_through_the_form: Any
) -> None:
    admin = browser_cast.rossi_admin.user
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]

    page.goto(f"{live_server.url}/invoices/{expired.pk}/")
    page.locator("#invoice-pay-button").click()
    page.wait_for_url(re.compile(r"/payments/sandbox/"))
    page.locator("#id_card_number").fill("4000 0000 0000 0002")
    page.locator("#id_expiry").fill("12/30")
    page.locator("#id_cvc").fill("123")
    page.locator("#sandbox-pay").click()

    page.wait_for_url(re.compile(r"/payments/[0-9a-f-]{36}/$"))
    expect(page.locator("#payment-outcome .alert-danger")).to_be_visible()
    page.locator("#try-again-link").click()
    expect(page.locator("#invoice-pay-button")).to_be_visible()
    expired.refresh_from_db()
    assert expired.status == InvoiceStatus.EXPIRED
