"""The admin of the requests for numbers in clear: staff read them, and approve or reject them.

Staff never edit what the legal representative asked (lines, period,
declaration): the form is read-only. The decision goes through the
services (billing.clear_numbers.clear_numbers_approve / _reject), which
claim the pending request, audit it and tell the requester; the admin
only reports what they did. Registered in billing.admin.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing.clear_numbers import ClearNumbersAlreadyDecidedError, clear_numbers_approve, clear_numbers_reject
from billing.models import ClearNumbersRequest, ClearNumbersStatus
from selfcare.admin_base import ReadOnlyModelAdmin
from selfcare.models import User

# The decision is a change of the request: the group that decides has this permission.
DECIDE_PERMISSION = "billing.change_clearnumbersrequest"

_FIELDS = (
    "company",
    "requested_by",
    "requested_at",
    "line_numbers",
    "period_start",
    "period_end",
    "users_informed",
    "status",
    "decided_by",
    "decided_at",
    "rejection_reason",
)


class ClearNumbersRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the rejection"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Sent to the legal representative, in the portal and by e-mail."),
    )


def _staff_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # the admin site lets only signed-in staff here
        raise PermissionDenied
    return user


class ClearNumbersRequestAdmin(ReadOnlyModelAdmin[ClearNumbersRequest]):
    # What the legal representative asked is never edited: the decision is an action.
    """Legal representatives' requests for numbers in clear: read-only, decided by the actions."""

    list_display = [
        "company",
        "period_start",
        "period_end",
        "line_count",
        "requested_by",
        "requested_at",
        "status",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status", ("company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["company__name"]
    list_select_related = ["company", "requested_by", "decided_by"]
    date_hierarchy = "requested_at"
    fields = _FIELDS
    readonly_fields = _FIELDS
    actions = ["approve", "reject"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClearNumbersRequest]:
        return super().get_queryset(request).prefetch_related("lines")

    @admin.display(description=_("lines"))
    def line_count(self, asked: ClearNumbersRequest) -> int:
        return len(asked.lines.all())

    @admin.display(description=_("lines"))
    def line_numbers(self, asked: ClearNumbersRequest) -> str:
        return ", ".join(sorted(line.number for line in asked.lines.all()))

    def has_decide_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name=f"{opts.app_label}_{opts.model_name}_reject",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Approve the selected requests"), permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ClearNumbersRequest]) -> None:
        user = _staff_user(request)
        approved = 0
        already: list[str] = []
        for asked in queryset.select_related("company", "requested_by"):
            try:
                clear_numbers_approve(request=asked, by=user)
            except ClearNumbersAlreadyDecidedError:
                already.append(str(asked.pk))
            else:
                approved += 1
        if approved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d request approved: the legal representative has been told.",
                    "%(count)d requests approved: the legal representatives have been told.",
                    approved,
                )
                % {"count": approved},
                messages.SUCCESS,
            )
        if already:
            self.message_user(
                request,
                gettext("Only a pending request can be decided; left as they were: %(ids)s")
                % {"ids": ", ".join(already)},
                messages.WARNING,
            )

    @admin.action(description=_("Reject the selected request (asks for the reason)"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[ClearNumbersRequest]) -> HttpResponse | None:
        chosen = list(queryset[:2])
        if len(chosen) != 1 or chosen[0].status != ClearNumbersStatus.PENDING:
            self.message_user(
                request,
                gettext("Select one pending request to reject: each one needs its reason."),
                messages.WARNING,
            )
            return None
        return redirect(reverse("admin:billing_clearnumbersrequest_reject", args=[chosen[0].pk]))

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        asked = self.get_object(request, object_id)
        changelist = reverse("admin:billing_clearnumbersrequest_changelist")
        if asked is None:
            return HttpResponseRedirect(changelist)
        form = ClearNumbersRejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                clear_numbers_reject(
                    request=asked, by=_staff_user(request), reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error("reason", error.message_dict.get("rejection_reason", error.messages))
            except ClearNumbersAlreadyDecidedError as error:
                self.message_user(request, str(error), messages.WARNING)
                return HttpResponseRedirect(changelist)
            else:
                self.message_user(
                    request,
                    gettext("Request rejected: the legal representative has been told the reason."),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(changelist)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reject the request for numbers in clear of %(company)s")
            % {"company": asked.company.name},
            "opts": self.model._meta,
            "original": asked,
            "clear_numbers_request": asked,
            "line_numbers": self.line_numbers(asked),
            "form": form,
            "is_popup": IS_POPUP_VAR in request.GET,
            "has_view_permission": self.has_view_permission(request, asked),
        }
        return TemplateResponse(request, "admin/billing/clearnumbersrequest/reject.html", context)
