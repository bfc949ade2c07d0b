"""Reads of the requests: the customer's list and page, the kinds a role may submit, the data in words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from procedures.kinds import DocumentRequirement, RequestKindHandler, handler_for, registered_handlers
from procedures.models import Request, RequestDocument, RequestEvent, RequestMessage
from selfcare.models import Line, Membership


@dataclass(frozen=True)
class RequestFilters:
    kind: str = ""
    status: str = ""

    @property
    def narrows(self) -> bool:
        return bool(self.kind or self.status)


def requests_visible(*, membership: Membership, filters: RequestFilters | None = None) -> QuerySet[Request]:
    """The requests the member may follow (Request.visible_to), newest first, with what the list shows."""
    requests = Request.objects.visible_to(membership).select_related("submitted_by")
    if filters is not None:
        if filters.kind:
            requests = requests.filter(kind=filters.kind)
        if filters.status:
            requests = requests.filter(status=filters.status)
    return requests.order_by("-submitted_at", "-id")


@dataclass(frozen=True)
class KindOffer:
    """A kind as the "new request" page offers it: to this role, or with the reason it is not."""

    handler: RequestKindHandler
    allowed: bool

    @property
    def kind(self) -> str:
        return str(self.handler.kind)


def kinds_offered(*, membership: Membership) -> list[KindOffer]:
    return [
        KindOffer(handler=handler, allowed=handler.may_submit(membership))
        for handler in registered_handlers()
    ]


@dataclass(frozen=True)
class LaterDocument:
    """A document the kind takes after submission, and by when."""

    requirement: DocumentRequirement
    due_on: date | None
    received: bool

    @property
    def overdue(self) -> bool:
        return not self.received and self.due_on is not None and self.due_on < timezone.localdate()


def later_documents(*, request: Request, documents: Iterable[RequestDocument]) -> list[LaterDocument]:
    """The kind's documents that come after submission, each with its deadline and whether it came."""
    roles = {document.role for document in documents}
    submitted_on = timezone.localdate(request.submitted_at)
    return [
        LaterDocument(
            requirement=requirement,
            due_on=submitted_on + timedelta(days=requirement.due_days) if requirement.due_days else None,
            received=requirement.role in roles,
        )
        for requirement in handler_for(request.kind).documents
        if not requirement.at_submission
    ]


def request_data_items(*, request: Request) -> list[tuple[str, str]]:
    """The request's data as (label, value in words), in the order of the kind's form.

    Generic for every kind: the label is the form field's, a choice its
    label, a yes/no in words, and the keys of model rows (invoices, say)
    the rows' names, one query per such field.
    """
    form_class = handler_for(request.kind).form_class
    fields: dict[str, forms.Field] = dict(form_class.base_fields)
    names = [name for name in fields if name in request.data] + [
        name for name in request.data if name not in fields
    ]
    items = []
    for name in names:
        form_field = fields.get(name)
        label = (
            str(form_field.label) if form_field is not None and form_field.label else name.replace("_", " ")
        )
        items.append((label, _value_in_words(form_field, request.data[name])))
    return items


def _value_in_words(form_field: forms.Field | None, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(form_field, forms.TypedChoiceField) and not isinstance(value, list):
        # Stored as the coerced value (a yes/no choice as a boolean): its choice's label.
        for key, label in _choices(form_field):
            if not isinstance(label, list | tuple) and key != "" and form_field.coerce(key) == value:
                return str(label)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(form_field, forms.ModelMultipleChoiceField | forms.ModelChoiceField):
        keys = value if isinstance(value, list) else [value]
        if form_field.queryset is None:
            return str(value)
        model = form_field.queryset.model
        rows = {row.pk: row for row in model._default_manager.filter(pk__in=keys)}
        return ", ".join(str(rows.get(key, key)) for key in keys)
    if isinstance(form_field, forms.ChoiceField):
        labels = {
            str(key): str(label) for key, label in _choices(form_field) if not isinstance(label, list | tuple)
        }
        keys = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(key), str(key)) for key in keys)
    if isinstance(form_field, forms.DateField) and isinstance(value, str):
        try:
            return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _choices(form_field: forms.ChoiceField) -> list[tuple[Any, Any]]:
    return list(form_field.choices)  # type: ignore[arg-type]  # a static list on the kinds' forms


@dataclass
class RequestPage:
    """What the request's page (and the admin's, and the receipt) shows, loaded in a fixed number of queries."""

    request: Request
    handler: RequestKindHandler
    data_items: list[tuple[str, str]]
    lines: list[Line]
    documents: list[RequestDocument]
    events: list[RequestEvent]
    messages: list[RequestMessage]
    later: list[LaterDocument] = field(default_factory=list)

    @property
    def receipt(self) -> RequestDocument | None:
        return next((d for d in self.documents if d.generated and d.role == "receipt"), None)

    @property
    def later_due(self) -> list[LaterDocument]:
        return [item for item in self.later if not item.received]


def request_page(*, request: Request) -> RequestPage:
    prefetches: list[Prefetch[Any]] = [
        Prefetch("lines", queryset=Line.objects.order_by("number")),
        Prefetch("documents", queryset=RequestDocument.objects.select_related("uploaded_by")),
        Prefetch("events", queryset=RequestEvent.objects.select_related("by")),
        Prefetch("messages", queryset=RequestMessage.objects.select_related("author")),
    ]
    request = (
        Request.objects.select_related("company", "submitted_by", "assigned_to")
        .prefetch_related(*prefetches)
        .get(pk=request.pk)
    )
    documents = list(request.documents.all())
    return RequestPage(
        request=request,
        handler=handler_for(request.kind),
        data_items=request_data_items(request=request),
        lines=list(request.lines.all()),
        documents=documents,
        events=list(request.events.all()),
        messages=list(request.messages.all()),
        later=later_documents(request=request, documents=documents),
    )
