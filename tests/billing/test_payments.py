"""Payments through the provider: signed callbacks, idempotency, the sandbox's hosted page, outcome and receipt pages."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Payment, PaymentEvent, PaymentStatus
from billing.payments import (
    CallbackRejectedError,
    PaymentOutcome,
    SandboxProvider,
    payment_provider,
)
from selfcare.models import CreditMovement, Notification
from tests.billing.helpers import make_prepaid, pending_recharge, post_callback
from tests.cast import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(cast: Cast) -> Any:
    return make_prepaid(cast.rossi_assigned_line, balance="3.00", threshold="5.00")


def balance_of(line: Any) -> Decimal:
    line.refresh_from_db()
    return Decimal(line.credit_balance)


# ---------------------------------------------------------------------------
# The callback
# ---------------------------------------------------------------------------
def test_a_signed_paid_callback_credits_the_line_and_gives_a_receipt(
    cast: Cast, client: Client, line: Any
) -> None:
    payment = pending_recharge(line, amount="20.00", by=cast.rossi_line_user.user)

    response = post_callback(client, payment)

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.completed_at is not None
    assert re.fullmatch(r"RIC-\d{4}-000001", payment.receipt_number or "")
    assert balance_of(line) == Decimal("23.00")
    movement = CreditMovement.objects.get(payment_reference=str(payment.reference))
    assert movement.amount == Decimal("20.00")
    assert movement.balance_after == Decimal("23.00")
    assert Notification.objects.filter(
        event="recharge_done", user=cast.rossi_line_user.user, channel="email"
    ).exists()


def test_the_same_callback_twice_credits_once_and_answers_200_both_times(client: Client, line: Any) -> None:
    payment = pending_recharge(line)
    provider = SandboxProvider()
    body = provider.callback_body(payment=payment, outcome=PaymentOutcome.PAID)

    first = post_callback(client, payment, body=body)
    second = post_callback(client, payment, body=body)

    assert (first.status_code, second.status_code) == (200, 200)
    assert balance_of(line) == Decimal("23.00")
    assert CreditMovement.objects.filter(line=line).count() == 1
    assert PaymentEvent.objects.filter(payment=payment).count() == 1


def test_a_different_event_about_a_completed_payment_changes_nothing(client: Client, line: Any) -> None:
    payment = pending_recharge(line)
    post_callback(client, payment)

    response = post_callback(client, payment, outcome=PaymentOutcome.FAILED, failure_reason="card_declined")

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert balance_of(line) == Decimal("23.00")


def test_a_forged_signature_is_refused_with_400_and_nothing_changes(client: Client, line: Any) -> None:
    payment = pending_recharge(line)
    forger = SandboxProvider(secret="not-the-portals-key")
    body = forger.callback_body(payment=payment, outcome=PaymentOutcome.PAID)

    response = post_callback(client, payment, body=body, signature=forger.sign(body=body))

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert balance_of(line) == Decimal("3.00")
    assert not PaymentEvent.objects.exists()
    assert not CreditMovement.objects.exists()


def test_a_body_changed_after_signing_is_refused(client: Client, line: Any) -> None:
    payment = pending_recharge(line)
    provider = SandboxProvider()
    body = provider.callback_body(payment=payment, outcome=PaymentOutcome.FAILED)
    signature = provider.sign(body=body)
    tampered = body.replace(b'"payment.failed"', b'"payment.paid"')

    response = post_callback(client, payment, body=tampered, signature=signature)

    assert response.status_code == 400
    assert balance_of(line) == Decimal("3.00")


def test_a_callback_without_a_signature_is_refused(client: Client, line: Any) -> None:
    payment = pending_recharge(line)

    response = post_callback(client, payment, signature="")

    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()


def test_a_stale_callback_is_refused_even_with_a_good_signature(client: Client, line: Any) -> None:
    payment = pending_recharge(line)

    response = post_callback(client, payment, timestamp=int(time.time()) - 6 * 60)

    assert response.status_code == 400
    assert "stale" in response.json()["error"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert balance_of(line) == Decimal("3.00")


def test_a_callback_within_the_five_minutes_is_accepted(client: Client, line: Any) -> None:
    payment = pending_recharge(line)

    response = post_callback(client, payment, timestamp=int(time.time()) - 4 * 60)

    assert response.status_code == 200


def test_a_callback_for_an_unknown_payment_is_404_without_side_effects(client: Client, line: Any) -> None:
    payment = pending_recharge(line)
    body = SandboxProvider().callback_body(payment=payment, outcome=PaymentOutcome.PAID)
    payment.delete()

    response = post_callback(client, payment, body=body)

    assert response.status_code == 404
    assert not PaymentEvent.objects.exists()
    assert balance_of(line) == Decimal("3.00")


def test_a_callback_whose_amount_is_not_the_payments_is_refused(client: Client, line: Any) -> None:
    payment = pending_recharge(line, amount="20.00")
    event = json.loads(SandboxProvider().callback_body(payment=payment, outcome=PaymentOutcome.PAID))
    event["data"]["amount"] = "150.00"

    response = post_callback(client, payment, body=json.dumps(event).encode())

    assert response.status_code == 400
    assert balance_of(line) == Decimal("3.00")
    assert not PaymentEvent.objects.exists()


def test_a_callback_for_a_provider_that_is_not_configured_is_404(client: Client, line: Any) -> None:
    payment = pending_recharge(line)
    body = SandboxProvider().callback_body(payment=payment, outcome=PaymentOutcome.PAID)

    response = client.post(
        "/payments/callback/otherpay/",
        data=body,
        content_type="application/json",
        headers={SandboxProvider.SIGNATURE_HEADER: SandboxProvider().sign(body=body)},
    )

    assert response.status_code == 404
    assert balance_of(line) == Decimal("3.00")


def test_the_callback_needs_no_login_and_no_csrf_token(line: Any) -> None:
    payment = pending_recharge(line)

    response = post_callback(Client(enforce_csrf_checks=True), payment)

    assert response.status_code == 200


def test_the_callback_takes_only_post(client: Client) -> None:
    assert client.get(reverse("billing:payment-callback", kwargs={"provider": "sandbox"})).status_code == 405


def test_a_failed_payment_leaves_the_balance_unchanged_and_the_page_says_so(
    cast: Cast, client_as: Any, line: Any
) -> None:
    payment = pending_recharge(line, by=cast.rossi_line_user.user)
    client = client_as(cast.rossi_line_user)

    post_callback(client, payment, outcome=PaymentOutcome.FAILED, failure_reason="card_declined")

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.receipt_number is None
    assert balance_of(line) == Decimal("3.00")
    page = client.get(reverse("billing:payment-detail", args=[payment.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Your bank declined the card. Nothing has been charged" in page.content.decode()
    receipt = client.get(reverse("billing:payment-receipt", args=[payment.reference]))
    assert receipt.status_code == 404


def test_receipt_numbers_follow_each_other_and_never_repeat(client: Client, line: Any) -> None:
    payments = [pending_recharge(line, amount="10.00") for _ in range(3)]

    for payment in payments:
        post_callback(client, payment)

    numbers = [Payment.objects.get(pk=payment.pk).receipt_number or "" for payment in payments]
    assert len(set(numbers)) == 3
    assert [number[-6:] for number in numbers] == ["000001", "000002", "000003"]


def test_the_signature_check_refuses_a_replay_of_a_captured_callback_after_five_minutes(line: Any) -> None:
    provider = SandboxProvider()
    payment = pending_recharge(line)
    body = provider.callback_body(payment=payment, outcome=PaymentOutcome.PAID)
    signed_at = int(time.time())
    signature = provider.sign(body=body, timestamp=signed_at)

    assert provider.verify_signed(body=body, signature=signature, now=signed_at + 299).outcome == "paid"
    with pytest.raises(CallbackRejectedError):
        provider.verify_signed(body=body, signature=signature, now=signed_at + 301)


# ---------------------------------------------------------------------------
# The provider setting
# ---------------------------------------------------------------------------
class _OtherProvider(SandboxProvider):
    name = "otherpay"


def test_a_real_provider_plugs_in_by_dotted_path(settings: Any) -> None:
    settings.PAYMENT_PROVIDER = f"{__name__}._OtherProvider"

    assert payment_provider().name == "otherpay"


# ---------------------------------------------------------------------------
# The sandbox's hosted page
# ---------------------------------------------------------------------------
def start_recharge(client: Client, line: Any, amount: str = "20.00") -> tuple[Payment, str]:
    response = client.post(reverse("selfcare:line-recharge", args=[line.pk]), {"amount": amount})
    assert response.status_code == 302, response.content.decode()
    payment = Payment.objects.get(line=line, status=PaymentStatus.PENDING)
    return payment, response["Location"]


def test_paying_with_the_test_card_on_the_sandbox_page_credits_and_returns_to_the_payment_page(
    cast: Cast, client_as: Any, line: Any
) -> None:
    client = client_as(cast.rossi_line_user)
    payment, hosted_page = start_recharge(client, line)
    assert hosted_page.startswith(f"http://testserver/payments/sandbox/{payment.reference}/?session=")
    assert client.get(hosted_page).status_code == 200

    response = client.post(
        hosted_page,
        {"card_number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123", "action": "pay"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"http://testserver/payments/{payment.reference}/"
    assert balance_of(line) == Decimal("23.00")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    payment.refresh_from_db()
    assert "The credit now is € 23.00" in page
    assert payment.receipt_number in page
    assert PaymentEvent.objects.filter(payment=payment, outcome="paid").count() == 1


def test_the_declining_test_card_leaves_the_balance_and_says_why(
    cast: Cast, client_as: Any, line: Any
) -> None:
    client = client_as(cast.rossi_line_user)
    _payment, hosted_page = start_recharge(client, line)

    response = client.post(
        hosted_page, {"card_number": "4000000000000002", "expiry": "12/30", "cvc": "123", "action": "pay"}
    )

    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your bank declined the card" in page
    assert balance_of(line) == Decimal("3.00")


def test_the_decline_button_fails_the_payment(cast: Cast, client_as: Any, line: Any) -> None:
    client = client_as(cast.rossi_line_user)
    payment, hosted_page = start_recharge(client, line)

    client.post(hosted_page, {"action": "decline"})

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert balance_of(line) == Decimal("3.00")


def test_the_sandbox_takes_only_its_test_cards(cast: Cast, client_as: Any, line: Any) -> None:
    client = client_as(cast.rossi_line_user)
    payment, hosted_page = start_recharge(client, line)

    response = client.post(
        hosted_page,
        {"card_number": "5555555555554444", "expiry": "12/30", "cvc": "123", "action": "pay"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert "use a test card" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_tampered_return_address_falls_back_to_the_payment_page(
    cast: Cast, client_as: Any, line: Any
) -> None:
    client = client_as(cast.rossi_line_user)
    payment, _hosted_page = start_recharge(client, line)
    url = reverse("billing:sandbox-page", args=[payment.reference]) + "?session=forged"

    response = client.post(url, {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"})

    assert response["Location"] == f"/payments/{payment.reference}/"


def test_the_sandbox_page_does_not_exist_with_another_provider(
    cast: Cast, client_as: Any, line: Any, settings: Any
) -> None:
    payment = pending_recharge(line)
    settings.PAYMENT_PROVIDER = f"{__name__}._OtherProvider"

    response = client_as(cast.rossi_line_user).get(reverse("billing:sandbox-page", args=[payment.reference]))

    assert response.status_code == 404


def test_a_pending_payment_says_it_waits_for_the_provider(cast: Cast, client_as: Any, line: Any) -> None:
    payment = pending_recharge(line)

    page = client_as(cast.rossi_line_user).get(
        reverse("billing:payment-detail", args=[payment.reference]), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert "waiting for the payment provider's confirmation" in page.content.decode()


def test_the_receipt_shows_the_number_and_amount_and_downloads_as_pdf(
    cast: Cast, client_as: Any, line: Any
) -> None:
    payment = pending_recharge(line, amount="25.50")
    client = client_as(cast.rossi_line_user)
    post_callback(client, payment)
    payment.refresh_from_db()
    url = reverse("billing:payment-receipt", args=[payment.reference])

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    pdf = client.get(url + "?format=pdf")

    assert payment.receipt_number in page
    assert "€ 25.50" in page
    assert line.number in page
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


# ---------------------------------------------------------------------------
# Who sees which payment
# ---------------------------------------------------------------------------
PAYMENT_ROUTES = ["billing:payment-detail", "billing:payment-receipt", "billing:sandbox-page"]


@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin", "rossi_line_user"])
@pytest.mark.parametrize("route", PAYMENT_ROUTES)
def test_another_companys_payment_is_404_on_every_page_and_method(
    cast: Cast, client_as: Any, role: str, route: str
) -> None:
    bianchi_line = make_prepaid(cast.bianchi_line)
    payment = pending_recharge(bianchi_line)
    post_callback(Client(), payment)
    client = client_as(getattr(cast, role))
    url = reverse(route, args=[payment.reference])

    answers = {method: getattr(client, method)(url).status_code for method in ("get", "post")}

    assert answers == {"get": 404, "post": 404}
    assert CreditMovement.objects.filter(line=bianchi_line).count() == 1


def test_a_line_user_does_not_see_the_payments_of_lines_not_assigned_to_them(
    cast: Cast, client_as: Any
) -> None:
    other = make_prepaid(cast.rossi_other_line)
    payment = pending_recharge(other)

    response = client_as(cast.rossi_line_user).get(
        reverse("billing:payment-detail", args=[payment.reference])
    )

    assert response.status_code == 404


def test_an_administrator_sees_every_recharge_of_the_company(cast: Cast, client_as: Any, line: Any) -> None:
    payment = pending_recharge(line)

    response = client_as(cast.rossi_admin).get(reverse("billing:payment-detail", args=[payment.reference]))

    assert response.status_code == 200


def test_staff_see_payments_and_events_read_only_in_the_admin(cast: Cast, client: Client, line: Any) -> None:
    from tests.factories import UserFactory, give_totp

    payment = pending_recharge(line)
    post_callback(client, payment)
    staff = UserFactory.create(email="staff@operatore.example", is_staff=True, is_superuser=True)
    give_totp(staff)
    client.force_login(staff)

    listing = client.get("/admin/billing/payment/?status__exact=paid&q=" + str(payment.reference))
    change = client.get(f"/admin/billing/payment/{payment.pk}/change/")
    events = client.get("/admin/billing/paymentevent/?q=unknown")
    movements = client.get("/admin/selfcare/creditmovement/")

    assert listing.status_code == 200
    assert str(payment.reference) in listing.content.decode()
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert events.status_code == 200
    assert movements.status_code == 200
