"""The other party's number in clear: who may see it, for which lines and days (privacy code, art. 124).

A legal representative asks (ClearNumbersRequest), declaring the line users
informed, for lines and a period of invoiced traffic of the last six months;
staff approve it in the admin. Then the downloads of exactly those lines and
days show full numbers, and each such download is audited (docs/traffic.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing.models import ClearNumbersRequest, ClearNumbersStatus
from selfcare import permissions
from selfcare.models import Membership


@dataclass(frozen=True)
class ClearWindow:
    """A line whose records from `first_day` to `last_day` (Rome days) show the other party in clear."""

    line_id: int
    first_day: date
    last_day: date


def may_see_numbers_in_clear(membership: Membership) -> bool:
    """Those who act for the company: its legal representatives and administrators, never a line user.

    The request is the legal representative's, made for the company; a line
    user's own download stays masked even for a line the request covers
    (docs/traffic.md gives the reading).
    """
    return permissions.can_manage_billing(membership)


def clear_windows_for(membership: Membership) -> list[ClearWindow]:
    """The approved windows of the membership's company, if this user may see numbers in clear; one query."""
    if not may_see_numbers_in_clear(membership):
        return []
    rows = ClearNumbersRequest.lines.through.objects.filter(
        clearnumbersrequest__company_id=membership.company_id,
        clearnumbersrequest__status=ClearNumbersStatus.APPROVED,
    ).values_list("line_id", "clearnumbersrequest__period_start", "clearnumbersrequest__period_end")
    return [ClearWindow(line_id=line_id, first_day=first, last_day=last) for line_id, first, last in rows]
