"""Fair-use words for templates rendered outside the pages' views: the notifications of a measure.

They run when the template is rendered, so in the language of the message's
recipient (selfcare.services.notifications renders each inside it).
"""

from __future__ import annotations

from django import template
from django.conf import settings

from billing.fair_use_texts import (
    FairUseFigure,
    fair_use_figures,
    fair_use_rule_description,
    fair_use_withdrawal_url,
)
from billing.models import FairUseFinding

register = template.Library()


@register.simple_tag
def fair_use_rule_text(finding: FairUseFinding) -> str:
    """The finding's rule in plain words, with the limits in force now."""
    return fair_use_rule_description(
        rule=finding.rule, period=finding.period, limits=finding.rule.limits.all()
    )


@register.simple_tag
def fair_use_figures_of(finding: FairUseFinding) -> list[FairUseFigure]:
    return fair_use_figures(metrics=finding.metrics)


@register.simple_tag
def fair_use_withdrawal_link(finding: FairUseFinding | None = None) -> str:
    """The full address of the withdrawal form, starting from `finding` when given (for e-mails)."""
    path = fair_use_withdrawal_url(finding_id=finding.pk if finding is not None else None)
    return f"{settings.SITE_URL.rstrip('/')}{path}"
