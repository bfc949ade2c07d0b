"""An administrator changes the company's payment method in the browser: to SEPA direct debit, and to a card."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from billing.models import PaymentMethod, PaymentMethodKind
from selfcare.models import Notification
from tests.cast import Cast, make_cast

pytestmark = pytest.mark.django_db(transaction=True)

IBAN = "IT60X0542811101000000123456"
MASKED_IBAN = "IT** **** **** 3456"
GERMAN_IBAN_ONE_DIGIT_SHORT = "DE8937040044053201300"


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    return make_cast()


def open_the_payment_method_page(
    page: Page, live_server: Any, cast: Cast, log_in_through_the_form: Any
) -> None:
    admin = cast.rossi_admin.user
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]
    page.goto(live_server.url + "/invoices/")
    page.locator("#payment-method-link").click()
    page.wait_for_url(re.compile(r"/invoices/payment-method/$"))


def test_an_admin_changes_the_payment_method_to_sepa_direct_debit(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    open_the_payment_method_page(page, live_server, browser_cast, log_in_through_the_form)
    # Bank transfer until the company chooses otherwise; only the chosen kind's fields show.
    expect(page.locator("#kind-bank_transfer")).to_be_checked()
    expect(page.locator("#panel-sepa_direct_debit")).to_be_hidden()
    assert serious_accessibility_violations(page) == []

    page.locator("#kind-sepa_direct_debit").check()
    expect(page.locator("#panel-sepa_direct_debit")).to_be_visible()
    expect(page.locator("#panel-card")).to_be_hidden()
    page.locator("#id_iban").fill(GERMAN_IBAN_ONE_DIGIT_SHORT)
    page.locator("#id_account_holder").fill("Rossi Impianti S.r.l.")
    page.locator("#id_holder_tax_id").fill("01234560017")
    page.locator("#id_mandate_reference").fill("RSS-2026/0001")
    page.locator("#id_mandate_signed_on").fill((timezone.localdate() - timedelta(days=5)).isoformat())
    page.locator("#payment-method-save").click()

    # Refused, with the reason next to the IBAN, and nothing changed.
    expect(page.locator("#id_iban-error")).to_contain_text("22")
    expect(page.locator("#id_iban")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#panel-sepa_direct_debit")).to_be_visible()
    assert not PaymentMethod.objects.exists()
    assert serious_accessibility_violations(page) == []

    page.locator("#id_iban").fill("IT60 X054 2811 1010 0000 0123 456")
    page.locator("#payment-method-save").click()

    expect(page.locator(".messages .alert-success")).to_be_visible()
    expect(page.locator("#current-iban")).to_have_text(MASKED_IBAN)
    assert IBAN not in page.content()
    assert serious_accessibility_violations(page) == []
    method = PaymentMethod.objects.current().get(company=browser_cast.rossi)
    assert (method.kind, method.iban, method.holder_tax_id) == (
        PaymentMethodKind.SEPA_DIRECT_DEBIT,
        IBAN,
        "01234560017",
    )
    assert Notification.objects.filter(
        event="payment_method_changed", channel="email", user=browser_cast.rossi_legal_rep.user
    ).exists()


def test_an_admin_registers_a_card_on_the_providers_page(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    open_the_payment_method_page(page, live_server, browser_cast, log_in_through_the_form)

    page.locator("#kind-card").check()
    expect(page.locator("#payment-method-save")).to_be_hidden()
    page.locator("#payment-method-card").click()
    # The provider's page (the sandbox's): the card is typed there, not on the portal.
    page.wait_for_url(re.compile(r"/payments/sandbox/card/"))
    assert serious_accessibility_violations(page) == []
    page.locator("#id_card_number").fill("4242 4242 4242 4242")
    page.locator("#id_expiry").fill(f"12/{(timezone.localdate().year + 2) % 100:02d}")
    page.locator("#id_cvc").fill("123")
    page.locator("#sandbox-card-register").click()

    page.wait_for_url(re.compile(r"/invoices/payment-method/$"))
    expect(page.locator(".messages .alert-success")).to_be_visible()
    expect(page.locator("#current-card")).to_contain_text("4242")
    method = PaymentMethod.objects.current().get(company=browser_cast.rossi)
    assert (method.kind, method.card_brand, method.card_last4) == (PaymentMethodKind.CARD, "Visa", "4242")
    assert method.card_token not in page.content()
