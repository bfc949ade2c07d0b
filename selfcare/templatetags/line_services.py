"""`{% line_services_of line as services %}`: what the line page's Services block shows."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from selfcare.models import Line, LineServiceChange, VasUnlockCode
from selfcare.services.line_services import line_service_history, vas_code_pending

register = template.Library()


@dataclass(frozen=True)
class LineServices:
    history: list[LineServiceChange]
    code_pending: VasUnlockCode | None


@register.simple_tag
def line_services_of(line: Line) -> LineServices:
    # A tag, so that the block works in any page that has the line: the
    # line page includes it without knowing what it needs.
    return LineServices(
        history=list(line_service_history(line=line)),
        code_pending=vas_code_pending(line=line) if line.vas_barred else None,
    )
