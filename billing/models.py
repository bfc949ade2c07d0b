"""Models of the billing app: payments through the payment provider (invoices and traffic come later)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from selfcare import permissions
from selfcare.models import Company, Line, Membership
from selfcare.tenancy import TenantQuerySet


class PaymentPurpose(models.TextChoices):
    RECHARGE = "recharge", _("Recharge of a prepaid line")
    INVOICE = "invoice", _("Payment of an invoice")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the payment")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentQuerySet(TenantQuerySet["Payment"]):
    def visible_to(self, membership: Membership) -> PaymentQuerySet:
        """The company's payments for those who handle billing; a line user's recharges of their lines."""
        mine = self.filter(company_id=membership.company_id)
        if permissions.can_manage_billing(membership):
            return mine
        return mine.filter(Q(line__assigned_to_id=membership.pk) & Q(purpose=PaymentPurpose.RECHARGE))


class Payment(models.Model):
    """One payment through the payment provider's hosted page.

    The provider answers with a signed callback; each callback event is kept
    (PaymentEvent, unique per provider event) and the payment moves from
    pending once, so a repeated callback pays once.
    """

    reference = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="payments", verbose_name=_("company")
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=PaymentPurpose.choices)
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="payments", verbose_name=_("line")
    )
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    status = models.CharField(
        _("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    provider = models.CharField(_("payment provider"), max_length=40)
    provider_reference = models.CharField(_("provider's reference"), max_length=100, blank=True)
    failure_reason = models.CharField(_("reason of the failure"), max_length=200, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=30, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("made by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"], name="payment_company_recent")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.amount} {self.currency} ({self.status})"


class PaymentEvent(models.Model):
    """A callback of the payment provider, kept once per provider event id (idempotency)."""

    provider = models.CharField(_("payment provider"), max_length=40)
    event_id = models.CharField(_("event id"), max_length=100)
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="events", verbose_name=_("payment")
    )
    outcome = models.CharField(_("outcome"), max_length=20)
    payload = models.JSONField(_("payload"), default=dict)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment provider event")
        verbose_name_plural = _("payment provider events")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="payment_event_once_per_provider_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} {self.outcome}"
