"""Staff's work queue of requests: by kind and status, deadlines first, each step a small form calling the services.

Requests are never edited here. Each step (start the review, ask for
information, approve, reject, assign, write to the customer) has its own
form page and calls procedures.services, the same functions as everything
else: they claim the request in its status (two staff never both decide),
record the history, audit and tell the customer. Documents open inline from
private storage, for staff with the view permission only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from procedures.documents import document_response
from procedures.models import Request, RequestDocument, RequestEvent, RequestMessage, RequestStatus
from procedures.selectors import request_page
from procedures.services import (
    APPROVE_FROM,
    ASK_INFO_FROM,
    REJECT_FROM,
    REVIEW_FROM,
    RequestStateError,
    document_label,
    request_approve,
    request_ask_info,
    request_assign,
    request_reject,
    request_review_start,
    request_staff_message_send,
)
from selfcare.admin_base import AdminStep, ReadOnlyModelAdmin, StepsAdminMixin, admin_staff_user
from selfcare.models import User
from selfcare.services.audit import audit_record

# Deciding a request is changing it: the "Procedures" staff group has this permission.
DECIDE_PERMISSION = "procedures.change_request"
OPEN_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW, RequestStatus.NEEDS_INFO)


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the customer"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional: added to the message the customer receives."),
    )


class EmptyForm(forms.Form):
    pass


class AskInfoForm(forms.Form):
    message = forms.CharField(
        label=_("What the customer must send or tell"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The customer reads it in the portal and by e-mail, and answers there."),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the rejection"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The customer reads it."),
    )


class MessageForm(forms.Form):
    message = forms.CharField(
        label=_("Message to the customer"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )


class AssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by("name", "email"),
        required=False,
        empty_label=_("Nobody"),
    )


def _review(request: Request, by: User, data: dict[str, Any]) -> str:
    request_review_start(request=request, by=by)
    return gettext("Review started: the customer has been told.")


def _ask_info(request: Request, by: User, data: dict[str, Any]) -> str:
    request_ask_info(request=request, by=by, message=data["message"])
    return gettext("Information asked for: the customer has been told.")


def _approve(request: Request, by: User, data: dict[str, Any]) -> str:
    request_approve(request=request, by=by, note=data.get("note") or "")
    return gettext("Request approved: its effect is applied and the customer has been told.")


def _reject(request: Request, by: User, data: dict[str, Any]) -> str:
    request_reject(request=request, by=by, reason=data["reason"])
    return gettext("Request rejected: the customer has been told the reason.")


def _assign(request: Request, by: User, data: dict[str, Any]) -> str:
    request_assign(request=request, by=by, to=data.get("assigned_to"))
    return gettext("Assignment saved.")


def _message(request: Request, by: User, data: dict[str, Any]) -> str:
    request_staff_message_send(request=request, by=by, body=data["message"])
    return gettext("Message sent to the customer.")


STEPS: dict[str, AdminStep[Request]] = {
    step.slug: step
    for step in (
        AdminStep("review", _("Start the review"), _("Start the review"), EmptyForm, REVIEW_FROM, _review),
        AdminStep(
            "ask-info",
            _("Ask for information"),
            _("Send the request for information"),
            AskInfoForm,
            ASK_INFO_FROM,
            _ask_info,
        ),
        AdminStep("approve", _("Approve"), _("Approve the request"), NoteForm, APPROVE_FROM, _approve),
        AdminStep("reject", _("Reject"), _("Reject the request"), RejectForm, REJECT_FROM, _reject),
        AdminStep("assign", _("Assign"), _("Save the assignment"), AssignForm, OPEN_STATUSES, _assign),
        AdminStep(
            "message", _("Write to the customer"), _("Send the message"), MessageForm, OPEN_STATUSES, _message
        ),
    )
}


class DueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("overdue", _("Overdue")), ("week", _("Within 7 days")), ("none", _("No deadline"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Request]) -> QuerySet[Request]:
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.filter(due_on__lt=today).exclude(
                status__in=[RequestStatus.APPROVED, RequestStatus.REJECTED]
            )
        if self.value() == "week":
            return queryset.filter(due_on__gte=today, due_on__lte=today + timedelta(days=7))
        if self.value() == "none":
            return queryset.filter(due_on__isnull=True)
        return queryset


class _ReadOnlyInline:
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RequestDocumentInline(_ReadOnlyInline, admin.TabularInline[RequestDocument, Request]):
    model = RequestDocument
    fields = readonly_fields = (
        "view",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "generated",
        "uploaded_by",
        "uploaded_at",
    )

    @admin.display(description=_("document"))
    def view(self, document: RequestDocument) -> SafeString:
        url = reverse("admin:procedures_request_document", args=[document.request_id, document.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            url,
            document_label(_handler_of(document.request), document.role),
        )


def _handler_of(request: Request) -> Any:
    from procedures.kinds import handler_for

    return handler_for(request.kind)


class RequestMessageInline(_ReadOnlyInline, admin.TabularInline[RequestMessage, Request]):
    model = RequestMessage
    fields = readonly_fields = ("sent_at", "author", "from_staff", "body")


class RequestEventInline(_ReadOnlyInline, admin.TabularInline[RequestEvent, Request]):
    model = RequestEvent
    fields = readonly_fields = ("at", "by", "action", "status_from", "status_to", "note")
    verbose_name_plural = _("history")


_FIELDS = (
    "reference",
    "kind",
    "company",
    "status",
    "submitted_by",
    "submitted_at",
    "due_on",
    "assigned_to",
    "decided_at",
    "line_numbers",
    "data_summary",
)


@admin.register(Request)
class RequestAdmin(StepsAdminMixin[Request], ReadOnlyModelAdmin[Request]):
    """The work queue: open requests with the nearest deadline first; each step from the request's page."""

    list_display = ["reference", "kind", "company", "status", "deadline", "assigned_to", "submitted_at"]
    list_filter = [
        "kind",
        "status",
        DueFilter,
        ("assigned_to", admin.RelatedOnlyFieldListFilter),
        ("company", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["=reference", "company__name", "company__vat_number"]
    list_select_related = ["company", "assigned_to"]
    # Deadlines first, the nearest (overdue) on top; then the oldest submissions.
    ordering = [F("due_on").asc(nulls_last=True), "submitted_at"]
    date_hierarchy = "submitted_at"
    fields = _FIELDS
    readonly_fields = _FIELDS
    inlines = [RequestDocumentInline, RequestMessageInline, RequestEventInline]
    change_form_template = "admin/procedures/request/change_form.html"
    steps = STEPS
    step_template = "admin/procedures/request/step.html"
    step_not_possible = _("The request is now “%(status)s”: this step is not possible.")
    step_refusals = (RequestStateError,)
    actions = ["assign_to_me", "start_review"]

    @admin.display(description=_("deadline"), ordering="due_on")
    def deadline(self, request: Request) -> SafeString | str:
        if request.due_on is None:
            return "—"
        if request.due_on < timezone.localdate() and not request.is_decided:
            return format_html(
                '<strong class="errornote">{} ({})</strong>', request.due_on, gettext("overdue")
            )
        return str(request.due_on)

    @admin.display(description=_("lines"))
    def line_numbers(self, request: Request) -> str:
        return ", ".join(line.number for line in request.lines.order_by("number")) or "—"

    @admin.display(description=_("data"))
    def data_summary(self, request: Request) -> SafeString:
        page = request_page(request=request)
        return format_html(
            "{}",
            render_to_string(
                page.handler.summary_template,
                {"request": page.request, "request_data_items": page.data_items},
            ),
        )

    def has_decide_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    def has_step_permission(self, request: HttpRequest) -> bool:
        return self.has_decide_permission(request)

    def step_url(self, obj: Request, slug: str) -> str:
        return reverse("admin:procedures_request_step", args=[obj.pk, slug])

    def change_url(self, obj: Request) -> str:
        return reverse("admin:procedures_request_change", args=[obj.pk])

    def step_form(self, request: HttpRequest, obj: Request, step: AdminStep[Request]) -> forms.Form:
        if request.method == "POST":
            return step.form_class(request.POST)
        # Assigning offers the current assignee, or the staff member at the keyboard.
        initial = {"assigned_to": obj.assigned_to_id or request.user.pk} if step.slug == "assign" else {}
        return step.form_class(initial=initial)

    def step_context(self, request: HttpRequest, obj: Request, step: AdminStep[Request]) -> dict[str, Any]:
        page = request_page(request=obj)
        return {
            "title": f"{step.title}: {obj.reference}",
            "request_obj": page.request,
            "page": page,
            "request_data_items": page.data_items,
        }

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/step/<slug:slug>/",
                self.admin_site.admin_view(self.step_view),
                name="procedures_request_step",
            ),
            path(
                "<path:object_id>/documents/<int:document_id>/",
                self.admin_site.admin_view(self.document_view),
                name="procedures_request_document",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        steps = self.step_links(request, self.get_object(request, object_id))
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "request_steps": steps}
        )

    @admin.action(description=_("Assign to me"), permissions=["decide"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Request]) -> None:
        self._bulk(request, queryset, lambda row, by: request_assign(request=row, by=by, to=by))

    @admin.action(
        description=_("Start the review (and assign to me when unassigned)"), permissions=["decide"]
    )
    def start_review(self, request: HttpRequest, queryset: QuerySet[Request]) -> None:
        self._bulk(request, queryset, lambda row, by: request_review_start(request=row, by=by))

    def _bulk(
        self, request: HttpRequest, queryset: QuerySet[Request], apply: Callable[[Request, User], Any]
    ) -> None:
        by = admin_staff_user(request)
        done, refused = 0, []
        for row in queryset:
            try:
                apply(row, by)
                done += 1
            except ValidationError as error:
                refused.append(" ".join(error.messages))
        if done:
            self.message_user(
                request, gettext("%(count)s request(s) done.") % {"count": done}, messages.SUCCESS
            )
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    def document_view(self, request: HttpRequest, object_id: str, document_id: int) -> FileResponse:
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404
        document = obj.documents.filter(pk=document_id).first()
        if document is None:
            raise Http404
        # Staff opening a customer's identity or company papers is on record.
        audit_record(
            actor=admin_staff_user(request),
            target=obj,
            event="request_document_viewed",
            details={"reference": obj.reference, "document": document.pk, "role": document.role},
        )
        return document_response(document, inline=True)
