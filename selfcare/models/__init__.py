"""Models of the core app, split by sub-domain."""

from selfcare.models.companies import Company, Membership, MembershipQuerySet, Role
from selfcare.models.lines import Line, LineKind, LineQuerySet, LineStatus, Offer, Payment, SimKind
from selfcare.models.notifications import Channel, DeliveryStatus, Notification, NotificationQuerySet
from selfcare.models.system import Heartbeat
from selfcare.models.tokens import ApiToken, ApiTokenQuerySet
from selfcare.models.users import User, UserManager

__all__ = [
    "ApiToken",
    "ApiTokenQuerySet",
    "Channel",
    "Company",
    "DeliveryStatus",
    "Heartbeat",
    "Line",
    "LineKind",
    "LineQuerySet",
    "LineStatus",
    "Membership",
    "MembershipQuerySet",
    "Notification",
    "NotificationQuerySet",
    "Offer",
    "Payment",
    "Role",
    "SimKind",
    "User",
    "UserManager",
]
