"""Reads about notifications: a user's inbox in the selected company."""

from __future__ import annotations

from selfcare.models import Membership, Notification, NotificationQuerySet


def notifications_inbox(*, membership: Membership) -> NotificationQuerySet:
    """The membership's own inbox messages, newest first."""
    return Notification.objects.visible_to(membership).order_by("-created_at", "-id")


def notifications_unread_count(*, membership: Membership) -> int:
    # One COUNT on the partial inbox index (user, company, created_at).
    return notifications_inbox(membership=membership).filter(read_at__isnull=True).count()
