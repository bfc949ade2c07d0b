"""Writes of the requests: submission, staff's review and decision, the customer's answers (DOMAIN.md, "Forms and procedures").

One mechanism for every kind. The kind's handler (procedures.kinds) says who
may submit, validates the data and does what the approval does; this module
does the rest the same way for all: the reference, the documents, the
receipt, the status and its history, messages and notifications.

Statuses: submitted → in_review → approved / rejected / needs_info, and
needs_info → in_review when the customer answers. Every transition claims
the row in its current status with a conditional UPDATE
(`filter(pk=…, status__in=FROM).update(status=TO) == 1`): of two staff
deciding at once one wins and the other is told what happened. Each change
writes a RequestEvent (who, when) and, in the same transaction, the
notification of that event row (its key is the row's id, so it is sent once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from procedures.documents import CheckedFile, document_check, document_check_bytes, document_store
from procedures.kinds import DocumentRequirement, RequestKindHandler, handler_for
from procedures.models import (
    Request,
    RequestDocument,
    RequestEvent,
    RequestKind,
    RequestMessage,
    RequestStatus,
)
from procedures.models.requests import DECIDED_STATUSES
from selfcare.models import Membership, User
from selfcare.selectors.companies import company_managers
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify
from selfcare.tenancy import visible

# The role of a document sent with an answer or later, that no requirement of the kind names.
ADDITIONAL_DOCUMENT = "additional"
RECEIPT_DOCUMENT = "receipt"
# The form field of a document: one per requirement, on the page and in the API's multipart create.
DOCUMENT_FIELD_PREFIX = "document_"

# Which statuses each staff step starts from.
REVIEW_FROM = (RequestStatus.SUBMITTED,)
ASK_INFO_FROM = (RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW)
APPROVE_FROM = (RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW)
# A customer who never answers may still be refused.
REJECT_FROM = (RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW, RequestStatus.NEEDS_INFO)
ANSWER_FROM = (RequestStatus.NEEDS_INFO,)

# Notification events (templates/notifications/<event>/).
EVENT_SUBMITTED = "request_submitted"
EVENT_UPDATED = "request_updated"

_REFERENCE_ATTEMPTS = 5
_MESSAGE_MAX_LENGTH = 4000


class RequestStateError(ValidationError):
    """A step the request's current status does not allow (or another person took first)."""

    def __init__(self, request: Request, *, step: str) -> None:
        super().__init__(
            _("The request %(reference)s is now “%(status)s”: it cannot %(step)s.")
            % {"reference": request.reference, "status": request.get_status_display(), "step": step},
            code="request_state",
        )
        self.request = request


class RequestInvalidError(ValidationError):
    """The kind's form or its documents are not valid: `form` is bound with the data, for the page to show again."""

    def __init__(self, *, form: Any, document_errors: Mapping[str, list[str]]) -> None:
        errors: dict[str, Any] = {name: list(messages) for name, messages in form.errors.items()}
        errors.update({f"{DOCUMENT_FIELD_PREFIX}{role}": list(m) for role, m in document_errors.items()})
        super().__init__(errors or _("The request is not valid."))
        self.form = form
        self.document_errors = dict(document_errors)


# ---------------------------------------------------------------------------
# Submission
# ---------------------------------------------------------------------------


def request_submit(
    *,
    membership: Membership,
    kind: str,
    data: Mapping[str, Any],
    files: Mapping[str, UploadedFile[bytes]] | None = None,
) -> Request:
    """Submit a request of `kind` with the form's `data` and documents named `document_<role>` in `files`.

    Refused with PermissionDenied when the role may not submit the kind (the
    message says who may); with RequestInvalidError when the form or a
    document is not valid. The receipt PDF, the history's first event, the
    kind's immediate effect (`on_submitted`) and the notifications to the
    submitter and the company's managers happen in one transaction.
    """
    handler = _handler(kind)
    if not handler.may_submit(membership):
        raise PermissionDenied(
            _("Your role may not submit this request. %(who)s") % {"who": handler.who_may_submit}
        )
    files = files or {}
    form = handler.form_class(membership=membership, data=data, files=files)  # type: ignore[call-arg,arg-type]  # a kind's form takes membership=; a plain mapping of files does
    checked, document_errors = _documents_checked(handler, files)
    if not form.is_valid() or document_errors:
        raise RequestInvalidError(form=form, document_errors=document_errors)
    lines, request_data = handler.data_from(form.cleaned_data)
    user = membership.user
    with transaction.atomic():
        request = _create_with_reference(
            company_id=membership.company_id, kind=kind, submitted_by=user, data=request_data
        )
        if lines:
            request.lines.set(lines)
        for role, file in checked.items():
            document_store(request=request, role=role, checked=file, by=user)
        handler.on_submitted(request, membership=membership)
        due_on = handler.due_on(request)
        if due_on is not None:
            request.due_on = due_on
            request.save(update_fields=["due_on", "updated_at"])
        event = _event(request, by=user, action="submitted", status_to=RequestStatus.SUBMITTED)
        _receipt_store(request)
        _notify(request, event=event, notify_event=EVENT_SUBMITTED, actor=None)
    return request


def _handler(kind: str) -> RequestKindHandler:
    try:
        return handler_for(kind)
    except KeyError as error:
        raise ValidationError({"kind": _("There is no request of this kind.")}) from error


def _documents_checked(
    handler: RequestKindHandler, files: Mapping[str, UploadedFile[bytes]]
) -> tuple[dict[str, CheckedFile], dict[str, list[str]]]:
    checked: dict[str, CheckedFile] = {}
    errors: dict[str, list[str]] = {}
    for requirement in submission_documents(handler):
        upload = files.get(f"{DOCUMENT_FIELD_PREFIX}{requirement.role}")
        if upload is None:
            if requirement.required:
                errors[requirement.role] = [
                    _("Attach this document: %(label)s.") % {"label": requirement.label}
                ]
            continue
        try:
            checked[requirement.role] = document_check(upload)
        except ValidationError as error:
            errors[requirement.role] = list(error.messages)
    return checked, errors


def submission_documents(handler: RequestKindHandler) -> list[DocumentRequirement]:
    """The documents the kind's form asks for with the data."""
    return [requirement for requirement in handler.documents if requirement.at_submission]


def _create_with_reference(**fields: Any) -> Request:
    """The request, with the next R-YYYY-NNNNNN of the year.

    Two submissions at once may read the same last number: the unique
    reference lets one insert win, and the other takes the next number in a
    savepoint of its own, so the caller's transaction goes on.
    """
    year = timezone.localdate().year
    prefix = f"R-{year}-"
    for _attempt in range(_REFERENCE_ATTEMPTS):
        last = Request.objects.filter(reference__startswith=prefix).aggregate(last=Max("reference"))["last"]
        number = int(last.removeprefix(prefix)) + 1 if last else 1
        try:
            with transaction.atomic():
                return Request.objects.create(reference=f"{prefix}{number:06d}", **fields)
        except IntegrityError:
            continue
    raise RuntimeError("no free request reference after several attempts")


def _receipt_store(request: Request) -> RequestDocument:
    """The receipt of what was submitted, as a generated document of the request."""
    from procedures.receipt import request_receipt_pdf

    content = request_receipt_pdf(request=request)
    checked = document_check_bytes(content, original_name=f"{request.reference}.pdf")
    return document_store(request=request, role=RECEIPT_DOCUMENT, checked=checked, by=None, generated=True)


# ---------------------------------------------------------------------------
# Staff: review and decision
# ---------------------------------------------------------------------------


def _check_staff(by: User) -> None:
    if not by.is_staff:
        raise PermissionDenied(_("Only the operator's staff review requests."))


def _claim(
    request: Request, *, from_statuses: tuple[str, ...], to_status: str, step: str, **fields: Any
) -> str:
    """Move the request from one of `from_statuses` to `to_status`, or raise RequestStateError.

    Returns the status it had. Of two staff at once one wins; the other is
    told the status the winner left.
    """
    # Locked for the rest of the transaction: the status read is the one claimed, and a
    # second person's step waits here until the first one's commits, then sees its outcome.
    current = (
        Request.objects.select_for_update().filter(pk=request.pk).values_list("status", flat=True).first()
    )
    now = timezone.now()
    if current not in from_statuses or (
        Request.objects.filter(pk=request.pk, status__in=list(from_statuses)).update(
            status=to_status, updated_at=now, **fields
        )
        != 1
    ):
        request.refresh_from_db()
        raise RequestStateError(request, step=step)
    request.status = to_status
    request.updated_at = now
    for name, value in fields.items():
        setattr(request, name, value)
    return str(current)


@transaction.atomic
def request_review_start(*, request: Request, by: User) -> Request:
    """Staff take a submitted request in hand (and it is assigned to them when nobody has it)."""
    _check_staff(by)
    before = _claim(
        request,
        from_statuses=REVIEW_FROM,
        to_status=RequestStatus.IN_REVIEW,
        step=_("be taken in review"),
    )
    if request.assigned_to_id is None:
        Request.objects.filter(pk=request.pk, assigned_to__isnull=True).update(assigned_to=by)
        request.assigned_to = by
    event = _event(
        request, by=by, action="review_started", status_from=before, status_to=RequestStatus.IN_REVIEW
    )
    _notify(request, event=event, notify_event=EVENT_UPDATED, actor=None)
    return request


@transaction.atomic
def request_ask_info(*, request: Request, by: User, message: str) -> Request:
    """Staff ask the customer for information or documents: the message is sent with the status."""
    _check_staff(by)
    body = _message_body(message)
    before = _claim(
        request,
        from_statuses=ASK_INFO_FROM,
        to_status=RequestStatus.NEEDS_INFO,
        step=_("ask for information"),
    )
    RequestMessage.objects.create(request=request, author=by, from_staff=True, body=body)
    event = _event(
        request,
        by=by,
        action="info_requested",
        status_from=before,
        status_to=RequestStatus.NEEDS_INFO,
        note=body,
    )
    audit_record(
        actor=by, target=request, event="request_info_requested", details={"reference": request.reference}
    )
    _notify(request, event=event, notify_event=EVENT_UPDATED, actor=None, extra={"message": body})
    return request


@transaction.atomic
def request_approve(*, request: Request, by: User, note: str = "") -> Request:
    """Staff approve: the kind's `on_approved` runs in this transaction; its ValidationError undoes the claim."""
    _check_staff(by)
    before = _claim(
        request,
        from_statuses=APPROVE_FROM,
        to_status=RequestStatus.APPROVED,
        step=_("be approved"),
        decided_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            _handler(request.kind).on_approved(request, by=by)
    except ValidationError:
        # The approval is refused as a whole: the status goes back with the outer transaction.
        request.status = before
        request.decided_at = None
        raise
    event = _event(
        request, by=by, action="approved", status_from=before, status_to=RequestStatus.APPROVED, note=note
    )
    audit_record(
        actor=by,
        target=request,
        event="request_approved",
        details={"reference": request.reference, "kind": request.kind},
    )
    _notify(request, event=event, notify_event=EVENT_UPDATED, actor=None, extra={"note": note})
    return request


@transaction.atomic
def request_reject(*, request: Request, by: User, reason: str) -> Request:
    """Staff reject, with the reason the customer reads."""
    _check_staff(by)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the request is rejected: the customer reads it.")})
    before = _claim(
        request,
        from_statuses=REJECT_FROM,
        to_status=RequestStatus.REJECTED,
        step=_("be rejected"),
        decided_at=timezone.now(),
    )
    _handler(request.kind).on_rejected(request, by=by, reason=reason)
    event = _event(
        request, by=by, action="rejected", status_from=before, status_to=RequestStatus.REJECTED, note=reason
    )
    audit_record(
        actor=by,
        target=request,
        event="request_rejected",
        details={"reference": request.reference, "kind": request.kind, "reason": reason},
    )
    _notify(request, event=event, notify_event=EVENT_UPDATED, actor=None, extra={"reason": reason})
    return request


@transaction.atomic
def request_assign(*, request: Request, by: User, to: User | None) -> Request:
    """Give an open request to a staff member (or to nobody). Internal: the customer is not told."""
    _check_staff(by)
    if to is not None and not to.is_staff:
        raise ValidationError({"assigned_to": _("Requests are assigned to staff only.")})
    if request.assigned_to_id == (to.pk if to else None):
        return request
    if (
        Request.objects.filter(pk=request.pk)
        .exclude(status__in=DECIDED_STATUSES)
        .update(assigned_to=to, updated_at=timezone.now())
        != 1
    ):
        request.refresh_from_db()
        raise RequestStateError(request, step=_("be assigned"))
    request.assigned_to = to
    _event(request, by=by, action="assigned", note=to.get_username() if to else "")
    return request


@transaction.atomic
def request_staff_message_send(*, request: Request, by: User, body: str) -> RequestMessage:
    """Staff write to the customer about an open request, without changing its status."""
    _check_staff(by)
    _check_open(request, step=_("receive messages"))
    message = RequestMessage.objects.create(
        request=request, author=by, from_staff=True, body=_message_body(body)
    )
    event = _event(request, by=by, action="message", note=message.body)
    _notify(request, event=event, notify_event=EVENT_UPDATED, actor=None, extra={"message": message.body})
    return message


# ---------------------------------------------------------------------------
# Customer: answers, later documents, messages
# ---------------------------------------------------------------------------


def _check_visible(request: Request, membership: Membership) -> None:
    """Views load the request through the tenancy scope already: this guards every other caller."""
    if not visible(Request, membership=membership).filter(pk=request.pk).exists():
        raise PermissionDenied(_("You may not act on this request."))


def _check_open(request: Request, *, step: str) -> None:
    if request.status in DECIDED_STATUSES:
        raise RequestStateError(request, step=step)


def request_answer(
    *,
    request: Request,
    membership: Membership,
    message: str = "",
    files: Iterable[UploadedFile[bytes]] = (),
) -> Request:
    """The customer answers a request for information: a message, documents or both; back to in_review."""
    _check_visible(request, membership)
    uploads = list(files)
    body = message.strip()
    if not body and not uploads:
        raise ValidationError({"message": _("Write an answer or attach a document.")})
    if body:
        body = _message_body(body)
    checked = _checked_all(uploads, field="documents")
    user = membership.user
    with transaction.atomic():
        before = _claim(
            request,
            from_statuses=ANSWER_FROM,
            to_status=RequestStatus.IN_REVIEW,
            step=_("take an answer now"),
        )
        if body:
            RequestMessage.objects.create(request=request, author=user, from_staff=False, body=body)
        for file in checked:
            document_store(request=request, role=ADDITIONAL_DOCUMENT, checked=file, by=user)
        note = body or _("%(count)s document(s) sent.") % {"count": len(checked)}
        event = _event(
            request,
            by=user,
            action="answered",
            status_from=before,
            status_to=RequestStatus.IN_REVIEW,
            note=note,
        )
        _notify(request, event=event, notify_event=EVENT_UPDATED, actor=user, extra={"message": body})
    return request


def request_document_add(
    *, request: Request, membership: Membership, role: str, upload: UploadedFile[bytes]
) -> RequestDocument:
    """A document the kind allows after submission (the theft complaint), or any other while the request is open."""
    _check_visible(request, membership)
    _check_open(request, step=_("take documents now"))
    handler = _handler(request.kind)
    roles = {requirement.role for requirement in handler.documents} | {ADDITIONAL_DOCUMENT}
    if role not in roles or role == RECEIPT_DOCUMENT:
        raise ValidationError({"role": _("This request does not take this document.")})
    (checked,) = _checked_all([upload], field="file")
    user = membership.user
    with transaction.atomic():
        document = document_store(request=request, role=role, checked=checked, by=user)
        event = _event(request, by=user, action="document", note=document_label(handler, role))
        _notify(request, event=event, notify_event=EVENT_UPDATED, actor=user, extra={"document": event.note})
    return document


@transaction.atomic
def request_message_send(*, request: Request, membership: Membership, body: str) -> RequestMessage:
    """The customer writes to staff about an open request."""
    _check_visible(request, membership)
    _check_open(request, step=_("receive messages"))
    message = RequestMessage.objects.create(
        request=request, author=membership.user, from_staff=False, body=_message_body(body)
    )
    event = _event(request, by=membership.user, action="message", note=message.body)
    _notify(
        request,
        event=event,
        notify_event=EVENT_UPDATED,
        actor=membership.user,
        extra={"message": message.body},
    )
    return message


def document_label(handler: RequestKindHandler, role: str) -> str:
    """The words for a document's role: the kind's label, the receipt's, or "Other document"."""
    for requirement in handler.documents:
        if requirement.role == role:
            return str(requirement.label)
    if role in handler.generated_documents:
        return str(handler.generated_documents[role])
    if role == RECEIPT_DOCUMENT:
        return _("Receipt")
    return _("Other document")


def _checked_all(uploads: list[UploadedFile[bytes]], *, field: str) -> list[CheckedFile]:
    checked: list[CheckedFile] = []
    errors: list[str] = []
    for upload in uploads:
        try:
            checked.append(document_check(upload))
        except ValidationError as error:
            errors.extend(f"{upload.name}: {message}" for message in error.messages)
    if errors:
        raise ValidationError({field: errors})
    return checked


def _message_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise ValidationError({"message": _("Write the message.")})
    if len(body) > _MESSAGE_MAX_LENGTH:
        raise ValidationError(
            {"message": _("A message has at most %(max)s characters.") % {"max": _MESSAGE_MAX_LENGTH}}
        )
    return body


# ---------------------------------------------------------------------------
# History and notifications
# ---------------------------------------------------------------------------


def _event(
    request: Request,
    *,
    by: User | None,
    action: str,
    status_from: str = "",
    status_to: str = "",
    note: str = "",
) -> RequestEvent:
    return RequestEvent.objects.create(
        request=request, by=by, action=action, status_from=status_from, status_to=status_to, note=note
    )


def _notify(
    request: Request,
    *,
    event: RequestEvent,
    notify_event: str,
    actor: User | None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Tell the submitter and the company's managers, not the one who made the change.

    The key is the event row's: the same change is told once, however often this runs.
    """
    recipients: dict[int, User] = {request.submitted_by_id: request.submitted_by}
    for manager in company_managers(company=request.company):
        recipients.setdefault(manager.pk, manager)
    if actor is not None:
        recipients.pop(actor.pk, None)
    if not recipients:
        return
    notify(
        company=request.company,
        event=notify_event,
        key=f"request-event-{event.pk}",
        recipients=recipients.values(),
        context={
            "request": request,
            "kind": RequestKind(request.kind).label,
            "action": event.action,
            "status": request.get_status_display(),
            **(extra or {}),
        },
        link=reverse("procedures:request-detail", args=[request.pk]),
    )
