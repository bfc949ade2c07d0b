"""The API of fair use: the company's findings with their figures and measures, read-only.

Every member may call it: admins and legal representatives get all the
company's findings, a line user those of assigned lines (FairUseFinding.visible_to);
the filters mean what they mean on the portal's page (billing.selectors_fair_use).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from billing.fair_use_texts import fair_use_figures, fair_use_rule_descriptions, fair_use_withdrawal_url
from billing.models import (
    FairUseFinding,
    FairUseFindingStatus,
    FairUseMeasure,
    FairUseRuleCode,
)
from billing.selectors_fair_use import (
    FairUseFilters,
    fair_use_filters_apply,
    fair_use_findings,
    fair_use_period_parse,
)
from selfcare.api.base import TenantAPIMixin
from selfcare.api.pagination import StableCursorPagination
from selfcare.models import Offer


class FairUseOfferSerializer(serializers.ModelSerializer[Offer]):
    class Meta:
        model = Offer
        fields = ["code", "name"]
        read_only_fields = fields


class FairUseMeasureSerializer(serializers.ModelSerializer[FairUseMeasure]):
    """A measure: the dates that apply to its kind, the offers of a plan change, staff's note."""

    old_offer = FairUseOfferSerializer(read_only=True, allow_null=True)
    new_offer = FairUseOfferSerializer(read_only=True, allow_null=True)
    withdrawal_without_penalties = serializers.SerializerMethodField(
        help_text=_(
            "true for a measure other than a warning: the customer may withdraw at once without penalties."
        )
    )

    class Meta:
        model = FairUseMeasure
        fields = [
            "id",
            "kind",
            "starts_on",
            "ends_on",
            "notice_on",
            "effective_on",
            "applied_at",
            "old_offer",
            "new_offer",
            "note",
            "created_at",
            "withdrawal_without_penalties",
        ]
        read_only_fields = fields

    def get_withdrawal_without_penalties(self, measure: FairUseMeasure) -> bool:
        return measure.entitles_withdrawal


class FairUseFigureSerializer(serializers.Serializer[Any]):
    metric = serializers.CharField(help_text=_("The measured figure, e.g. voice_minutes (docs/fair_use.md)."))
    measured = serializers.CharField(help_text=_("As a decimal string: minutes, items, a fraction or GB."))
    limit = serializers.CharField(help_text=_("The limit in force when the finding was made, same unit."))
    operator = serializers.CharField(required=False, help_text=_("Rule 4: the other operator."))
    month = serializers.CharField(required=False, help_text=_("Rule D2: the month (YYYY-MM)."))
    text = serializers.CharField(help_text=_("The figure and its limit in words, in the caller's language."))


class FairUseFindingSerializer(serializers.ModelSerializer[FairUseFinding]):
    """A finding: the line, the rule (with its words), the period, the figures over the limits, the measures."""

    line = serializers.SerializerMethodField()
    rule = serializers.CharField(source="rule.code", help_text=_("1 to 8, D1 or D2."))
    rule_name = serializers.CharField(source="rule.get_code_display")
    rule_description = serializers.SerializerMethodField(
        help_text=_("The rule in plain words with its limits in force now.")
    )
    period = serializers.CharField(
        source="period_label", help_text=_("YYYY-MM-DD for a day, YYYY-MM for a month.")
    )
    period_kind = serializers.CharField(source="period")
    figures = serializers.SerializerMethodField()
    measures = FairUseMeasureSerializer(many=True, read_only=True)
    roaming_change_by = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "Roaming fair use (rule R), once warned: the last day to change the pattern of roaming "
            "in the EU/EEA before a surcharge may apply; null otherwise."
        ),
    )
    withdrawal_url = serializers.SerializerMethodField(
        help_text=_("Where the customer reads how to withdraw, when a measure allows it.")
    )

    class Meta:
        model = FairUseFinding
        fields = [
            "id",
            "line",
            "rule",
            "rule_name",
            "rule_description",
            "period",
            "period_kind",
            "status",
            "figures",
            "created_at",
            "warned_at",
            "roaming_change_by",
            "decided_at",
            "measures",
            "withdrawal_url",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "number": {"type": "string"}},
            "required": ["id", "number"],
        }
    )
    def get_line(self, finding: FairUseFinding) -> dict[str, Any]:
        return {"id": finding.line_id, "number": finding.line.number}

    def get_rule_description(self, finding: FairUseFinding) -> str:
        descriptions: dict[tuple[str, str], str] = self.context.get("rule_descriptions") or {}
        return descriptions.get((finding.rule.code, finding.period), finding.rule.get_code_display())

    @extend_schema_field(FairUseFigureSerializer(many=True))
    def get_figures(self, finding: FairUseFinding) -> list[dict[str, Any]]:
        texts = fair_use_figures(metrics=finding.metrics)
        return [
            {
                **{
                    key: str(value)
                    for key, value in figure.items()
                    if key in ("metric", "measured", "limit", "operator", "month")
                },
                "text": str(text),
            }
            for figure, text in zip(finding.metrics, texts, strict=True)
        ]

    def get_withdrawal_url(self, finding: FairUseFinding) -> str:
        request = self.context.get("request")
        path = fair_use_withdrawal_url(finding_id=finding.pk)
        return request.build_absolute_uri(path) if request is not None else path


class FairUseFindingFilter(django_filters.FilterSet):
    line = django_filters.NumberFilter(help_text=_("A line's id (GET /api/v1/lines/)."))
    # field_name: the code's column, so that the schema says a string (the rule's id is a number).
    rule = django_filters.ChoiceFilter(field_name="rule__code", choices=FairUseRuleCode.choices)
    status = django_filters.ChoiceFilter(choices=FairUseFindingStatus.choices)
    period = django_filters.CharFilter(
        help_text=_("A day (YYYY-MM-DD) for the daily rules, or a month (YYYY-MM) for the monthly ones.")
    )

    class Meta:
        model = FairUseFinding
        fields = ["line", "rule", "status", "period"]

    def filter_queryset(self, queryset: QuerySet[FairUseFinding]) -> QuerySet[FairUseFinding]:
        data = self.form.cleaned_data
        period = fair_use_period_parse(data.get("period") or "")
        if data.get("period") and period is None:
            # A period that is no period matches nothing, rather than everything.
            return queryset.none()
        line = data.get("line")
        filters = FairUseFilters(
            line_id=int(line) if line is not None else None,
            status=data.get("status") or "",
            rule=data.get("rule") or "",
            period=period[0] if period else "",
            period_start=period[1] if period else None,
        )
        return fair_use_filters_apply(findings=queryset, filters=filters)


class FairUsePagination(StableCursorPagination):
    """Newest first, on the id, which is unique and never changes, so a cursor keeps its place."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class FairUseFindingViewSet(TenantAPIMixin[FairUseFinding], viewsets.ReadOnlyModelViewSet[FairUseFinding]):
    """The company's fair-use findings (a line user's: of assigned lines), each with its measures."""

    tenant_model = FairUseFinding
    serializer_class = FairUseFindingSerializer
    filterset_class = FairUseFindingFilter
    pagination_class = FairUsePagination

    def get_queryset(self) -> QuerySet[FairUseFinding]:
        if self.membership is None:
            return super().get_queryset()
        return fair_use_findings(membership=self.membership)

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if self.membership is None:
            return context  # drf-spectacular builds the schema from a view with no caller
        # The rules' words once per call (two queries), not once per finding.
        return {**context, "rule_descriptions": fair_use_rule_descriptions()}
