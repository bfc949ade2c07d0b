"""Reads of the customer's fair-use pages, the line page and the API: findings, measures, what is in force."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch, Q, QuerySet

from billing.models import (
    FairUseFinding,
    FairUseFindingStatus,
    FairUseMeasure,
    FairUseMeasureKind,
    FairUsePeriod,
)
from selfcare.models import Line, LineStatus, Membership

FINDING_ORDER = ("-period_start", "-id")
# Findings still in the customer's eye: under review, or warned with no measure yet.
FINDINGS_OPEN = (FairUseFindingStatus.OPEN, FairUseFindingStatus.WARNED)


@dataclass(frozen=True)
class FairUseFilters:
    line_id: int | None = None
    status: str = ""
    rule: str = ""
    # A period as CONTRACTS.md writes it: a day (YYYY-MM-DD) or a month (YYYY-MM).
    period: str = ""
    period_start: date | None = None

    @property
    def narrows(self) -> bool:
        return bool(self.line_id or self.status or self.rule or self.period_start)


def fair_use_findings(
    *, membership: Membership, filters: FairUseFilters | None = None
) -> QuerySet[FairUseFinding]:
    """The findings the membership may see (a line user: of assigned lines), newest period first, with their measures."""
    findings = fair_use_filters_apply(
        findings=FairUseFinding.objects.visible_to(membership), filters=filters or FairUseFilters()
    )
    measures = FairUseMeasure.objects.select_related("old_offer", "new_offer").order_by("created_at", "id")
    return (
        findings.select_related("line", "rule")
        .prefetch_related(Prefetch("measures", queryset=measures))
        .order_by(*FINDING_ORDER)
    )


def fair_use_filters_apply(
    *, findings: QuerySet[FairUseFinding], filters: FairUseFilters
) -> QuerySet[FairUseFinding]:
    """Narrows findings already scoped to the caller: shared by the page and the API."""
    if filters.line_id:
        findings = findings.filter(line_id=filters.line_id)
    if filters.status:
        findings = findings.filter(status=filters.status)
    if filters.rule:
        findings = findings.filter(rule__code=filters.rule)
    if filters.period_start is not None:
        period = filters.period or FairUsePeriod.DAY
        findings = findings.filter(period=period, period_start=filters.period_start)
    return findings


def fair_use_filter_lines(*, membership: Membership) -> list[tuple[int, str]]:
    """The lines with a finding the membership may see, as (id, number): the choices of the line filter.

    Only lines with findings, not the company's 2,000 lines: one small query.
    """
    rows = (
        FairUseFinding.objects.visible_to(membership)
        .order_by("line__number", "line_id")
        .values_list("line_id", "line__number")
        .distinct()
    )
    return list(rows)


def fair_use_period_parse(text: str) -> tuple[str, date] | None:
    """A period label (`2026-11-20` for a day, `2026-11` for a month) as (period, first day), or None."""
    text = text.strip()
    try:
        if len(text) == 10:
            return FairUsePeriod.DAY, date.fromisoformat(text)
        if len(text) == 7:
            return FairUsePeriod.MONTH, date.fromisoformat(f"{text}-01")
    except ValueError:
        return None
    return None


def line_data_speed_limited(*, line: Line, day: date) -> bool:
    """Whether a fair-use speed limit is in force on the line on `day` (from its first to its last day, inclusive)."""
    return FairUseMeasure.objects.filter(
        line=line, kind=FairUseMeasureKind.SPEED_LIMIT, starts_on__lte=day, ends_on__gte=day
    ).exists()


@dataclass
class LineFairUse:
    """The line page's fair-use section: what is still open and what is or will be in force."""

    findings: list[FairUseFinding] = field(default_factory=list)
    measures: list[FairUseMeasure] = field(default_factory=list)
    speed_limited: bool = False

    @property
    def any(self) -> bool:
        return bool(self.findings or self.measures)


def line_fair_use(*, line: Line, day: date) -> LineFairUse:
    """The line's open findings and its measures in force or to come: two queries, whatever their number.

    The line was loaded through the tenancy scope by the page: its findings
    are those of its company (a line's history stays with its company).
    """
    findings = list(
        FairUseFinding.objects.filter(line=line, company_id=line.company_id, status__in=FINDINGS_OPEN)
        .select_related("rule")
        .order_by(*FINDING_ORDER)
    )
    in_force = Q(kind=FairUseMeasureKind.SPEED_LIMIT, ends_on__gte=day) | Q(
        kind=FairUseMeasureKind.SUSPENSION, effective_on__gte=day
    )
    if line.status == LineStatus.SUSPENDED:
        # A suspension that took effect stays in view while the line is suspended.
        in_force |= Q(kind=FairUseMeasureKind.SUSPENSION, applied_at__isnull=False)
    measures = list(
        FairUseMeasure.objects.filter(in_force, line=line, company_id=line.company_id)
        .select_related("finding")
        .order_by("starts_on", "effective_on", "id")
    )
    speed_limited = any(
        m.kind == FairUseMeasureKind.SPEED_LIMIT
        and m.starts_on is not None
        and m.ends_on is not None
        and m.starts_on <= day <= m.ends_on
        for m in measures
    )
    return LineFairUse(findings=findings, measures=measures, speed_limited=speed_limited)
