"""Models of the core app, split by sub-domain."""

from selfcare.models.companies import Company, Membership, MembershipQuerySet, Role
from selfcare.models.help import HelpCategory, HelpPage
from selfcare.models.lines import (
    CreditMovement,
    CreditMovementKind,
    EsimProfile,
    EsimStatus,
    Line,
    LineKind,
    LineQuerySet,
    LineService,
    LineServiceChange,
    LineStatus,
    Offer,
    Payment,
    SimKind,
    VasUnlockCode,
)
from selfcare.models.notifications import Channel, DeliveryStatus, Notification, NotificationQuerySet
from selfcare.models.system import Heartbeat
from selfcare.models.tokens import ApiToken, ApiTokenQuerySet
from selfcare.models.users import User, UserManager

__all__ = [
    "ApiToken",
    "ApiTokenQuerySet",
    "Channel",
    "Company",
    "CreditMovement",
    "CreditMovementKind",
    "DeliveryStatus",
    "EsimProfile",
    "EsimStatus",
    "Heartbeat",
    "HelpCategory",
    "HelpPage",
    "Line",
    "LineKind",
    "LineQuerySet",
    "LineService",
    "LineServiceChange",
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
    "VasUnlockCode",
]
