"""Traffic details with the other party's numbers in clear (DOMAIN.md, "Traffic"; privacy code art. 124).

The request goes through the procedures like every form; the grant that the
traffic downloads read stays billing's `ClearNumbersRequest`, made and
decided by billing.clear_numbers' services:

- submitted: `clear_numbers_request` records the grant, pending; its id is
  kept in `Request.data["clear_numbers_request_id"]`;
- approved: `clear_numbers_approve` opens the window for those lines and days;
- rejected: `clear_numbers_reject` records why.

The form checks the same rules first (the same period rules, the
declaration, the company's lines), so that a refusal shows on its fields
instead of failing the submission.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from billing.clear_numbers import (
    ClearNumbersAlreadyDecidedError,
    _period_errors,  # the period rules of clear_numbers_request, reused so the form says the same
    clear_numbers_approve,
    clear_numbers_reject,
    clear_numbers_request,
)
from billing.forms_clear_numbers import ClearNumbersRequestForm
from billing.models import ClearNumbersRequest
from procedures.kinds.base import RequestKindHandler, register
from procedures.models import Request, RequestKind
from selfcare import permissions

if TYPE_CHECKING:
    from selfcare.models import Membership, User

GRANT_KEY = "clear_numbers_request_id"


class ClearNumbersForm(ClearNumbersRequestForm):
    """Billing's form (lines, period, declaration), with the service's rules checked in `clean`."""

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        self.membership = membership

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("users_informed") and "users_informed" not in self.errors:
            self.add_error(
                "users_informed",
                _(
                    "Declare that the users of these lines have been informed: the request cannot be made without it."
                ),
            )
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if isinstance(start, date) and isinstance(end, date):
            for field, problems in _period_errors(
                company_id=self.membership.company_id, period_start=start, period_end=end
            ).items():
                for problem in problems:
                    self.add_error(field, problem)
        return cleaned


def clear_numbers_grant(request: Request) -> ClearNumbersRequest | None:
    """The grant record billing's downloads read, made when the request was submitted."""
    grant_id = request.data.get(GRANT_KEY)
    if not grant_id:
        return None
    return ClearNumbersRequest.objects.filter(pk=grant_id, company_id=request.company_id).first()


@register
class ClearNumbersHandler(RequestKindHandler):
    kind = RequestKind.CLEAR_NUMBERS
    description = _(
        "Ask for the other party's full numbers in the traffic details of some lines, for a period of "
        "invoiced traffic of the last six months, declaring that the users of those lines have been informed "
        "(Italian privacy code, art. 124). Once approved, the traffic reports of those lines and days show "
        "the full numbers to the legal representatives and administrators, and every such download is recorded."
    )
    who_may_submit = _("Only the company's legal representative.")
    form_class = ClearNumbersForm
    summary_template = "procedures/kinds/clear_numbers_summary.html"

    def may_submit(self, membership: Membership) -> bool:
        return permissions.can_sign_legal_forms(membership)

    def on_submitted(self, request: Request, *, membership: Membership) -> None:
        """Record billing's grant, pending; its ValidationError (keyed by field) refuses the submission."""
        grant = clear_numbers_request(
            membership=membership,
            line_ids=list(request.lines.values_list("pk", flat=True)),
            period_start=date.fromisoformat(str(request.data["period_start"])),
            period_end=date.fromisoformat(str(request.data["period_end"])),
            users_informed=bool(request.data.get("users_informed")),
        )
        request.data = {**request.data, GRANT_KEY: grant.pk}
        request.save(update_fields=["data", "updated_at"])

    def on_approved(self, request: Request, *, by: User) -> None:
        """Open the window: the downloads of those lines and days show numbers in clear."""
        grant = self._grant(request)
        try:
            clear_numbers_approve(request=grant, by=by)
        except ClearNumbersAlreadyDecidedError as error:
            raise ValidationError(str(error)) from error

    def on_rejected(self, request: Request, *, by: User, reason: str) -> None:
        grant = self._grant(request)
        # The grant keeps a reason; the mechanism may let staff reject without one.
        reason = reason.strip() or gettext_now("Rejected by our staff: see the request's messages.")
        try:
            clear_numbers_reject(request=grant, by=by, reason=reason)
        except ClearNumbersAlreadyDecidedError as error:
            raise ValidationError(str(error)) from error

    @staticmethod
    def _grant(request: Request) -> ClearNumbersRequest:
        grant = clear_numbers_grant(request)
        if grant is None:
            raise ValidationError(
                gettext_now("This request has no record of the lines and period asked for.")
            )
        return grant


def clear_numbers_procedures(*, company_id: int) -> dict[int, tuple[int, str]]:
    """The company's grants and the requests they came from: {grant id: (request id, reference)}; one query."""
    rows = Request.objects.filter(company_id=company_id, kind=RequestKind.CLEAR_NUMBERS).values_list(
        "pk", "reference", f"data__{GRANT_KEY}"
    )
    return {int(grant_id): (pk, reference) for pk, reference, grant_id in rows if grant_id}


def clear_numbers_procedure_of(grant: ClearNumbersRequest) -> Request | None:
    """The request a grant came from (None for a grant asked before the procedures handled them)."""
    return (
        Request.objects.filter(company_id=grant.company_id, kind=RequestKind.CLEAR_NUMBERS)
        .filter(**{f"data__{GRANT_KEY}": grant.pk})
        .first()
    )
