"""Payments through the payment provider: starting one, and what its callback does.

Both the provider's HTTP callback (billing.views.payment_callback) and the
sandbox's in-process delivery call `payment_callback_receive`: one path from
a verified event to its effect.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import Payment, PaymentEvent, PaymentPurpose, PaymentStatus
from billing.payments import CallbackRejectedError, PaymentOutcome, ProviderEvent, payment_provider

logger = logging.getLogger(__name__)


class PaymentNotFoundError(Exception):
    """A callback about a payment the portal never started with that provider."""


def payment_start(*, payment: Payment, return_url: str) -> str:
    """The address of the provider's hosted page for a pending payment."""
    provider = payment_provider()
    if payment.provider != provider.name or payment.status != PaymentStatus.PENDING:
        raise ValueError("only a pending payment of the configured provider can be started")
    return provider.start(payment=payment, return_url=return_url)


def payment_callback_receive(*, event: ProviderEvent) -> Payment:
    """Record a verified provider event once, and complete its payment.

    The event row is unique per provider and event id: the same callback
    delivered twice finds its row there and does nothing more. An event
    whose amount or currency is not the payment's is refused (the
    provider's error, or a reference reused): nothing is recorded.
    """
    payment = Payment.objects.filter(reference=event.payment_reference, provider=event.provider).first()
    if payment is None:
        raise PaymentNotFoundError(str(event.payment_reference))
    if event.amount != payment.amount or event.currency != payment.currency:
        raise CallbackRejectedError("amount or currency differ from the payment's")
    with transaction.atomic():
        try:
            with transaction.atomic():
                PaymentEvent.objects.create(
                    provider=event.provider,
                    event_id=event.event_id,
                    payment=payment,
                    outcome=event.outcome,
                    payload=event.payload,
                )
        except IntegrityError:
            logger.info("payment event %s:%s received again: ignored", event.provider, event.event_id)
            return payment
        payment_complete(payment=payment, event=event)
    payment.refresh_from_db()
    return payment


def payment_complete(*, payment: Payment, event: ProviderEvent) -> bool:
    """Move a pending payment to paid or failed, once, and apply its effect; whether this call did it.

    The claim (an update conditioned on PENDING) is what makes a second
    event about the same payment, even a different one, change nothing.
    """
    paid = event.outcome == PaymentOutcome.PAID
    now = timezone.now()
    with transaction.atomic():
        claimed = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.PAID if paid else PaymentStatus.FAILED,
            completed_at=now,
            provider_reference=event.provider_reference,
            failure_reason="" if paid else (event.failure_reason or "declined"),
        )
        if claimed != 1:
            return False
        payment.refresh_from_db()
        if paid:
            _paid_effect(payment)
    return True


def _paid_effect(payment: Payment) -> None:
    """What a paid payment does, by purpose; in the claim's transaction, so both happen or neither."""
    if payment.purpose == PaymentPurpose.RECHARGE:
        from selfcare.services.credit import credit_recharge

        credit_recharge(payment=payment)
    # PaymentPurpose.INVOICE: the invoices feature marks its invoice paid here.
