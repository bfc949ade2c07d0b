"""The customer's fair-use pages: the company's findings and the measures taken on them.

Every member sees them: admins and legal representatives all the company's,
a line user those of the lines assigned to them (FairUseFinding.visible_to).
Each finding says the rule in plain words with its current limits, the
figures over them, and the measures; a measure's notice says that the
customer may withdraw at once without penalties, and links how.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.fair_use_texts import (
    FairUseFigure,
    fair_use_figures,
    fair_use_rule_descriptions,
    fair_use_withdrawal_url,
)
from billing.forms_fair_use import FairUseFilterForm
from billing.models import FairUseFinding, FairUseMeasure
from billing.selectors_fair_use import fair_use_filter_lines, fair_use_findings
from selfcare.views.base import CompanyView

FINDINGS_PER_PAGE = 20


@dataclass(frozen=True)
class FindingRow:
    """A finding as the pages show it, worked out once rather than by template lookups."""

    finding: FairUseFinding
    description: str
    figures: list[FairUseFigure]
    measures: list[FairUseMeasure]

    @property
    def withdrawal_applies(self) -> bool:
        return any(measure.entitles_withdrawal for measure in self.measures)


def finding_rows(findings: Iterable[FairUseFinding]) -> list[FindingRow]:
    """Rows for findings loaded with their rule and measures: two more queries (the rules' words), whatever the count."""
    findings = list(findings)
    if not findings:
        return []
    descriptions = fair_use_rule_descriptions()
    return [
        FindingRow(
            finding=finding,
            description=descriptions.get(
                (finding.rule.code, finding.period), finding.rule.get_code_display()
            ),
            figures=fair_use_figures(metrics=finding.metrics),
            measures=list(finding.measures.all()),
        )
        for finding in findings
    ]


class FairUseListView(CompanyView):
    """The findings the member may see, newest period first; filters kept in the query string."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = FairUseFilterForm(request.GET or None, lines=fair_use_filter_lines(membership=self.membership))
        filters = form.filters()
        findings = fair_use_findings(membership=self.membership, filters=filters)
        page = Paginator(findings, FINDINGS_PER_PAGE).get_page(request.GET.get("page"))
        return render(
            request,
            "billing/fair_use/list.html",
            {
                "form": form,
                "filters": filters,
                "page": page,
                "rows": finding_rows(page),
                "query": form.query(),
                "withdrawal_url": fair_use_withdrawal_url(),
            },
        )


class FairUseFindingView(CompanyView):
    """One finding with its measures. Another company's, or a line user's unassigned line's, is 404."""

    tenant_model = FairUseFinding

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        finding = fair_use_findings(membership=self.membership).get(pk=self.object.pk)
        (row,) = finding_rows([finding])
        return render(
            request,
            "billing/fair_use/detail.html",
            {
                "row": row,
                "finding": finding,
                "withdrawal_url": fair_use_withdrawal_url(finding_id=finding.pk),
            },
        )
