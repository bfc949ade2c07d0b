"""Residual credit of prepaid lines: movements, the low-credit alert, recharges.

The balance on the line is the running sum of its movements, kept by one
function (`credit_apply`) that locks the line, so two movements at once never
lose one another. A recharge is a `billing.Payment` through the payment
provider; the provider's callback credits it (`credit_recharge`) once: the
movement carries the payment's reference, which is unique.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Payment, PaymentPurpose, PaymentStatus
from billing.payments import payment_provider
from selfcare.models import (
    CreditMovement,
    CreditMovementKind,
    Line,
    LineStatus,
    Membership,
    Notification,
    Role,
    User,
)
from selfcare.models import (
    Payment as OfferPayment,
)
from selfcare.services.notifications import notify

# Recharge amounts in euro: the usual cuts, or any amount within the limits.
RECHARGE_CUTS: tuple[Decimal, ...] = (Decimal("10.00"), Decimal("20.00"), Decimal("30.00"), Decimal("50.00"))
RECHARGE_MINIMUM = Decimal("5.00")
RECHARGE_MAXIMUM = Decimal("150.00")
LOW_CREDIT_THRESHOLD_MAXIMUM = Decimal("500.00")

CENT = Decimal("0.01")


def line_is_prepaid(line: Line) -> bool:
    return line.offer.payment == OfferPayment.PREPAID


def line_credit_is_low(line: Line) -> bool:
    """Whether the low-credit alert is on: the balance is below the line's threshold."""
    threshold = line.low_credit_threshold
    return threshold is not None and line.credit_balance < threshold


def _require_prepaid(line: Line, *, field: str | None = None) -> None:
    if not line_is_prepaid(line):
        message = _("This line is postpaid: its traffic is invoiced, it has no credit to recharge.")
        raise ValidationError({field: message} if field else message)


def recharge_amount_check(amount: Decimal) -> Decimal:
    """The amount of a recharge, in euro cents, or a ValidationError keyed `amount`."""
    if amount != amount.quantize(CENT):
        raise ValidationError({"amount": _("Give the amount in euro and cents, for example 12.50.")})
    if amount < RECHARGE_MINIMUM:
        raise ValidationError(
            {"amount": _("The minimum recharge is €%(minimum)s.") % {"minimum": RECHARGE_MINIMUM}}
        )
    if amount > RECHARGE_MAXIMUM:
        raise ValidationError(
            {"amount": _("The maximum recharge is €%(maximum)s.") % {"maximum": RECHARGE_MAXIMUM}}
        )
    return amount.quantize(CENT)


def recharge_start(*, line: Line, amount: Decimal, actor: Membership, provider: str | None = None) -> Payment:
    """A pending recharge payment of `amount` for a prepaid line, through `provider` (the configured one).

    The caller sends the browser to the provider's hosted page
    (billing.services.payment_start); the provider's callback credits it.
    """
    _require_prepaid(line, field="amount")
    if line.status == LineStatus.CEASED:
        raise ValidationError({"amount": _("This line has ceased: it can no longer be recharged.")})
    amount = recharge_amount_check(amount)
    if provider is None:
        provider = payment_provider().name
    return Payment.objects.create(
        company_id=line.company_id,
        purpose=PaymentPurpose.RECHARGE,
        line=line,
        amount=amount,
        provider=provider,
        created_by=actor.user,
    )


def credit_apply(
    *,
    line: Line,
    amount: Decimal,
    kind: CreditMovementKind,
    description: str = "",
    payment_reference: str | None = None,
) -> CreditMovement:
    """Add `amount` (negative for usage and fees) to the line's credit and record the movement.

    With a `payment_reference` already credited nothing changes and the
    existing movement is returned: a replayed callback credits once. The
    low-credit alert is sent when the balance crosses the threshold
    downwards, and cleared when it is back at or above it.
    """
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    with transaction.atomic():
        # The line's row lock orders concurrent movements: each reads the
        # balance the previous one wrote.
        locked = Line.objects.select_for_update().select_related("offer", "company").get(pk=line.pk)
        before = locked.credit_balance
        after = before + amount
        try:
            with transaction.atomic():
                movement = CreditMovement.objects.create(
                    line=locked,
                    kind=kind,
                    amount=amount,
                    balance_after=after,
                    description=description,
                    payment_reference=payment_reference,
                )
        except IntegrityError:
            if payment_reference is None:
                raise
            # Credited already, by an earlier delivery of the same payment.
            line.credit_balance = before
            return CreditMovement.objects.get(payment_reference=payment_reference)
        # update(), not save(): no audit-log entry for every call's cost.
        Line.objects.filter(pk=locked.pk).update(credit_balance=after, updated_at=timezone.now())
        locked.credit_balance = after
        line.credit_balance = after
        threshold = locked.low_credit_threshold
        if threshold is not None:
            if before >= threshold > after:
                _low_credit_notify(line=locked, occurrence=f"movement-{movement.pk}")
            elif before < threshold <= after:
                _low_credit_clear(line=locked)
    return movement


def credit_recharge(*, payment: Payment) -> CreditMovement:
    """Credit a paid recharge to its line: the movement, the receipt number, the notification.

    Called once per payment, by billing.services.payment_complete after it
    claimed the payment; the unique payment reference of the movement makes
    a second call harmless all the same.
    """
    if payment.purpose != PaymentPurpose.RECHARGE or payment.line_id is None:
        raise ValueError("only a recharge credits a line")
    if payment.status != PaymentStatus.PAID:
        raise ValueError("only a paid recharge credits its line")
    line = Line.objects.select_related("offer", "company", "assigned_to__user").get(pk=payment.line_id)
    with transaction.atomic():
        receipt_number = payment_receipt_number_assign(payment=payment)
        movement = credit_apply(
            line=line,
            amount=payment.amount,
            kind=CreditMovementKind.RECHARGE,
            description=receipt_number,
            payment_reference=str(payment.reference),
        )
        recipients: dict[int, User] = {}
        if payment.created_by is not None:
            recipients[payment.created_by.pk] = payment.created_by
        if line.assigned_to is not None:
            recipients[line.assigned_to.user.pk] = line.assigned_to.user
        notify(
            company=line.company,
            event="recharge_done",
            key=f"payment-{payment.pk}",
            recipients=recipients.values(),
            context={
                "line": line,
                "payment": payment,
                "balance": movement.balance_after,
                "receipt_number": receipt_number,
            },
            link=reverse("billing:payment-receipt", kwargs={"reference": payment.reference}),
        )
    return movement


def payment_receipt_number_assign(*, payment: Payment) -> str:
    """The payment's receipt number, RIC-<year>-<six digits>, numbered within the year (Rome time).

    Two recharges completing at once may compute the same next number: the
    unique constraint refuses the second, which tries the following one.
    """
    if payment.receipt_number:
        return payment.receipt_number
    year = timezone.localtime(payment.completed_at or timezone.now()).year
    prefix = f"RIC-{year}-"
    for _attempt in range(10):
        last = Payment.objects.filter(receipt_number__startswith=prefix).aggregate(
            last=Max("receipt_number")
        )["last"]
        candidate = f"{prefix}{int(last.removeprefix(prefix)) + 1 if last else 1:06d}"
        try:
            with transaction.atomic():
                updated = Payment.objects.filter(pk=payment.pk, receipt_number__isnull=True).update(
                    receipt_number=candidate
                )
        except IntegrityError:
            continue
        if updated != 1:
            payment.refresh_from_db(fields=["receipt_number"])
            if payment.receipt_number is None:
                raise RuntimeError("the payment disappeared while numbering its receipt")
            return payment.receipt_number
        payment.receipt_number = candidate
        return candidate
    raise RuntimeError("could not number the receipt: too many concurrent recharges")


def low_credit_threshold_set(*, line: Line, threshold: Decimal | None, actor: Membership) -> Line:
    """Set (or with None, remove) the line's low-credit threshold.

    A threshold set above the current balance sends the alert at once: the
    balance is below it from now on.
    """
    _require_prepaid(line, field="threshold")
    if threshold is not None:
        if threshold < 0 or threshold != threshold.quantize(CENT):
            raise ValidationError({"threshold": _("Give the threshold in euro and cents, zero or more.")})
        if threshold > LOW_CREDIT_THRESHOLD_MAXIMUM:
            raise ValidationError(
                {
                    "threshold": _("The threshold may be at most €%(maximum)s.")
                    % {"maximum": LOW_CREDIT_THRESHOLD_MAXIMUM}
                }
            )
    with transaction.atomic():
        locked = Line.objects.select_for_update().select_related("offer", "company").get(pk=line.pk)
        was_low = line_credit_is_low(locked)
        locked.low_credit_threshold = threshold
        # save(): the audit log records who changed the threshold and from what.
        locked.save(update_fields=["low_credit_threshold", "updated_at"])
        is_low = line_credit_is_low(locked)
        if is_low and not was_low:
            _low_credit_notify(line=locked, occurrence=f"threshold-{timezone.now().isoformat()}")
        elif was_low and not is_low:
            _low_credit_clear(line=locked)
    line.low_credit_threshold = threshold
    line.credit_balance = locked.credit_balance
    return line


def _low_credit_key_prefix(line: Line) -> str:
    return f"line-{line.pk}-low-credit-"


def _low_credit_recipients(line: Line) -> list[User]:
    """The line's user; for a line nobody has, those who manage the company's lines."""
    if line.assigned_to_id is not None:
        assigned = Membership.objects.select_related("user").get(pk=line.assigned_to_id)
        return [assigned.user]
    managers = Membership.objects.filter(
        company_id=line.company_id, role__in=[Role.ADMIN, Role.LEGAL_REP]
    ).select_related("user")
    return [membership.user for membership in managers]


def _low_credit_notify(*, line: Line, occurrence: str) -> None:
    notify(
        company=line.company,
        event="low_credit",
        key=f"{_low_credit_key_prefix(line)}{occurrence}",
        recipients=_low_credit_recipients(line),
        context={"line": line, "balance": line.credit_balance, "threshold": line.low_credit_threshold},
        link=reverse("selfcare:line-credit", kwargs={"pk": line.pk}),
    )


def _low_credit_clear(*, line: Line) -> None:
    """The credit is back above the threshold: the alert's inbox messages are marked read."""
    Notification.objects.filter(
        company_id=line.company_id,
        event="low_credit",
        dedupe_key__contains=f":{_low_credit_key_prefix(line)}",
        read_at__isnull=True,
    ).update(read_at=timezone.now())
