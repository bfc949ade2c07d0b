"""What is done about a fair-use finding: the warning, and staff's measures (DOMAIN.md, "Fair use").

Each measure is a `FairUseMeasure` row written with the finding's new status
in one transaction, audited, and told to the company's managers through the
notification outbox. A finding's status moves only from a state that allows
it (`filter(pk=…, status__in=…).update(…) == 1`), so two staff members, or
the run and a staff member, never both act on one finding.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import FairUseFinding, FairUseFindingStatus, FairUseMeasure, FairUseMeasureKind
from selfcare.models import Line, LineStatus, Offer, User
from selfcare.selectors.companies import company_managers
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify

# Statuses from which a warning may still be sent: once per finding.
WARNABLE = (FairUseFindingStatus.OPEN,)
# Statuses from which staff may still decide: a warned finding may still get a
# measure (the warning was not heeded) or be dismissed; a measure or a dismissal is final.
DECIDABLE = (FairUseFindingStatus.OPEN, FairUseFindingStatus.WARNED)


class FairUseMeasureRefusedError(Exception):
    """The finding's state does not allow this measure (already decided, or dismissed)."""

    def __init__(self, finding: FairUseFinding) -> None:
        super().__init__(
            _("The finding of %(number)s is now “%(status)s”: another decision was taken first.")
            % {"number": finding.line.number, "status": finding.get_status_display()}
        )
        self.finding = finding


def fair_use_finding_warn(
    *, finding: FairUseFinding, by: User | None, note: str = ""
) -> FairUseMeasure | None:
    """Send the company the warning for `finding`, once: None when it was warned or decided already.

    `by` is the staff member who sends it, or None for the automatic warning
    of the rules that warn by themselves (rules 1-7). `note` is staff's own
    words to the customer, added to the message.
    """
    with transaction.atomic():
        now = timezone.now()
        claimed = FairUseFinding.objects.filter(pk=finding.pk, status__in=WARNABLE).update(
            status=FairUseFindingStatus.WARNED, warned_at=now, decided_at=now, decided_by=by
        )
        if claimed != 1:
            return None
        finding.refresh_from_db()
        measure = FairUseMeasure.objects.create(
            finding=finding,
            company_id=finding.company_id,
            line_id=finding.line_id,
            kind=FairUseMeasureKind.WARNING,
            applied_at=now,
            note=note.strip(),
            created_by=by,
        )
        fair_use_measure_record(measure=measure, by=by)
    return measure


def fair_use_measure_record(*, measure: FairUseMeasure, by: User | None) -> None:
    """Audit `measure` and tell the company's managers, in the caller's transaction."""
    finding = measure.finding
    audit_record(
        actor=by,
        target=finding,
        event=f"fair_use_{measure.kind}",
        details={
            "measure": measure.pk,
            **_finding_details(finding),
            "automatic": by is None,
            # What was decided, so that the log alone says it (the measure row is never edited).
            **{
                name: value.isoformat()
                for name in ("starts_on", "ends_on", "notice_on", "effective_on")
                if (value := getattr(measure, name)) is not None
            },
            **({"old_offer": measure.old_offer.code} if measure.old_offer else {}),
            **({"new_offer": measure.new_offer.code} if measure.new_offer else {}),
        },
    )
    notify(
        company=finding.company,
        event="fair_use_measure",
        key=f"fair-use-measure-{measure.pk}",
        recipients=company_managers(company=finding.company),
        context={"measure": measure, "finding": finding, "line": finding.line},
        link=reverse("billing:fair-use-finding", kwargs={"pk": finding.pk}),
    )


def fair_use_speed_limit(
    *, finding: FairUseFinding, by: User, starts_on: date, ends_on: date, note: str = ""
) -> FairUseMeasure:
    """Limit the line's data speed from `starts_on` to `ends_on`, both included (the policy's art. 3.2).

    The limit is in force on the days `line_data_speed_limited` answers True
    for; nothing else changes on the line. Raises ValidationError keyed by
    field, or FairUseMeasureRefusedError when the finding was decided already.
    """
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    if starts_on < today:
        errors["starts_on"] = [_("The limit cannot start in the past.")]
    if ends_on < starts_on:
        errors["ends_on"] = [_("The limit must end on or after the day it starts.")]
    _line_must_be_in_service(finding.line, errors)
    if errors:
        raise ValidationError(errors)
    return _fair_use_measure_take(
        finding=finding,
        by=by,
        kind=FairUseMeasureKind.SPEED_LIMIT,
        fields={"starts_on": starts_on, "ends_on": ends_on, "applied_at": timezone.now()},
        note=note,
    )


def fair_use_suspend(
    *, finding: FairUseFinding, by: User, notice_on: date, effective_on: date, note: str = ""
) -> FairUseMeasure:
    """Suspend the line with prior notice: the company is told now, the line stops on `effective_on`.

    The policy allows suspension only "with prior notice": the effective day
    comes after the notice. The daily task `fair_use_suspensions_apply` sets
    the line suspended on that day and records it in `applied_at`.
    """
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    if notice_on < today:
        errors["notice_on"] = [_("The notice is given with this decision: it cannot be in the past.")]
    if effective_on <= notice_on:
        errors["effective_on"] = [_("The suspension takes effect after the notice: choose a later day.")]
    if finding.line.status != LineStatus.ACTIVE:
        errors.setdefault("effective_on", []).append(
            _("The line is %(status)s: only an active line can be suspended.")
            % {"status": finding.line.get_status_display().lower()}
        )
    if errors:
        raise ValidationError(errors)
    return _fair_use_measure_take(
        finding=finding,
        by=by,
        kind=FairUseMeasureKind.SUSPENSION,
        fields={"notice_on": notice_on, "effective_on": effective_on},
        note=note,
    )


def fair_use_plan_change(
    *, finding: FairUseFinding, by: User, new_offer: Offer, note: str = ""
) -> FairUseMeasure:
    """Move the line to `new_offer` now; the measure keeps the offer it had before.

    Only to an offer paid the same way: moving a prepaid line to an invoiced
    offer (or back) is a change of contract, not a replacement of the plan.
    """
    line = Line.objects.select_related("offer").get(pk=finding.line_id)
    errors: dict[str, list[str]] = {}
    if new_offer.pk == line.offer_id:
        errors["new_offer"] = [_("The line already has this offer: choose another one.")]
    elif new_offer.payment != line.offer.payment:
        errors["new_offer"] = [
            _("Choose an offer paid like the line's current one (%(payment)s).")
            % {"payment": line.offer.get_payment_display().lower()}
        ]
    _line_must_be_in_service(line, errors, field="new_offer")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        measure = _fair_use_measure_take(
            finding=finding,
            by=by,
            kind=FairUseMeasureKind.PLAN_CHANGE,
            fields={"old_offer": line.offer, "new_offer": new_offer, "applied_at": timezone.now()},
            note=note,
        )
        # save(), not update(): django-auditlog records the line's change of offer by itself.
        line.offer = new_offer
        line.save(update_fields=["offer"])
    return measure


def fair_use_dismiss(*, finding: FairUseFinding, by: User, reason: str) -> FairUseFinding:
    """Close the finding with no measure, saying why (for staff's records; audited).

    The company is not told: nothing changes for it, and an open finding of
    the rules that wait for staff was never announced to it.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the finding is dismissed.")]})
    with transaction.atomic():
        now = timezone.now()
        previous = FairUseFinding.objects.filter(pk=finding.pk).values_list("status", flat=True).first()
        claimed = FairUseFinding.objects.filter(pk=finding.pk, status__in=DECIDABLE).update(
            status=FairUseFindingStatus.DISMISSED, decided_at=now, decided_by=by, dismissal_reason=reason
        )
        finding.refresh_from_db()
        if claimed != 1:
            raise FairUseMeasureRefusedError(finding)
        audit_record(
            actor=by,
            target=finding,
            event="fair_use_dismissed",
            details={**_finding_details(finding), "previous_status": previous, "reason": reason},
            action=LogEntry.Action.UPDATE,
        )
    return finding


def fair_use_suspensions_apply(*, day: date | None = None) -> int:
    """Suspend the lines whose suspension takes effect on `day` (today, Rome) or took effect before; idempotent.

    Each measure is claimed (`applied_at` still empty) before its line is
    touched, so two runs of the task on the same day suspend a line once.
    A line no longer active (blocked for theft, ceased) is left as it is:
    the measure is still marked applied, with nothing to do. Returns how
    many lines were suspended.
    """
    day = day or timezone.localdate()
    suspended = 0
    due = FairUseMeasure.objects.filter(
        kind=FairUseMeasureKind.SUSPENSION, effective_on__lte=day, applied_at__isnull=True
    ).values_list("pk", flat=True)
    for measure_id in list(due):
        with transaction.atomic():
            claimed = FairUseMeasure.objects.filter(pk=measure_id, applied_at__isnull=True).update(
                applied_at=timezone.now()
            )
            if claimed != 1:
                continue
            measure = FairUseMeasure.objects.select_related("line", "finding__rule").get(pk=measure_id)
            changed = Line.objects.filter(pk=measure.line_id, status=LineStatus.ACTIVE).update(
                status=LineStatus.SUSPENDED
            )
            # update() sends no signal: django-auditlog would not see the line's new status.
            audit_record(
                actor=None,
                target=measure.line,
                event="fair_use_suspension_applied",
                details={
                    "measure": measure.pk,
                    "finding": measure.finding_id,
                    "effective_on": measure.effective_on.isoformat() if measure.effective_on else None,
                    "suspended": bool(changed),
                },
                action=LogEntry.Action.UPDATE,
            )
            suspended += changed
    return suspended


def _fair_use_measure_take(
    *, finding: FairUseFinding, by: User, kind: FairUseMeasureKind, fields: dict[str, Any], note: str
) -> FairUseMeasure:
    """Claim the finding for a measure and record it: audited, and told to the company's managers."""
    with transaction.atomic():
        now = timezone.now()
        # The claim: of two staff deciding at once (or the run warning meanwhile), one wins, the other is told.
        claimed = FairUseFinding.objects.filter(pk=finding.pk, status__in=DECIDABLE).update(
            status=FairUseFindingStatus.MEASURE, decided_at=now, decided_by=by
        )
        finding.refresh_from_db()
        if claimed != 1:
            raise FairUseMeasureRefusedError(finding)
        measure = FairUseMeasure.objects.create(
            finding=finding,
            company_id=finding.company_id,
            line_id=finding.line_id,
            kind=kind,
            note=note.strip(),
            created_by=by,
            created_at=now,
            **fields,
        )
        fair_use_measure_record(measure=measure, by=by)
    return measure


def _line_must_be_in_service(line: Line, errors: dict[str, list[str]], field: str = "starts_on") -> None:
    if line.status == LineStatus.CEASED:
        errors.setdefault(field, []).append(_("The line has ceased: no measure applies to it any more."))


def _finding_details(finding: FairUseFinding) -> dict[str, Any]:
    return {
        "line": finding.line.number,
        "rule": finding.rule.code,
        "period": finding.period_label,
    }
