"""Withdrawal from the contract, for chosen lines or the whole contract (DOMAIN.md, "Forms and procedures").

- Only the legal representative withdraws.
- It takes effect 30 days after receipt (WITHDRAWAL_NOTICE_DAYS): the
  receipt is the portal's, the day of submission, and the request's
  `due_on` is the effective day.
- Submitting it in the portal is a valid notice (DL 7/2007, art. 1(3), as
  amended by Law 124/2017): the receipt says so (`WITHDRAWAL_VALID_NOTICE`,
  shown by the summary template and by the receipt as `receipt_note`), and a
  letter for PEC or registered post is produced all the same
  (procedures.withdrawal_letter), for a customer who wants one.
- It is free of penalties when it follows a fair-use measure (the operator's
  policy: a measure other than a warning entitles the customer to withdraw
  without penalties; `FairUseMeasure.entitles_withdrawal`): the form finds
  the measure, from the finding the customer came from or among the
  company's, and the request keeps it and says why.
- Approval does nothing at once; on the effective day the daily task
  (procedures.tasks_withdrawal) ceases the lines (or all the company's lines),
  once.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from auditlog.models import LogEntry
from django import forms
from django.db import transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.models import FairUseFinding, FairUseMeasure, FairUseMeasureKind
from procedures.kinds.base import RequestKindHandler, register
from procedures.models import Request, RequestEvent, RequestKind, RequestStatus
from procedures.withdrawal_letter import LETTER_ROLE
from selfcare import permissions
from selfcare.models import Line, LineStatus
from selfcare.selectors.companies import company_managers
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify

if TYPE_CHECKING:
    from selfcare.models import Membership

# The operator's rule (DOMAIN.md, "Figures in one place"): effective 30 days after receipt.
WITHDRAWAL_NOTICE_DAYS = 30
EVENT_EFFECTIVE = "withdrawal_effective"

# DL 7/2007 ("Bersani"), art. 1(3), as amended by Law 124/2017: the customer may
# withdraw by the same means used to make the contract, online included.
WITHDRAWAL_VALID_NOTICE = _(
    "This withdrawal, submitted in the portal, is a valid notice of withdrawal under art. 1(3) of "
    "Decree-Law 7/2007 as amended by Law 124/2017: you do not need to send anything else. "
    "The letter attached to the request is there if you also want to send it by PEC or registered post."
)


class Scope:
    CONTRACT = "contract"
    LINES = "lines"


def withdrawal_effective_on(*, received_on: date) -> date:
    """The day a withdrawal takes effect: 30 days after its receipt (the operator's rule)."""
    return received_on + timedelta(days=WITHDRAWAL_NOTICE_DAYS)


def entitling_measures(*, company_id: int, line_ids: list[int] | None = None) -> QuerySet[FairUseMeasure]:
    """The company's fair-use measures that entitle it to withdraw without penalties, newest first.

    `line_ids` narrows them to those lines (a withdrawal of some lines
    follows a measure on one of them); None means the whole contract.
    Mirrors `FairUseMeasure.entitles_withdrawal` in SQL.
    """
    measures = FairUseMeasure.objects.filter(company_id=company_id).exclude(kind=FairUseMeasureKind.WARNING)
    if line_ids is not None:
        measures = measures.filter(line_id__in=line_ids)
    return measures.select_related("line").order_by("-created_at", "-pk")


class LinesField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]  # django-stubs: Line
    def label_from_instance(self, obj: Any) -> str:
        line: Line = obj
        return " · ".join(part for part in (line.number, line.cost_centre) if part)


class WithdrawalForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Withdraw from"),
        choices=[
            (Scope.CONTRACT, _("The whole contract: every line")),
            (Scope.LINES, _("The lines chosen below")),
        ],
        widget=forms.RadioSelect,
        initial=Scope.LINES,
    )
    lines = LinesField(
        label=pgettext_lazy("telephone lines", "Lines"),
        queryset=Line.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _("Choose lines of your company that are not ceased."),
            "invalid_pk_value": _("Choose lines of your company that are not ceased."),
        },
    )
    finding = forms.ModelChoiceField(
        label=_("Fair-use measure this withdrawal follows"),
        queryset=FairUseFinding.objects.none(),
        required=False,
        help_text=_("Withdrawing after a fair-use measure is free of penalties."),
    )
    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    effective_understood = forms.BooleanField(
        label=_(
            "I understand that the withdrawal takes effect 30 days after we receive it, and the lines are ceased then."
        ),
        error_messages={"required": _("Confirm that you understand when the withdrawal takes effect.")},
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership
        self.fields["lines"].queryset = (  # type: ignore[attr-defined]
            Line.objects.filter(company_id=membership.company_id)
            .exclude(status=LineStatus.CEASED)
            .order_by("number", "pk")
        )
        # Only the company's findings that had a measure entitling withdrawal.
        self.fields["finding"].queryset = (  # type: ignore[attr-defined]
            FairUseFinding.objects.visible_to(membership)
            .filter(measures__in=entitling_measures(company_id=membership.company_id))
            .select_related("line", "rule")
            .distinct()
            .order_by("-period_start", "-pk")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        scope = cleaned.get("scope")
        if scope == Scope.CONTRACT:
            # The whole contract: every line not ceased today (the task ceases those of the effective day).
            cleaned["lines"] = list(self.fields["lines"].queryset)  # type: ignore[attr-defined]
            if not cleaned["lines"]:
                self.add_error("scope", _("Your company has no line left to withdraw."))
        elif scope == Scope.LINES and not cleaned.get("lines") and "lines" not in self.errors:
            self.add_error("lines", _("Choose the lines to withdraw, or the whole contract."))
        received_on = timezone.localdate()
        cleaned["received_on"] = received_on
        cleaned["effective_on"] = withdrawal_effective_on(received_on=received_on)
        cleaned.update(self._penalty(cleaned))
        return cleaned

    def _penalty(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """Whether the withdrawal is free of penalties, and the measure that makes it so."""
        finding: FairUseFinding | None = cleaned.get("finding")
        lines = list(cleaned.get("lines") or [])
        if finding is not None:
            measures = entitling_measures(company_id=self.membership.company_id).filter(finding=finding)
        else:
            line_ids = None if cleaned.get("scope") == Scope.CONTRACT else [line.pk for line in lines]
            measures = entitling_measures(company_id=self.membership.company_id, line_ids=line_ids)
        measure = measures.first()
        if measure is None:
            return {"penalty_free": False, "measure": None}
        return {
            "penalty_free": True,
            "measure": measure.pk,
            "measure_kind": str(measure.kind),
            "measure_line": measure.line.number,
            "measure_on": timezone.localdate(measure.created_at),
            "finding": measure.finding_id,
        }


@register
class WithdrawalHandler(RequestKindHandler):
    kind = RequestKind.WITHDRAWAL
    description = _(
        "Withdraw from the contract, for some lines or all of them. The withdrawal takes effect 30 days "
        "after we receive it; submitting it here is a valid notice, and a letter for PEC or registered post "
        "is also prepared for you. After a fair-use measure it is free of penalties."
    )
    who_may_submit = _("Only the company's legal representative.")
    form_class = WithdrawalForm
    summary_template = "procedures/kinds/withdrawal_summary.html"
    # What the receipt must say (DL 7/2007 art. 1(3)): read by procedures/requests/receipt_pdf.html.
    receipt_note = WITHDRAWAL_VALID_NOTICE
    generated_documents = {LETTER_ROLE: _("Letter of withdrawal, for PEC or registered post")}

    def may_submit(self, membership: Membership) -> bool:
        return permissions.can_sign_legal_forms(membership)

    def on_submitted(self, request: Request, *, membership: Membership) -> None:
        """Prepare the letter for PEC or registered post, kept with the request (role "letter")."""
        from procedures.withdrawal_letter import withdrawal_letter_attach

        withdrawal_letter_attach(request=request)

    def due_on(self, request: Request) -> date | None:
        """The effective day: 30 days after receipt, the day it was submitted (Rome)."""
        received = timezone.localdate(request.submitted_at) if request.submitted_at else timezone.localdate()
        return withdrawal_effective_on(received_on=received)


def measure_kind_label(kind: str) -> str:
    return str(dict(FairUseMeasureKind.choices).get(kind, kind))


# ---------------------------------------------------------------------------
# The effective day: the lines are ceased, once
# ---------------------------------------------------------------------------
def withdrawals_due(*, today: date) -> QuerySet[Request]:
    """Approved withdrawals whose effective day has come and that have not taken effect yet.

    Only approved ones: staff check who signed before lines stop. One
    approved after its effective day takes effect at the next run, ceased
    as of its effective day.
    """
    done = RequestEvent.objects.filter(action=EVENT_EFFECTIVE).values("request_id")
    return (
        Request.objects.filter(kind=RequestKind.WITHDRAWAL, status=RequestStatus.APPROVED, due_on__lte=today)
        .exclude(pk__in=done)
        .order_by("due_on", "pk")
    )


def withdrawal_take_effect(*, request: Request) -> list[str]:
    """Cease the withdrawn lines as of the effective day; the numbers ceased ([] if it took effect already).

    The request's row is locked and its history checked, so that two runs
    at once cease once; lines ceased meanwhile (by the feed) are left alone.
    """
    if request.due_on is None:  # every withdrawal has its effective day from its submission
        return []
    effective_on = request.due_on
    with transaction.atomic():
        locked = Request.objects.select_for_update().select_related("company").get(pk=request.pk)
        if locked.status != RequestStatus.APPROVED:
            return []
        if RequestEvent.objects.filter(request=locked, action=EVENT_EFFECTIVE).exists():
            return []
        if locked.data.get("scope") == Scope.CONTRACT:
            lines = Line.objects.filter(company_id=locked.company_id)
        else:
            lines = locked.lines.filter(company_id=locked.company_id)
        lines = lines.exclude(status=LineStatus.CEASED).select_for_update()
        numbers = sorted(line.number for line in lines)
        Line.objects.filter(pk__in=[line.pk for line in lines]).update(
            status=LineStatus.CEASED, ceased_on=effective_on, updated_at=timezone.now()
        )
        RequestEvent.objects.create(
            request=locked,
            by=None,
            action=EVENT_EFFECTIVE,
            note=gettext_now("Withdrawal effective on %(day)s: lines ceased: %(numbers)s")
            % {"day": effective_on.isoformat(), "numbers": ", ".join(numbers) or "—"},
        )
        audit_record(
            actor=None,
            target=locked,
            event="withdrawal_lines_ceased",
            details={
                "company_id": locked.company_id,
                "ceased_on": effective_on.isoformat(),
                "numbers": numbers,
                "scope": locked.data.get("scope"),
            },
            action=LogEntry.Action.UPDATE,
        )
        try:
            link = reverse("procedures:request-detail", kwargs={"pk": locked.pk})
        except NoReverseMatch:  # the request pages are the procedures' mechanism's
            link = ""
        notify(
            company=locked.company,
            event="withdrawal_effective",
            key=f"withdrawal-effective-{locked.pk}",
            recipients=company_managers(company=locked.company),
            context={"procedure": locked, "effective_on": effective_on, "line_numbers": numbers},
            link=link,
        )
    return numbers


def withdrawals_take_effect(*, today: date | None = None) -> int:
    """The daily run: every approved withdrawal whose day has come takes effect; how many did."""
    today = today or timezone.localdate()
    done = 0
    for request in withdrawals_due(today=today):
        withdrawal_take_effect(request=request)
        done += 1
    return done
