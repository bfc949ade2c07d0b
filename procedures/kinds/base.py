"""What every kind of request says about itself, and the registry the mechanism reads.

The mechanism (`procedures.services`) is the same for every form: it asks
the kind who may submit, which form validates the data, which documents are
required, and what to do when the request is submitted, approved or
rejected. Each kind is a `RequestKindHandler` subclass in its own module of
this package, registered with `@register`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.db import models
from django.utils.functional import Promise

from procedures.models import Request, RequestKind

if TYPE_CHECKING:
    from selfcare.models import Membership, User


@dataclass(frozen=True)
class DocumentRequirement:
    """A document the kind asks for.

    `role` is stored on RequestDocument.role. `at_submission`: required with
    the form; otherwise it may come later (the theft complaint, within
    `due_days` days of submission).
    """

    role: str
    label: str | Promise
    required: bool = True
    at_submission: bool = True
    due_days: int | None = None
    help_text: str | Promise = ""


class RequestKindHandler:
    """One kind of request: its rules and its effects. Subclasses set the class attributes and override hooks."""

    kind: ClassVar[RequestKind]
    # Shown where the form is offered, and to a role that may not submit it.
    description: ClassVar[str | Promise] = ""
    who_may_submit: ClassVar[str | Promise] = ""
    # A Django form taking `membership=` as keyword: the kind's fields, lines included
    # (a `lines` field whose cleaned value is an iterable of the company's Line rows).
    form_class: ClassVar[type[forms.Form]]
    documents: ClassVar[tuple[DocumentRequirement, ...]] = ()
    # The documents the portal makes for the kind besides the receipt, by role, with their labels.
    generated_documents: ClassVar[Mapping[str, str | Promise]] = {}
    # A sentence the receipt must carry (the withdrawal's valid notice), or nothing.
    receipt_note: ClassVar[str | Promise] = ""
    # Renders `request.data` on the request's page, in the admin and on the receipt.
    summary_template: ClassVar[str] = "procedures/kinds/_summary_generic.html"

    def data_from(self, cleaned_data: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The lines (the form's `lines` field, if any) and the JSON-safe rest of the cleaned data.

        Dates and datetimes become ISO strings, amounts strings, model rows
        their primary keys (querysets and lists of rows, lists of keys), so
        that `Request.data` reads back the same in Python and in the API.
        """
        lines = list(cleaned_data.get("lines") or [])
        data = {name: _json_safe(value) for name, value in cleaned_data.items() if name != "lines"}
        return lines, data

    def may_submit(self, membership: Membership) -> bool:
        """Whether this role may submit this kind at all (the page says so instead of showing the form)."""
        raise NotImplementedError

    def on_submitted(self, request: Request, *, membership: Membership) -> None:
        """What happens at once, in the submission's transaction (theft blocks the line). Nothing by default."""

    def on_approved(self, request: Request, *, by: User) -> None:
        """What the approval does, in the decision's transaction (raise ValidationError to refuse it)."""

    def on_rejected(self, request: Request, *, by: User, reason: str) -> None:
        """What a rejection undoes or records. Nothing by default."""

    def due_on(self, request: Request) -> date | None:
        """A deadline staff must watch (the theft complaint's, a withdrawal's effective day), or None."""
        del request
        return None


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return [_json_safe(item) for item in value]
    return value


_REGISTRY: dict[str, RequestKindHandler] = {}


def register(handler_class: type[RequestKindHandler]) -> type[RequestKindHandler]:
    """Class decorator: one handler per kind."""
    if handler_class.kind in _REGISTRY:
        raise ValueError(f"request kind {handler_class.kind} registered twice")
    _REGISTRY[handler_class.kind] = handler_class()
    return handler_class


def handler_for(kind: str) -> RequestKindHandler:
    """The kind's handler (KeyError for a kind nobody registered)."""
    return _REGISTRY[kind]


def registered_handlers() -> list[RequestKindHandler]:
    """Every registered kind, in RequestKind's order."""
    order = list(RequestKind)
    return sorted(_REGISTRY.values(), key=lambda handler: order.index(handler.kind))
