"""Admin of the procedures' activation (imported by procedures/admin.py).

Staff see every order with its timeline, whether it is late and the
compensation accrued; they advance an order's step with a small form that
calls the same service as the provisioning system's API
(procedures.activation.activation_step_advance), so a step saved twice is
recorded and notified once. The order's fields are never edited here: they
come from the order, and its step only moves through the service. Orders
are made by the ordering system (procedures.activation.activation_order_create).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from procedures.activation import (
    FINAL_STEPS,
    ActivationStepRefusedError,
    activation_compensation,
    activation_next_steps,
    activation_step_advance,
)
from procedures.forms_activation import ActivationAdvanceForm
from procedures.models import ActivationOrder, ActivationStepEvent
from selfcare.admin_base import ReadOnlyModelAdmin, admin_staff_user

# Advancing a step is a change of the order: the "Procedures" staff group has it (selfcare.staff).
ADVANCE_PERMISSION = "procedures.change_activationorder"

_FIELDS = (
    "reference",
    "company",
    "line",
    "installation_address",
    "services",
    "ordered_on",
    "promised_on",
    "step",
    "appointment_at",
    "completed_on",
    "days_late",
    "compensation_amount",
    "compensation_credit",
    "keep_me_updated",
    "updates_to",
    "updates_sms_to",
    "created_at",
)


class ActivationStepEventInline(admin.TabularInline[ActivationStepEvent, ActivationOrder]):
    """The order's timeline: the steps reached, when and by whom."""

    model = ActivationStepEvent
    extra = 0
    fields = ["step", "reached_at", "by", "note"]
    readonly_fields = ["step", "reached_at", "by", "note"]
    ordering = ["reached_at", "id"]
    verbose_name_plural = _("timeline")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LateFilter(admin.SimpleListFilter):
    title = _("late")
    parameter_name = "late"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Late")), ("credit_due", _("Over, late, not credited yet"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = timezone.localdate()
        over_late = Q(step__in=FINAL_STEPS, completed_on__gt=F("promised_on"))
        if self.value() == "yes":
            return queryset.filter(Q(~Q(step__in=FINAL_STEPS), promised_on__lt=today) | over_late)
        if self.value() == "credit_due":
            return queryset.filter(over_late, compensation_credit__isnull=True)
        return queryset


class ActivationOrderAdmin(ReadOnlyModelAdmin[ActivationOrder]):
    """Activation orders: read-only, with the timeline; "Advance the step" moves them on."""

    list_display = [
        "reference",
        "company",
        "step",
        "ordered_on",
        "promised_on",
        "completed_on",
        "days_late",
        "compensation_amount",
        "credited",
    ]
    list_filter = ["step", LateFilter, ("company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=reference", "company__name", "company__vat_number", "line__number"]
    list_select_related = ["company", "line"]
    date_hierarchy = "ordered_on"
    fields = _FIELDS
    readonly_fields = _FIELDS
    inlines = [ActivationStepEventInline]
    change_form_template = "admin/procedures/activationorder/change_form.html"

    @admin.display(description=_("days late"))
    def days_late(self, order: ActivationOrder) -> int:
        return activation_compensation(order=order, today=_today()).days_late

    @admin.display(description=_("compensation (€)"))
    def compensation_amount(self, order: ActivationOrder) -> str:
        compensation = activation_compensation(order=order, today=_today())
        if not compensation.late:
            return "-"
        if compensation.final:
            return str(compensation.amount)
        return gettext("%(amount)s so far") % {"amount": compensation.amount}

    @admin.display(description=_("credited"), boolean=True)
    def credited(self, order: ActivationOrder) -> bool:
        return order.compensation_credit_id is not None

    def has_advance_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(ADVANCE_PERMISSION)

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/advance/",
                self.admin_site.admin_view(self.advance_view),
                name=f"{opts.app_label}_{opts.model_name}_advance",
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
        order = self.get_object(request, object_id)
        advance_url = ""
        if (
            order is not None
            and self.has_advance_permission(request)
            and activation_next_steps(step=order.step)
        ):
            advance_url = reverse("admin:procedures_activationorder_advance", args=[order.pk])
        extra_context = {**(extra_context or {}), "activation_advance_url": advance_url}
        return super().change_view(request, object_id, form_url, extra_context)

    def advance_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_advance_permission(request):
            raise PermissionDenied
        order = self.get_object(request, object_id)
        if order is None:
            return HttpResponseRedirect(reverse("admin:procedures_activationorder_changelist"))
        change_url = reverse("admin:procedures_activationorder_change", args=[order.pk])
        # A form sent again after the step was saved still reaches the service, which tells it was.
        if request.method != "POST" and not activation_next_steps(step=order.step):
            self.message_user(
                request,
                gettext("The order is “%(step)s”: it has no further step.")
                % {"step": order.get_step_display()},
                messages.WARNING,
            )
            return HttpResponseRedirect(change_url)
        form = ActivationAdvanceForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                advance = activation_step_advance(
                    order=order,
                    step=data["step"],
                    by=admin_staff_user(request),
                    at=data.get("reached_at"),
                    note=data.get("note") or "",
                    appointment_at=data.get("appointment_at"),
                )
            except ActivationStepRefusedError as error:
                self.message_user(request, str(error), messages.WARNING)
                return HttpResponseRedirect(change_url)
            if advance.recorded:
                message = gettext("The order %(reference)s is now at “%(step)s”.") % {
                    "reference": advance.order.reference,
                    "step": advance.order.get_step_display(),
                }
                if advance.order.keep_me_updated:
                    message += " " + gettext("The customer kept updated has been told.")
                self.message_user(request, message, messages.SUCCESS)
            else:
                # A second save of the same step (a double click, a form sent twice): nothing new.
                self.message_user(
                    request,
                    gettext("The order had already reached “%(step)s”: nothing changed.")
                    % {"step": advance.event.get_step_display()},
                    messages.INFO,
                )
            return HttpResponseRedirect(change_url)
        compensation = activation_compensation(order=order, today=_today())
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Advance the activation order %(reference)s") % {"reference": order.reference},
            "opts": self.model._meta,
            "original": order,
            "order": order,
            "compensation": compensation,
            "form": form,
            "is_popup": IS_POPUP_VAR in request.GET,
            "has_view_permission": self.has_view_permission(request, order),
        }
        return TemplateResponse(request, "admin/procedures/activationorder/advance.html", context)


def _today() -> date:
    return timezone.localdate()


admin.site.register(ActivationOrder, ActivationOrderAdmin)
