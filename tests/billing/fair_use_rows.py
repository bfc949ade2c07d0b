"""Fair-use findings made directly, as a run would leave them (the checks have their own tests)."""

from __future__ import annotations

from datetime import date
from typing import Any

from billing.models import FairUseFinding, FairUsePeriod, FairUseRule
from selfcare.models import Line

RULE_1_FIGURES = [
    {"metric": "voice_minutes", "measured": "161.00", "limit": "160"},
    {"metric": "sms_count", "measured": "250", "limit": "200"},
]
RULE_4_FIGURES = [
    {"metric": "voice_operator_share", "measured": "0.6250", "limit": "0.40", "operator": "TIM"}
]


def make_finding(
    line: Line,
    *,
    rule: str = "1",
    period: str = FairUsePeriod.DAY,
    period_start: date = date(2026, 11, 20),
    metrics: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> FairUseFinding:
    return FairUseFinding.objects.create(
        company_id=line.company_id,
        line=line,
        rule=FairUseRule.objects.get(code=rule),
        period=period,
        period_start=period_start,
        metrics=RULE_1_FIGURES if metrics is None else metrics,
        **fields,
    )
