"""Starting a billing run from the admin, and following its progress.

The form asks for a past month; `billing.services.billing_run_start` opens
the run and has a Celery worker bill it (never the request), refusing a
month billed or being billed. The mixin below gives billing.admin's
BillingRunAdmin the start page and the progress fragment that the run's
pages poll (htmx) while it runs; the shared admin module only names it.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.models import BillingRun, BillingRunStatus
from billing.services import BillingRunRefusedError, billing_run_start
from selfcare.models import User

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class BillingRunStartForm(forms.Form):
    month = forms.CharField(
        label=_("Month to bill"),
        max_length=7,
        help_text=_("As YYYY-MM, for example 2026-09: a month that is over."),
        # A month picker where the browser has one; YYYY-MM typed elsewhere.
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM", "autocomplete": "off"}),
    )

    def clean_month(self) -> tuple[int, int]:
        value = self.cleaned_data["month"].strip()
        match = _MONTH.match(value)
        if match is None:
            raise forms.ValidationError(gettext("Write the month as YYYY-MM, for example 2026-09."))
        year, month = int(match.group(1)), int(match.group(2))
        today = timezone.localdate()
        if (year, month) >= (today.year, today.month):
            raise forms.ValidationError(
                gettext("%(month)s is not over yet: only a past month can be billed.") % {"month": value}
            )
        return year, month


def billing_run_percent(run: BillingRun) -> int:
    """How far the run is, in whole percent of its chunks (a run with no chunk is done when done)."""
    if not run.chunks_total:
        return 100 if run.status == BillingRunStatus.DONE else 0
    return min(100, run.chunks_done * 100 // run.chunks_total)


class BillingRunAdminMixin(admin.ModelAdmin[BillingRun]):
    """The start page (`billing.add_billingrun`, which the Billing staff group has) and the progress fragment."""

    change_list_template = "admin/billing/billingrun/change_list.html"
    change_form_template = "admin/billing/billingrun/change_form.html"

    def has_start_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.add_billingrun")

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "start/",
                self.admin_site.admin_view(self.start_view),
                name=f"{opts.app_label}_{opts.model_name}_start",
            ),
            path(
                "<int:run_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name=f"{opts.app_label}_{opts.model_name}_progress",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("progress"))
    def progress(self, run: BillingRun) -> SafeString:
        percent = billing_run_percent(run)
        return format_html(
            '<progress max="100" value="{}" aria-label="{}">{}%</progress> {}%',
            percent,
            gettext("Chunks done"),
            percent,
            percent,
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_start_run": self.has_start_permission(request),
            # The list refreshes itself while a run is running.
            "a_run_is_running": BillingRun.objects.filter(status=BillingRunStatus.RUNNING).exists(),
        }
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "run": run,
            "percent": billing_run_percent(run) if run is not None else 0,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_start_permission(request):
            raise PermissionDenied
        user = request.user
        if not isinstance(user, User):  # the admin site lets only signed-in staff here
            raise PermissionDenied
        form = BillingRunStartForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            year, month = form.cleaned_data["month"]
            try:
                run = billing_run_start(year=year, month=month, by=user)
            except BillingRunRefusedError as refusal:
                form.add_error(None, str(refusal))
            else:
                self.message_user(
                    request,
                    gettext("The billing run of %(month)s has started: this page follows its progress.")
                    % {"month": f"{year}-{month:02d}"},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:billing_billingrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Start a billing run"),
            "opts": self.model._meta,
            "form": form,
            "is_popup": IS_POPUP_VAR in request.GET,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/billing/billingrun/start.html", context)

    def progress_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        """The run's progress as a fragment, which replaces itself every few seconds while the run runs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(BillingRun, pk=run_id)
        return TemplateResponse(
            request,
            "admin/billing/billingrun/_progress.html",
            {"run": run, "percent": billing_run_percent(run)},
        )
