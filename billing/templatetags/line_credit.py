"""`{% line_credit_of line as credit %}`: the credit block of the line page (templates/selfcare/lines/detail_credit.html)."""

from __future__ import annotations

from typing import Any

from django import template

from selfcare.models import CreditMovement, Line
from selfcare.services.credit import line_credit_is_low, line_is_prepaid

register = template.Library()

RECENT_MOVEMENTS = 5


@register.simple_tag
def line_credit_of(line: Line) -> dict[str, Any]:
    """The balance, the alert and the last movements of a prepaid line; postpaid lines get only their kind.

    The line was loaded through the tenancy scope by the page's view: its
    movements are its own.
    """
    if not line_is_prepaid(line):
        return {"prepaid": False}
    # Imported here: selfcare.views.credit imports this app's services.
    from selfcare.views.credit import threshold_form_for

    return {
        "prepaid": True,
        "low": line_credit_is_low(line),
        "movements": list(
            CreditMovement.objects.filter(line=line).order_by("-created_at", "-id")[:RECENT_MOVEMENTS]
        ),
        "threshold_form": threshold_form_for(line),
    }
