"""Shared by the payment and credit tests: prepaid lines and the sandbox's signed callbacks."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from django.test import Client
from django.urls import reverse

from billing.models import Payment, PaymentPurpose
from billing.payments import PaymentOutcome, SandboxProvider
from selfcare.models import Line
from selfcare.models import Payment as OfferPayment
from tests.factories import OfferFactory


def make_prepaid(line: Line, *, balance: str = "0.00", threshold: str | None = None) -> Line:
    """The line on a prepaid offer, with that balance and low-credit threshold."""
    line.offer = OfferFactory.create(code="RIC-TEST", name="Ricaricabile Test", payment=OfferPayment.PREPAID)
    line.credit_balance = Decimal(balance)
    line.low_credit_threshold = None if threshold is None else Decimal(threshold)
    line.save()
    return line


def pending_recharge(line: Line, *, amount: str = "20.00", by: Any = None) -> Payment:
    return Payment.objects.create(
        company=line.company,
        purpose=PaymentPurpose.RECHARGE,
        line=line,
        amount=Decimal(amount),
        provider="sandbox",
        created_by=by,
    )


def post_callback(
    client: Client,
    payment: Payment,
    *,
    outcome: PaymentOutcome = PaymentOutcome.PAID,
    failure_reason: str = "",
    body: bytes | None = None,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    """POST the sandbox's signed callback about `payment` to the portal, as the provider's server does."""
    provider = SandboxProvider()
    body = (
        body
        if body is not None
        else provider.callback_body(payment=payment, outcome=outcome, failure_reason=failure_reason)
    )
    signature = (
        signature
        if signature is not None
        else provider.sign(body=body, timestamp=int(time.time()) if timestamp is None else timestamp)
    )
    return client.post(
        reverse("billing:payment-callback", kwargs={"provider": "sandbox"}),
        data=body,
        content_type="application/json",
        headers={SandboxProvider.SIGNATURE_HEADER: signature},
    )
