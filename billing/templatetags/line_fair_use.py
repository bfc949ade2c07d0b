"""`{% line_fair_use_of line as fair_use %}`: the fair-use section of the line page (templates/selfcare/lines/detail_fair_use.html)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from billing.selectors_fair_use import LineFairUse, line_fair_use
from selfcare.models import Line

register = template.Library()


@register.simple_tag
def line_fair_use_of(line: Line) -> LineFairUse:
    """The line's open findings and measures in force or to come, today (Rome): two queries.

    The line was loaded through the tenancy scope by the page's view.
    """
    return line_fair_use(line=line, day=timezone.localdate())
