"""Models of the procedures app: requests (every form) and fixed-line activation orders."""

from procedures.models.activation import (
    ActivationOrder,
    ActivationOrderQuerySet,
    ActivationStep,
    ActivationStepEvent,
)
from procedures.models.requests import (
    Request,
    RequestDocument,
    RequestEvent,
    RequestKind,
    RequestMessage,
    RequestQuerySet,
    RequestStatus,
)

__all__ = [
    "ActivationOrder",
    "ActivationOrderQuerySet",
    "ActivationStep",
    "ActivationStepEvent",
    "Request",
    "RequestDocument",
    "RequestEvent",
    "RequestKind",
    "RequestMessage",
    "RequestQuerySet",
    "RequestStatus",
]
