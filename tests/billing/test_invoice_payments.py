"""Paying an expired invoice online: who may start it, for how much, and a callback that pays it once."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from billing.credit_notes import credit_note_issue
from billing.invoice_payments import ALREADY_PAID, invoice_mark_paid_by_bank_transfer
from billing.models import Invoice, InvoiceStatus, Payment, PaymentEvent, PaymentPurpose, PaymentStatus
from billing.payments import PaymentOutcome, SandboxProvider
from selfcare.models import Notification
from tests.billing.helpers import post_callback
from tests.billing.invoices import make_invoice
from tests.cast import Cast
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def expired(cast: Cast) -> Invoice:
    return make_invoice(
        cast.rossi, status=InvoiceStatus.EXPIRED, lines=[(cast.rossi_assigned_line, "", "70.00")]
    )


def start(client: Client, invoice: Invoice) -> tuple[Payment, str]:
    """POST the invoice's "Pay now" button: the pending payment and the provider's page."""
    response = client.post(reverse("billing:invoice-pay", args=[invoice.pk]))
    assert response.status_code == 302, response.content.decode()
    payment = Payment.objects.filter(invoice=invoice).latest("created_at")
    return payment, response["Location"]


def invoice_status(invoice: Invoice) -> str:
    invoice.refresh_from_db()
    return invoice.status


# ---------------------------------------------------------------------------
# Starting a payment
# ---------------------------------------------------------------------------
def test_the_expired_invoice_page_offers_to_pay_the_amount_due(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    page = client_as(cast.rossi_admin).get(
        reverse("billing:invoice-detail", args=[expired.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    html = page.content.decode()
    assert 'id="invoice-pay-button"' in html
    assert "Pay € 177.77 now" in html
    assert reverse("billing:invoice-pay", args=[expired.pk]) in html


@pytest.mark.parametrize("status", [InvoiceStatus.ISSUED, InvoiceStatus.PAID])
def test_an_invoice_not_expired_has_no_pay_button(cast: Cast, client_as: Any, status: str) -> None:
    invoice = make_invoice(cast.rossi, status=status)

    page = client_as(cast.rossi_admin).get(reverse("billing:invoice-detail", args=[invoice.pk]))

    assert 'id="invoice-pay-button"' not in page.content.decode()


def test_a_credit_note_page_has_no_pay_button(cast: Cast, client_as: Any, expired: Invoice) -> None:
    note = credit_note_issue(invoice=expired, by=None, reason="Discount", amount=D("10.00"))
    Invoice.objects.filter(pk=note.pk).update(status=InvoiceStatus.EXPIRED)  # even if it were marked so

    page = client_as(cast.rossi_admin).get(
        reverse("billing:invoice-detail", args=[note.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    html = page.content.decode()
    assert 'id="invoice-pay-button"' not in html
    assert "A credit note asks for no payment" in html
    assert "Discount" in html


@pytest.mark.parametrize("role", ["rossi_admin", "rossi_legal_rep"])
def test_paying_an_expired_invoice_starts_a_payment_of_its_amount_and_opens_the_provider_page(
    cast: Cast, client_as: Any, expired: Invoice, role: str
) -> None:
    membership = getattr(cast, role)

    payment, page = start(client_as(membership), expired)

    assert page.startswith(f"http://testserver/payments/sandbox/{payment.reference}/?session=")
    assert (payment.purpose, payment.status, payment.amount) == (
        PaymentPurpose.INVOICE,
        PaymentStatus.PENDING,
        D("177.77"),
    )
    assert (payment.company_id, payment.created_by_id) == (cast.rossi.pk, membership.user_id)
    assert invoice_status(expired) == InvoiceStatus.EXPIRED


def test_under_split_payment_the_amount_is_the_total_less_the_vat(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    Invoice.objects.filter(pk=expired.pk).update(split_payment=True)

    payment, _page = start(client_as(cast.rossi_admin), expired)

    assert payment.amount == D("162.37")


def test_a_partial_credit_note_lowers_what_is_paid(cast: Cast, client_as: Any, expired: Invoice) -> None:
    credit_note_issue(invoice=expired, by=None, reason="Discount", amount=D("10.00"))

    payment, _page = start(client_as(cast.rossi_admin), expired)

    assert payment.amount == D("165.57")


@pytest.mark.parametrize(
    ("status", "message"),
    [(InvoiceStatus.ISSUED, "not expired yet"), (InvoiceStatus.PAID, "already paid")],
)
def test_an_invoice_not_expired_or_already_paid_is_refused_with_the_reason(
    cast: Cast, client_as: Any, status: str, message: str
) -> None:
    invoice = make_invoice(cast.rossi, status=status)
    client = client_as(cast.rossi_admin)

    response = client.post(
        reverse("billing:invoice-pay", args=[invoice.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert message in response.content.decode()
    assert not Payment.objects.exists()


def test_another_companys_invoice_is_404_and_starts_nothing(cast: Cast, client_as: Any) -> None:
    bianchi = make_invoice(cast.bianchi, status=InvoiceStatus.EXPIRED)

    response = client_as(cast.rossi_admin).post(reverse("billing:invoice-pay", args=[bianchi.pk]))

    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_a_line_user_cannot_pay_the_companys_invoice(cast: Cast, client_as: Any, expired: Invoice) -> None:
    response = client_as(cast.rossi_line_user).post(reverse("billing:invoice-pay", args=[expired.pk]))

    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_the_pay_button_takes_only_post(cast: Cast, client_as: Any, expired: Invoice) -> None:
    assert (
        client_as(cast.rossi_admin).get(reverse("billing:invoice-pay", args=[expired.pk])).status_code == 405
    )


# ---------------------------------------------------------------------------
# The callback
# ---------------------------------------------------------------------------
def test_a_paid_callback_pays_the_invoice_gives_a_receipt_and_tells_the_billing_managers(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    client = client_as(cast.rossi_admin)
    payment, _page = start(client, expired)

    response = post_callback(Client(), payment)

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.receipt_number
    assert invoice_status(expired) == InvoiceStatus.PAID
    receipt = reverse("billing:payment-receipt", args=[payment.reference])
    told = Notification.objects.filter(event="invoice_paid", channel="email")
    assert {n.user.email for n in told if n.user} == {"anna@rossi.example", "marco@rossi.example"}
    assert all(n.link == receipt for n in told)
    assert expired.number in told[0].body
    assert LogEntry.objects.filter(
        additional_data__event="invoice_paid_online", object_pk=str(expired.pk)
    ).exists()
    page = client.get(receipt, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Payment of the invoice {expired.number}" in page
    assert "€ 177.77" in page
    assert "A recharge is a prepayment" not in page
    pdf = client.get(receipt + "?format=pdf")
    assert pdf.content.startswith(b"%PDF")


def test_the_payment_page_says_the_invoice_is_paid(cast: Cast, client_as: Any, expired: Invoice) -> None:
    client = client_as(cast.rossi_admin)
    payment, _page = start(client, expired)
    post_callback(client, payment)

    page = client.get(reverse("billing:payment-detail", args=[payment.reference]), HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert f"the invoice {expired.number} is paid" in html
    assert 'id="receipt-link"' in html


def test_the_same_callback_twice_pays_once(cast: Cast, client_as: Any, expired: Invoice) -> None:
    payment, _page = start(client_as(cast.rossi_admin), expired)
    body = SandboxProvider().callback_body(payment=payment, outcome=PaymentOutcome.PAID)

    answers = [post_callback(Client(), payment, body=body).status_code for _ in range(2)]

    assert answers == [200, 200]
    assert PaymentEvent.objects.filter(payment=payment).count() == 1
    assert invoice_status(expired) == InvoiceStatus.PAID
    assert (
        Notification.objects.filter(event="invoice_paid", channel="email").count() == 2
    )  # two managers, once


def test_two_callbacks_with_different_event_ids_pay_once(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    payment, _page = start(client_as(cast.rossi_admin), expired)

    answers = [post_callback(Client(), payment).status_code for _ in range(2)]

    assert answers == [200, 200]
    assert PaymentEvent.objects.filter(payment=payment).count() == 2
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert Payment.objects.filter(receipt_number__isnull=False).count() == 1
    assert Notification.objects.filter(event="invoice_paid", channel="email").count() == 2


def test_two_payments_of_one_invoice_both_paid_the_second_is_recorded_to_refund(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    client = client_as(cast.rossi_admin)
    first, _ = start(client, expired)
    second, _ = start(client, expired)

    answers = [post_callback(Client(), payment).status_code for payment in (first, second)]

    assert answers == [200, 200]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (PaymentStatus.PAID, PaymentStatus.FAILED)
    assert second.failure_reason == ALREADY_PAID
    assert second.receipt_number is None
    assert second.provider_reference  # staff refund it through the provider
    assert invoice_status(expired) == InvoiceStatus.PAID
    assert LogEntry.objects.filter(
        additional_data__event="invoice_payment_refund_due", object_pk=str(second.pk)
    ).exists()
    page = client.get(reverse("billing:payment-detail", args=[second.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert "will be refunded to your card" in page.content.decode()


def test_a_payment_arriving_after_a_bank_transfer_was_recorded_is_recorded_to_refund(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    payment, _ = start(client_as(cast.rossi_admin), expired)
    staff = UserFactory.create(email="billing@operatore.example.it", is_staff=True)
    assert invoice_mark_paid_by_bank_transfer(invoice=expired, by=staff)

    assert post_callback(Client(), payment).status_code == 200

    payment.refresh_from_db()
    assert (payment.status, payment.failure_reason) == (PaymentStatus.FAILED, ALREADY_PAID)
    assert not Notification.objects.filter(event="invoice_paid").exists()


def test_a_failed_payment_leaves_the_invoice_expired_and_says_why(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    client = client_as(cast.rossi_admin)
    payment, _page = start(client, expired)

    post_callback(Client(), payment, outcome=PaymentOutcome.FAILED, failure_reason="card_declined")

    assert invoice_status(expired) == InvoiceStatus.EXPIRED
    page = client.get(reverse("billing:payment-detail", args=[payment.reference]), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "Your bank declined the card. Nothing has been charged" in html
    assert f"The invoice {expired.number} is still to be paid." in html
    assert reverse("billing:invoice-detail", args=[expired.pk]) in html
    # And it can be paid again.
    again, _ = start(client, expired)
    assert again.pk != payment.pk


def test_the_sandbox_page_pays_the_invoice_and_returns_to_the_payment_page(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    client = client_as(cast.rossi_admin)
    payment, page = start(client, expired)

    response = client.post(page, {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"})

    assert response["Location"] == f"http://testserver/payments/{payment.reference}/"
    assert invoice_status(expired) == InvoiceStatus.PAID


def test_a_tampered_callback_is_refused_and_the_invoice_stays_expired(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    payment, _ = start(client_as(cast.rossi_admin), expired)
    provider = SandboxProvider()
    body = provider.callback_body(payment=payment, outcome=PaymentOutcome.FAILED)
    signature = provider.sign(body=body)
    tampered = body.replace(b'"payment.failed"', b'"payment.paid"')

    response = post_callback(Client(), payment, body=tampered, signature=signature)

    assert response.status_code == 400
    assert invoice_status(expired) == InvoiceStatus.EXPIRED
    assert not PaymentEvent.objects.exists()


def test_a_forged_signature_or_a_lower_amount_is_refused(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    payment, _ = start(client_as(cast.rossi_admin), expired)
    forger = SandboxProvider(secret="not-the-portals-key")
    forged = forger.callback_body(payment=payment, outcome=PaymentOutcome.PAID)
    cheaper = json.loads(SandboxProvider().callback_body(payment=payment, outcome=PaymentOutcome.PAID))
    cheaper["data"]["amount"] = "1.00"

    answers = [
        post_callback(Client(), payment, body=forged, signature=forger.sign(body=forged)).status_code,
        post_callback(Client(), payment, body=json.dumps(cheaper).encode()).status_code,
    ]

    assert answers == [400, 400]
    assert invoice_status(expired) == InvoiceStatus.EXPIRED


def test_a_replayed_old_callback_is_refused_and_the_invoice_stays_expired(
    cast: Cast, client_as: Any, expired: Invoice
) -> None:
    payment, _ = start(client_as(cast.rossi_admin), expired)

    response = post_callback(Client(), payment, timestamp=int(time.time()) - 6 * 60)

    assert response.status_code == 400
    assert invoice_status(expired) == InvoiceStatus.EXPIRED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
def test_the_api_starts_the_payment_and_answers_the_provider_page(
    cast: Cast, api_client_for: Any, expired: Invoice
) -> None:
    response = api_client_for(cast.rossi_admin).post(f"/api/v1/invoices/{expired.pk}/pay/")

    assert response.status_code == 201, response.content
    payment = Payment.objects.get(invoice=expired)
    assert response.json() == {
        "payment": str(payment.reference),
        "invoice": expired.pk,
        "amount": "177.77",
        "status": "pending",
        "payment_page": response.json()["payment_page"],
    }
    assert f"/payments/sandbox/{payment.reference}/?session=" in response.json()["payment_page"]


def test_the_api_refuses_an_invoice_not_expired_with_409(cast: Cast, api_client_for: Any) -> None:
    invoice = make_invoice(cast.rossi, status=InvoiceStatus.ISSUED)

    response = api_client_for(cast.rossi_admin).post(f"/api/v1/invoices/{invoice.pk}/pay/")

    assert response.status_code == 409
    assert not Payment.objects.exists()


@pytest.mark.parametrize("role", ["rossi_admin", "rossi_line_user"])
def test_the_api_answers_404_for_another_companys_invoice_and_to_a_line_user(
    cast: Cast, api_client_for: Any, expired: Invoice, role: str
) -> None:
    bianchi = make_invoice(cast.bianchi, status=InvoiceStatus.EXPIRED)
    target = expired if role == "rossi_line_user" else bianchi

    response = api_client_for(getattr(cast, role)).post(f"/api/v1/invoices/{target.pk}/pay/")

    assert response.status_code == 404
    assert not Payment.objects.exists()
