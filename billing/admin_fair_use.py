"""The fair-use admin: the policy's rules and limits, the runs, and the findings staff decide.

Findings are never edited: each decision (send the warning, limit the data
speed, suspend with notice, change the plan, dismiss) is an action that opens
its own form page and goes through one service of billing.fair_use_measures,
which claims the finding (two staff never both act), audits the decision and
tells the company's managers. The admin only reports what they did.
Registered in billing.admin.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.fair_use_measures import (
    DECIDABLE,
    WARNABLE,
    FairUseMeasureRefusedError,
    fair_use_dismiss,
    fair_use_finding_warn,
    fair_use_plan_change,
    fair_use_speed_limit,
    fair_use_suspend,
)
from billing.fair_use_texts import fair_use_figures, fair_use_rule_description
from billing.models import (
    FairUseChunk,
    FairUseFinding,
    FairUseLimit,
    FairUseMeasure,
    FairUseRule,
    FairUseRun,
)
from selfcare.admin_base import AdminStep, ReadOnlyModelAdmin, StepsAdminMixin
from selfcare.models import Offer, User

# Deciding a finding is changing it: the "Fraud and fair use" group has this permission.
DECIDE_PERMISSION = "billing.change_fairusefinding"


def _date_input() -> forms.DateInput:
    # The browser's own date picker: keyboard-accessible, and no admin JavaScript to load.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


_NOTE = forms.CharField(
    label=_("Note to the customer"),
    required=False,
    max_length=1000,
    widget=forms.Textarea(attrs={"rows": 3}),
    help_text=_("Optional: added to the message the company's managers receive, and shown in the portal."),
)


class FairUseWarnForm(forms.Form):
    note = _NOTE


class FairUseSpeedLimitForm(forms.Form):
    starts_on = forms.DateField(label=_("Limited from"), widget=_date_input())
    ends_on = forms.DateField(
        label=_("Limited until"), widget=_date_input(), help_text=_("Included: the last day of the limit.")
    )
    note = _NOTE

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        start, end = cleaned.get("starts_on"), cleaned.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", gettext("The limit must end on or after the day it starts."))
        return cleaned


class FairUseSuspendForm(forms.Form):
    notice_on = forms.DateField(
        label=_("Notice given on"),
        widget=_date_input(),
        help_text=_("The company's managers are told now, with this date as the notice's."),
    )
    effective_on = forms.DateField(
        label=_("Suspended from"),
        widget=_date_input(),
        help_text=_("After the notice: the line is suspended at the start of this day."),
    )
    note = _NOTE

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        notice, effective = cleaned.get("notice_on"), cleaned.get("effective_on")
        if notice and effective and effective <= notice:
            self.add_error(
                "effective_on", gettext("The suspension takes effect after the notice: choose a later day.")
            )
        return cleaned


class FairUsePlanChangeForm(forms.Form):
    new_offer = forms.ModelChoiceField(label=_("New offer"), queryset=Offer.objects.none())
    note = _NOTE

    def __init__(self, *args: Any, finding: FairUseFinding, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The line's own offer is no change; the service refuses an offer paid otherwise, with its reason.
        offers = Offer.objects.exclude(pk=finding.line.offer_id).order_by("name")
        cast("forms.ModelChoiceField[Offer]", self.fields["new_offer"]).queryset = offers


class FairUseDismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the dismissal"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "For staff's records and the audit log; the customer sees only that no measure was taken."
        ),
    )


def _warn(finding: FairUseFinding, by: User, data: dict[str, Any]) -> str:
    if fair_use_finding_warn(finding=finding, by=by, note=data["note"]) is None:
        finding.refresh_from_db()
        raise FairUseMeasureRefusedError(finding)
    return gettext("Warning sent: the company's managers have been told.")


def _speed_limit(finding: FairUseFinding, by: User, data: dict[str, Any]) -> str:
    fair_use_speed_limit(
        finding=finding, by=by, starts_on=data["starts_on"], ends_on=data["ends_on"], note=data["note"]
    )
    return gettext("Data speed limit recorded: the company's managers have been told.")


def _suspend(finding: FairUseFinding, by: User, data: dict[str, Any]) -> str:
    fair_use_suspend(
        finding=finding,
        by=by,
        notice_on=data["notice_on"],
        effective_on=data["effective_on"],
        note=data["note"],
    )
    return gettext("Suspension with notice recorded: the company's managers have been told.")


def _plan_change(finding: FairUseFinding, by: User, data: dict[str, Any]) -> str:
    fair_use_plan_change(finding=finding, by=by, new_offer=data["new_offer"], note=data["note"])
    return gettext("Plan changed: the company's managers have been told.")


def _dismiss(finding: FairUseFinding, by: User, data: dict[str, Any]) -> str:
    fair_use_dismiss(finding=finding, by=by, reason=data["reason"])
    return gettext("Finding dismissed.")


DECISIONS: dict[str, AdminStep[FairUseFinding]] = {
    decision.slug: decision
    for decision in (
        AdminStep(
            "warn", _("Send the warning"), _("Send the warning"), FairUseWarnForm, tuple(WARNABLE), _warn
        ),
        AdminStep(
            "speed-limit",
            _("Limit the data speed"),
            _("Limit the data speed"),
            FairUseSpeedLimitForm,
            tuple(DECIDABLE),
            _speed_limit,
        ),
        AdminStep(
            "suspend",
            _("Suspend with prior notice"),
            _("Record the suspension"),
            FairUseSuspendForm,
            tuple(DECIDABLE),
            _suspend,
        ),
        AdminStep(
            "plan-change",
            _("Change the plan"),
            _("Change the plan"),
            FairUsePlanChangeForm,
            tuple(DECIDABLE),
            _plan_change,
        ),
        AdminStep(
            "dismiss", _("Dismiss"), _("Dismiss the finding"), FairUseDismissForm, tuple(DECIDABLE), _dismiss
        ),
    )
}


def _initial(decision: AdminStep[FairUseFinding]) -> dict[str, Any]:
    today = timezone.localdate()
    if decision.slug == "speed-limit":
        return {"starts_on": today}
    if decision.slug == "suspend":
        return {"notice_on": today}
    return {}


def _figures_html(finding: FairUseFinding) -> SafeString:
    figures = fair_use_figures(metrics=finding.metrics)
    if not figures:
        return format_html("{}", "—")
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((str(f),) for f in figures)))


class FairUseLimitInline(admin.TabularInline[FairUseLimit, FairUseRule]):
    model = FairUseLimit
    extra = 0
    fields = ["period", "metric", "limit"]


@admin.display(description=_("limits"))
def _limits_summary(rule: FairUseRule) -> str:
    return "; ".join(
        f"{limit.get_period_display()} {limit.get_metric_display()} ≤ {limit.limit.normalize()}"
        for limit in rule.limits.all()
    )


class FairUseRuleAdmin(admin.ModelAdmin[FairUseRule]):
    """The policy's rules: staff change limits, minimum bases, whether a rule is checked and whether it warns.

    What a rule means is code (billing.fair_use_checks): its code and scope are read-only.
    Every change is in django-auditlog's log (settings.AUDITLOG_INCLUDE_TRACKING_MODELS).
    """

    list_display = ["code", "name", "scope", "enabled", "warns_automatically", _limits_summary]
    list_filter = ["enabled", "warns_automatically", "scope"]
    fields = [
        "code",
        "scope",
        "description",
        "enabled",
        "warns_automatically",
        "minimum_base_day",
        "minimum_base_month",
    ]
    readonly_fields = ["code", "scope", "description"]
    inlines = [FairUseLimitInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FairUseRule]:
        return super().get_queryset(request).prefetch_related("limits")

    @admin.display(description=_("rule"))
    def name(self, rule: FairUseRule) -> str:
        return rule.get_code_display()

    @admin.display(description=_("in plain words (as the customer reads it)"))
    def description(self, rule: FairUseRule) -> SafeString:
        limits = list(rule.limits.all())
        periods = sorted({limit.period for limit in limits})
        return format_html_join(
            "",
            "<p>{}</p>",
            ((fair_use_rule_description(rule=rule, period=period, limits=limits),) for period in periods),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the policy's rules are seeded by migration; a new rule needs its code

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FairUseChunkInline(admin.TabularInline[FairUseChunk, FairUseRun]):
    model = FairUseChunk
    extra = 0
    fields = ("first_line_id", "last_line_id", "status", "findings_new", "finished_at")
    readonly_fields = ("first_line_id", "last_line_id", "status", "findings_new", "finished_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FairUseRunAdmin(ReadOnlyModelAdmin[FairUseRun]):
    list_display = [
        "period",
        "period_start",
        "status",
        "chunks_done",
        "chunks_total",
        "findings_new",
        "started_at",
        "finished_at",
    ]
    list_filter = ["period", "status"]
    date_hierarchy = "period_start"
    inlines = [FairUseChunkInline]


class FairUseMeasureAdmin(ReadOnlyModelAdmin[FairUseMeasure]):
    """What was decided on each finding: read-only (a measure is recorded by its finding's action)."""

    list_display = [
        "line",
        "company",
        "kind",
        "starts_on",
        "ends_on",
        "notice_on",
        "effective_on",
        "new_offer",
        "applied_at",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", ("company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=line__number", "company__vat_number", "company__name"]
    list_select_related = ["line", "company", "new_offer", "created_by"]
    date_hierarchy = "created_at"


_FINDING_FIELDS = (
    "company",
    "line",
    "rule",
    "rule_in_words",
    "period",
    "period_start",
    "figures",
    "status",
    "created_at",
    "run",
    "warned_at",
    # Rule R: the last day to change the roaming pattern before a surcharge may apply.
    "roaming_change_by",
    "decided_at",
    "decided_by",
    "dismissal_reason",
)


_MEASURE_FIELDS = (
    "kind",
    "starts_on",
    "ends_on",
    "notice_on",
    "effective_on",
    "old_offer",
    "new_offer",
    "note",
)


class FairUseMeasureInline(admin.TabularInline[FairUseMeasure, FairUseFinding]):
    model = FairUseMeasure
    extra = 0
    fields = _MEASURE_FIELDS
    readonly_fields = _MEASURE_FIELDS
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FairUseFindingAdmin(StepsAdminMixin[FairUseFinding], ReadOnlyModelAdmin[FairUseFinding]):
    """Findings: read-only; decided through the actions, each with its own form page."""

    list_display = [
        "line_number",
        "company",
        "rule",
        "period_label",
        "figures",
        "status",
        "created_at",
        "decided_by",
    ]
    list_filter = [
        "status",
        "rule",
        "period",
        ("company", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["=line__number", "line__number", "company__vat_number", "company__name"]
    list_select_related = ["line", "company", "rule", "decided_by"]
    date_hierarchy = "period_start"
    fields = _FINDING_FIELDS
    readonly_fields = _FINDING_FIELDS
    inlines = [FairUseMeasureInline]
    change_form_template = "admin/billing/fairusefinding/change_form.html"
    steps = DECISIONS
    step_template = "admin/billing/fairusefinding/decide.html"
    step_not_possible = _("The finding is now “%(status)s”: it cannot take this decision.")
    step_refusals = (FairUseMeasureRefusedError,)
    actions = ["send_warning", "apply_speed_limit", "suspend", "change_plan", "dismiss"]

    @admin.display(description=_("line"), ordering="line__number")
    def line_number(self, finding: FairUseFinding) -> str:
        return finding.line.number

    @admin.display(description=_("period"), ordering="period_start")
    def period_label(self, finding: FairUseFinding) -> str:
        return finding.period_label

    @admin.display(description=_("figures over the limit"))
    def figures(self, finding: FairUseFinding) -> SafeString:
        return _figures_html(finding)

    @admin.display(description=_("the rule in plain words"))
    def rule_in_words(self, finding: FairUseFinding) -> str:
        return fair_use_rule_description(
            rule=finding.rule, period=finding.period, limits=finding.rule.limits.all()
        )

    @admin.display(description=_("Change the roaming pattern by"))
    def roaming_change_by(self, finding: FairUseFinding) -> date | None:
        return finding.roaming_change_by

    def has_decide_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    def has_step_permission(self, request: HttpRequest) -> bool:
        return self.has_decide_permission(request)

    def step_url(self, obj: FairUseFinding, slug: str) -> str:
        return reverse(f"admin:billing_fairusefinding_{slug.replace('-', '_')}", args=[obj.pk])

    def change_url(self, obj: FairUseFinding) -> str:
        return reverse("admin:billing_fairusefinding_change", args=[obj.pk])

    def step_form(
        self, request: HttpRequest, obj: FairUseFinding, step: AdminStep[FairUseFinding]
    ) -> forms.Form:
        # A change of plan offers the offers the line may move to.
        kwargs: dict[str, Any] = {"finding": obj} if step.form_class is FairUsePlanChangeForm else {}
        if request.method == "POST":
            return step.form_class(request.POST, **kwargs)
        return step.form_class(initial=_initial(step), **kwargs)

    def step_context(
        self, request: HttpRequest, obj: FairUseFinding, step: AdminStep[FairUseFinding]
    ) -> dict[str, Any]:
        return {
            "title": gettext("%(decision)s: line %(number)s, rule %(rule)s, %(period)s")
            % {
                "decision": step.title,
                "number": obj.line.number,
                "rule": obj.rule.code,
                "period": obj.period_label,
            },
            "finding": obj,
            "decision": step,
            "rule_in_words": self.rule_in_words(obj),
            "figures": _figures_html(obj),
        }

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                f"<path:object_id>/{slug}/",
                self.admin_site.admin_view(self.step_view),
                {"slug": slug},
                name=f"{opts.app_label}_{opts.model_name}_{slug.replace('-', '_')}",
            )
            for slug in DECISIONS
        ] + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        decisions = self.step_links(request, self.get_object(request, object_id))
        extra_context = {**(extra_context or {}), "fair_use_decisions": decisions}
        return super().change_view(request, object_id, form_url, extra_context)

    def _to_form(
        self, request: HttpRequest, queryset: QuerySet[FairUseFinding], slug: str
    ) -> HttpResponse | None:
        decision = DECISIONS[slug]
        chosen = list(queryset[:2])
        if len(chosen) != 1 or chosen[0].status not in decision.from_statuses:
            self.message_user(
                request,
                gettext("Select one finding that can still take this decision: each one has its own form."),
                messages.WARNING,
            )
            return None
        return redirect(self.step_url(chosen[0], slug))

    @admin.action(description=_("Send the warning (asks for a note)"), permissions=["decide"])
    def send_warning(self, request: HttpRequest, queryset: QuerySet[FairUseFinding]) -> HttpResponse | None:
        return self._to_form(request, queryset, "warn")

    @admin.action(description=_("Limit the data speed (asks for the dates)"), permissions=["decide"])
    def apply_speed_limit(
        self, request: HttpRequest, queryset: QuerySet[FairUseFinding]
    ) -> HttpResponse | None:
        return self._to_form(request, queryset, "speed-limit")

    @admin.action(description=_("Suspend with prior notice (asks for the dates)"), permissions=["decide"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[FairUseFinding]) -> HttpResponse | None:
        return self._to_form(request, queryset, "suspend")

    @admin.action(description=_("Change the plan (asks for the offer)"), permissions=["decide"])
    def change_plan(self, request: HttpRequest, queryset: QuerySet[FairUseFinding]) -> HttpResponse | None:
        return self._to_form(request, queryset, "plan-change")

    @admin.action(description=_("Dismiss (asks for the reason)"), permissions=["decide"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[FairUseFinding]) -> HttpResponse | None:
        return self._to_form(request, queryset, "dismiss")
