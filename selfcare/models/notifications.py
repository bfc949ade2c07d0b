"""Notifications: an outbox written in the same transaction as the event they tell of."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from selfcare.models.companies import Company, Membership
from selfcare.tenancy import TenantQuerySet


class Channel(models.TextChoices):
    INBOX = "inbox", _("In-portal inbox")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class NotificationQuerySet(TenantQuerySet["Notification"]):
    def visible_to(self, membership: Membership) -> NotificationQuerySet:
        """A user's own inbox in the selected company."""
        return self.filter(
            company_id=membership.company_id, user_id=membership.user_id, channel=Channel.INBOX
        )


class Notification(models.Model):
    """One message of one event to one recipient on one channel.

    `dedupe_key` (event key, channel, recipient) is unique: notifying the same
    event twice writes nothing new, so a retried task or a repeated import
    never sends a message twice. `message_id` stays the same across retries,
    so a message re-sent after a crash can be recognised downstream.
    """

    message_id = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(
        Company,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("company"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    # An address given for this event only (an SMS number for "Keep me
    # updated"); otherwise the user's own e-mail.
    address = models.CharField(_("address"), max_length=254, blank=True)
    event = models.CharField(_("event"), max_length=80)
    dedupe_key = models.CharField(_("deduplication key"), max_length=300, unique=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    link = models.CharField(_("link"), max_length=500, blank=True)
    # The text carries a one-time secret (a link that sets a password, an
    # unlock code): never shown to staff, and removed once delivered.
    sensitive = models.BooleanField(_("carries a secret"), default=False)
    status = models.CharField(
        _("delivery"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "company", "-created_at"],
                condition=models.Q(channel="inbox"),
                name="notification_inbox",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="notification_outbox_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.user or self.address} ({self.channel})"
