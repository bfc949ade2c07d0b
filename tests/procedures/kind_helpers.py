"""Helpers of the kinds' tests (takeover, withdrawal, theft or loss, numbers in clear): requests made directly."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from procedures.models import Request, RequestKind
from selfcare.models import Line, Membership

_references = itertools.count(1)


def make_request(
    membership: Membership,
    kind: RequestKind,
    *,
    data: dict[str, Any] | None = None,
    lines: Iterable[Line] = (),
    submitted_at: datetime | None = None,
    **fields: Any,
) -> Request:
    """A request row as the mechanism would leave it at submission, without running the kind's hooks."""
    request = Request.objects.create(
        company_id=membership.company_id,
        kind=kind,
        reference=f"R-TEST-{next(_references):06d}",
        submitted_by=membership.user,
        data=data or {},
        **fields,
    )
    if submitted_at is not None:
        Request.objects.filter(pk=request.pk).update(submitted_at=submitted_at)
        request.submitted_at = submitted_at
    request.lines.set(list(lines))
    return request


def aware(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))
