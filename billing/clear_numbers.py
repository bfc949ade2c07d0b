"""The other party's number in clear: who may see it, for which lines and days (privacy code, art. 124).

A legal representative asks (ClearNumbersRequest), declaring the line users
informed, for lines and a period of invoiced traffic of the last six months;
staff approve it in the admin. Then the downloads of exactly those lines and
days show full numbers, and each such download is audited (docs/traffic.md).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from billing.models import ClearNumbersRequest, ClearNumbersStatus, Invoice, InvoiceKind
from selfcare import permissions
from selfcare.models import Line, Membership, User
from selfcare.services.audit import audit_record


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


# ---------------------------------------------------------------------------
# The request and its decision
# ---------------------------------------------------------------------------
# Privacy code (D.Lgs. 196/2003) art. 124 and the operator's reading of it
# (DOMAIN.md, "Figures in one place"): numbers in clear only for invoiced
# traffic of the last six months.
CLEAR_NUMBERS_MONTHS_BACK = 6


class ClearNumbersNotAllowedError(PermissionDenied):
    """The caller may not ask for numbers in clear: only the company's legal representative may.

    A PermissionDenied, so that a page or an API view that lets it through
    answers 403; its message says who may ask, in the caller's language.
    """

    def __init__(self) -> None:
        super().__init__(_("Only the company's legal representative can ask for the numbers in clear."))


class ClearNumbersAlreadyDecidedError(ValueError):
    """The request was approved or rejected already: a decision is taken once."""

    def __init__(self, request: ClearNumbersRequest) -> None:
        super().__init__(
            _("This request was already decided: %(status)s.") % {"status": request.get_status_display()}
        )
        self.request = request


def _months_before(day: date, months: int) -> date:
    """The same day of the month `months` months earlier; the month's last day where it has no such day."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def clear_numbers_earliest_day(*, today: date | None = None) -> date:
    """The first Rome day a request may cover: the same day of the month six months ago.

    docs/traffic.md, "Numbers in clear": on 2026-12-02 the earliest day is
    2026-06-02; on 2026-08-31 it is 2026-02-28, February having no 31st.
    """
    return _months_before(today or timezone.localdate(), CLEAR_NUMBERS_MONTHS_BACK)


def clear_numbers_last_invoiced_day(*, company_id: int) -> date | None:
    """The last day of the last month the company has an invoice for (credit notes aside); None if none yet.

    docs/traffic.md, "Numbers in clear": "invoiced traffic" is read as the
    months the company has an invoice for, up to the end of the latest one;
    traffic not yet invoiced (this month, or last month before its run) is
    not asked for. One query.
    """
    latest = (
        Invoice.objects.filter(company_id=company_id, kind=InvoiceKind.INVOICE)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    if latest is None:
        return None
    return latest.replace(day=monthrange(latest.year, latest.month)[1])


def clear_numbers_check_may_ask(membership: Membership) -> None:
    """Raise ClearNumbersNotAllowedError unless `membership` is the company's legal representative."""
    if not permissions.can_sign_legal_forms(membership):
        raise ClearNumbersNotAllowedError


def clear_numbers_lines(*, membership: Membership) -> QuerySet[Line]:
    """The lines a request may name: every line of the company, ceased ones included (they had traffic)."""
    return Line.objects.filter(company_id=membership.company_id).order_by("number", "pk")


def clear_numbers_requests(*, membership: Membership) -> QuerySet[ClearNumbersRequest]:
    """The company's requests, newest first, for those who act for it; two queries with their lines."""
    return (
        ClearNumbersRequest.objects.visible_to(membership)
        .select_related("requested_by", "decided_by")
        .prefetch_related(Prefetch("lines", queryset=Line.objects.order_by("number", "pk")))
    )


def _period_errors(*, company_id: int, period_start: date, period_end: date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    earliest = clear_numbers_earliest_day()
    if period_start < earliest:
        errors["period_start"] = [
            _("The numbers in clear cover at most the last six months: start on %(day)s or later.")
            % {"day": date_format(earliest, "SHORT_DATE_FORMAT")}
        ]
    last_invoiced = clear_numbers_last_invoiced_day(company_id=company_id)
    if last_invoiced is None:
        errors["period_end"] = [
            _("The company has no invoice yet: numbers in clear are given for invoiced traffic only.")
        ]
    elif period_end > last_invoiced:
        errors["period_end"] = [
            _("Only invoiced traffic can be asked for: end on %(day)s or earlier, the last invoiced day.")
            % {"day": date_format(last_invoiced, "SHORT_DATE_FORMAT")}
        ]
    if period_end < period_start:
        errors.setdefault("period_end", []).append(_("The end of the period comes before its start."))
    return errors


def clear_numbers_request(
    *,
    membership: Membership,
    line_ids: Iterable[int],
    period_start: date,
    period_end: date,
    users_informed: bool,
) -> ClearNumbersRequest:
    """The legal representative's written request for numbers in clear: recorded pending, audited.

    Rules (DOMAIN.md, "Numbers masked or in clear"; docs/traffic.md):
    only the company's legal representative asks (ClearNumbersNotAllowedError
    otherwise); the lines are the company's; the requester declares the line
    users informed; the period is invoiced traffic of the last six months
    (clear_numbers_earliest_day, clear_numbers_last_invoiced_day). Broken
    rules raise one ValidationError keyed by field (`lines`, `period_start`,
    `period_end`, `users_informed`), and nothing is recorded. Staff decide
    it in the admin; no notification is sent until then.
    """
    clear_numbers_check_may_ask(membership)
    wanted = set(line_ids)
    errors: dict[str, list[str]] = {}
    lines = list(clear_numbers_lines(membership=membership).filter(pk__in=wanted))
    if not wanted:
        errors["lines"] = [_("Choose at least one line.")]
    elif len(lines) != len(wanted):
        # Same answer for another company's line and for an id that does not
        # exist: the error must not tell that a line exists elsewhere.
        errors["lines"] = [_("Choose lines of your company only.")]
    if not users_informed:
        errors["users_informed"] = [
            _(
                "Declare that the users of these lines have been informed: the request cannot be made without it."
            )
        ]
    errors.update(
        {
            field: [*errors.get(field, []), *problems]
            for field, problems in _period_errors(
                company_id=membership.company_id, period_start=period_start, period_end=period_end
            ).items()
        }
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        request = ClearNumbersRequest.objects.create(
            company_id=membership.company_id,
            requested_by=membership.user,
            period_start=period_start,
            period_end=period_end,
            users_informed=True,
        )
        request.lines.set(lines)
        audit_record(
            actor=membership.user,
            target=request,
            event="clear_numbers_requested",
            details={
                "company_id": membership.company_id,
                "line_ids": sorted(line.pk for line in lines),
                "period_start": period_start.isoformat(),
                "period_end": period_end.isoformat(),
                "users_informed": True,
            },
            action=LogEntry.Action.CREATE,
        )
    return request


def clear_numbers_approve(*, request: ClearNumbersRequest, by: User) -> ClearNumbersRequest:
    """Staff approve a pending request: from then on its lines and days show numbers in clear.

    Called by the procedures' review (procedures.kinds.clear_numbers), which
    has checked that `by` may decide and tells the requester, as it does at
    every change of a request. Audited. Raises ClearNumbersAlreadyDecidedError
    unless pending.
    """
    return _clear_numbers_decide(request=request, by=by, status=ClearNumbersStatus.APPROVED, reason="")


def clear_numbers_reject(*, request: ClearNumbersRequest, by: User, reason: str) -> ClearNumbersRequest:
    """Staff reject a pending request, saying why: the requester is told the reason.

    Called by the procedures' review like clear_numbers_approve; the
    procedures tell the requester the reason. A reason is required
    (ValidationError keyed `rejection_reason`); raises
    ClearNumbersAlreadyDecidedError unless pending.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"rejection_reason": [_("Say why the request is rejected: the legal representative is told.")]}
        )
    return _clear_numbers_decide(request=request, by=by, status=ClearNumbersStatus.REJECTED, reason=reason)


def _clear_numbers_decide(
    *, request: ClearNumbersRequest, by: User, status: ClearNumbersStatus, reason: str
) -> ClearNumbersRequest:
    now = timezone.now()
    with transaction.atomic():
        # The claim: of two staff deciding at once, one decides and the other is told.
        claimed = ClearNumbersRequest.objects.filter(pk=request.pk, status=ClearNumbersStatus.PENDING).update(
            status=status, decided_by=by, decided_at=now, rejection_reason=reason
        )
        request.refresh_from_db()
        if claimed != 1:
            raise ClearNumbersAlreadyDecidedError(request)
        audit_record(
            actor=by,
            target=request,
            event=f"clear_numbers_{status}",
            details={
                "company_id": request.company_id,
                "requested_by": request.requested_by_id,
                "line_ids": sorted(request.lines.values_list("pk", flat=True)),
                "period_start": request.period_start.isoformat(),
                "period_end": request.period_end.isoformat(),
                "reason": reason,
            },
            action=LogEntry.Action.UPDATE,
        )
    return request
