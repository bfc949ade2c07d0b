"""Theft or loss of a SIM (DOMAIN.md, "Forms and procedures"): the block, the complaint's deadline, the replacement.

- The line is **blocked at once**, in the submission's transaction, before
  anyone reviews the request: a stolen SIM must stop working now. The
  concession fee stays due until the line is ceased (the billing run charges
  every line that is not ceased, blocked ones included).
- A copy of the police complaint is due within seven days of the report
  (THEFT_COMPLAINT_DAYS): the submitter is reminded before the deadline
  (REMINDER_DAYS_LEFT), and staff are alerted once it has passed.
- A replacement physical SIM or eSIM with the same number can be asked for
  with the report; it is ordered when staff approve the request, as a one-off
  charge on the next invoice (REPLACEMENT_SIM_CHARGE).

Each reminder, the escalation and the charge happen once per request, however
often the daily task runs: the request's row is locked and its history
(RequestEvent) says what was done already.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import ExtraCharge, ExtraChargeKind
from procedures.models import Request, RequestDocument, RequestEvent, RequestKind, RequestStatus
from selfcare.models import Channel, Line, LineStatus, SimKind, User
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify

# The operator's rule (DOMAIN.md, "Figures in one place"): the complaint within seven days.
THEFT_COMPLAINT_DAYS = 7
# Reminders when this many days are left before the deadline, each sent once.
REMINDER_DAYS_LEFT = (2, 1)
POLICE_COMPLAINT_ROLE = "police_complaint"
# The operator's price list: a replacement SIM or eSIM profile costs €10.00 excluding VAT,
# charged once on the next invoice (an ExtraCharge of the month the replacement was ordered).
REPLACEMENT_SIM_CHARGE = Decimal("10.00")
# The staff group that processes requests: told when a complaint is late.
PROCEDURES_STAFF_GROUP = "Procedures"

EVENT_BLOCKED = "line_blocked"
EVENT_REMINDER = "complaint_reminder"
EVENT_ESCALATED = "escalated"
EVENT_REPLACEMENT = "replacement_ordered"
# The lines a theft may block: those still working.
BLOCKABLE_STATUSES = (LineStatus.ACTIVE, LineStatus.SUSPENDED)


class ReplacementChoice:
    """What the reporter asks for in place of the lost SIM (stored in Request.data["replacement"])."""

    NONE = ""
    PHYSICAL = SimKind.PHYSICAL.value
    ESIM = SimKind.ESIM.value


def complaint_deadline(*, reported_on: date) -> date:
    """The last day to upload the police complaint: seven days after the report (operator's rule)."""
    return reported_on + timedelta(days=THEFT_COMPLAINT_DAYS)


def line_block_for_theft(*, line: Line, user: User, request: Request | None = None) -> bool:
    """Block a line reported stolen or lost, now; audited. False if it was blocked or ceased already.

    The claim (`update` on the line's working statuses) makes two reports at
    once block it once. Blocking stops the SIM; the line stays the
    company's, and its concession fee stays due until it is ceased.
    """
    blocked = (
        Line.objects.filter(pk=line.pk, status__in=BLOCKABLE_STATUSES).update(
            status=LineStatus.BLOCKED, updated_at=timezone.now()
        )
        == 1
    )
    if not blocked:
        return False
    previous = line.status
    line.status = LineStatus.BLOCKED
    audit_record(
        actor=user,
        target=line,
        event="line_blocked_for_theft",
        details={
            "company_id": line.company_id,
            "number": line.number,
            "status_before": str(previous),
            "request": request.reference if request is not None else None,
        },
        action=LogEntry.Action.UPDATE,
    )
    if request is not None:
        RequestEvent.objects.create(
            request=request,
            by=user,
            action=EVENT_BLOCKED,
            note=_("Line %(number)s blocked at once, before any review.") % {"number": line.number},
        )
    return True


def theft_request_block_lines(*, request: Request, user: User) -> list[Line]:
    """Block every line of a theft or loss request; the lines it blocked."""
    blocked = []
    for line in request.lines.order_by("number", "pk"):
        if line_block_for_theft(line=line, user=user, request=request):
            blocked.append(line)
    return blocked


def replacement_order(*, request: Request, by: User) -> list[ExtraCharge]:
    """Order the replacement SIM or eSIM the report asked for: one charge per line, once.

    Called when staff approve the request (procedures.kinds.theft_loss): the
    replacement is shipped (a SIM to `delivery_address`) or issued (an eSIM
    profile for the device's EID, which the customer then finds on the
    line's page) by staff who have checked the report. The charges go on
    the invoice of the month it is ordered, issued next; the ids are kept in
    `Request.data["replacement_charge_ids"]`, so approving twice charges once.
    """
    from selfcare.services.esim import esim_request

    choice = str(request.data.get("replacement") or ReplacementChoice.NONE)
    if choice == ReplacementChoice.NONE:
        return []
    with transaction.atomic():
        locked = Request.objects.select_for_update().get(pk=request.pk)
        if locked.data.get("replacement_charge_ids"):
            request.data = locked.data
            return list(ExtraCharge.objects.filter(pk__in=locked.data["replacement_charge_ids"]))
        month = timezone.localdate().replace(day=1)
        # The invoice is in the operator's language, as the billing run writes it.
        with translation.override(settings.LANGUAGE_CODE):
            what = _("Replacement eSIM") if choice == ReplacementChoice.ESIM else _("Replacement SIM")
            description_format = _("%(what)s after theft or loss, line %(number)s (request %(reference)s)")
        charges = []
        for line in locked.lines.order_by("number", "pk"):
            charges.append(
                ExtraCharge.objects.create(
                    company_id=locked.company_id,
                    line=line,
                    period_start=month,
                    kind=ExtraChargeKind.CHARGE,
                    description=description_format
                    % {"what": what, "number": line.number, "reference": locked.reference},
                    amount=REPLACEMENT_SIM_CHARGE,
                )
            )
            eid = str(locked.data.get("eid") or "")
            if choice == ReplacementChoice.ESIM and eid and line.status != LineStatus.CEASED:
                esim_request(line=line, eid=eid, actor=by)
        locked.data = {**locked.data, "replacement_charge_ids": [charge.pk for charge in charges]}
        locked.save(update_fields=["data", "updated_at"])
        request.data = locked.data
        RequestEvent.objects.create(
            request=locked,
            by=by,
            action=EVENT_REPLACEMENT,
            note=_("%(what)s ordered for %(count)d line(s): %(amount)s € each on the next invoice.")
            % {"what": what, "count": len(charges), "amount": REPLACEMENT_SIM_CHARGE},
        )
        audit_record(
            actor=by,
            target=locked,
            event="replacement_sim_ordered",
            details={
                "company_id": locked.company_id,
                "kind": choice,
                "charge_ids": [charge.pk for charge in charges],
                "amount": str(REPLACEMENT_SIM_CHARGE),
            },
            action=LogEntry.Action.CREATE,
        )
    return charges


# ---------------------------------------------------------------------------
# The complaint's deadline: reminders before, escalation after
# ---------------------------------------------------------------------------
def theft_requests_awaiting_complaint() -> QuerySet[Request]:
    """Open theft or loss requests with a deadline and no police complaint uploaded yet."""
    complaint = RequestDocument.objects.filter(request_id=OuterRef("pk"), role=POLICE_COMPLAINT_ROLE)
    return (
        Request.objects.filter(kind=RequestKind.THEFT_LOSS, due_on__isnull=False)
        .exclude(status__in=[RequestStatus.APPROVED, RequestStatus.REJECTED])
        .exclude(Exists(complaint))
        .order_by("due_on", "pk")
    )


def _reminder_due(*, days_left: int) -> int | None:
    """The reminder this many days before the deadline calls for (the nearest threshold not below it), or None."""
    if days_left < 0:
        return None
    candidates = [threshold for threshold in REMINDER_DAYS_LEFT if threshold >= days_left]
    return min(candidates) if candidates else None


def _request_link(request: Request) -> str:
    try:
        return reverse("procedures:request-detail", kwargs={"pk": request.pk})
    except NoReverseMatch:  # the request pages are wired by the procedures' mechanism
        return ""


def theft_complaint_reminder_send(*, request: Request, today: date) -> bool:
    """Remind the submitter that the complaint is due, once per threshold; whether a reminder went out."""
    if request.due_on is None:
        return False
    threshold = _reminder_due(days_left=(request.due_on - today).days)
    if threshold is None:
        return False
    action_note = f"{threshold}"
    with transaction.atomic():
        # Locked: two runs of the task at once remind once.
        Request.objects.select_for_update().filter(pk=request.pk).first()
        if RequestEvent.objects.filter(request=request, action=EVENT_REMINDER, note=action_note).exists():
            return False
        RequestEvent.objects.create(request=request, by=None, action=EVENT_REMINDER, note=action_note)
        notify(
            company=request.company,
            event="theft_complaint_reminder",
            key=f"theft-complaint-{request.pk}-{threshold}",
            recipients=[request.submitted_by],
            context={
                "procedure": request,
                "due_on": request.due_on,
                "days_left": (request.due_on - today).days,
                "line_numbers": list(request.lines.order_by("number").values_list("number", flat=True)),
            },
            link=_request_link(request),
        )
    return True


def procedures_staff() -> list[User]:
    """The active staff of the Procedures group: who process requests and are told of a late complaint."""
    group = Group.objects.filter(name=PROCEDURES_STAFF_GROUP).first()
    if group is None:
        return []
    return list(User.objects.filter(groups=group, is_staff=True, is_active=True).distinct().order_by("pk"))


def theft_complaint_escalate(*, request: Request, today: date) -> bool:
    """After the deadline, with no complaint: record it on the request and alert Procedures staff, once."""
    if request.due_on is None or today <= request.due_on:
        return False
    with transaction.atomic():
        Request.objects.select_for_update().filter(pk=request.pk).first()
        if RequestEvent.objects.filter(request=request, action=EVENT_ESCALATED).exists():
            return False
        RequestEvent.objects.create(
            request=request,
            by=None,
            action=EVENT_ESCALATED,
            note=_("No police complaint uploaded by %(day)s: passed to staff.") % {"day": request.due_on},
        )
        audit_record(
            actor=None,
            target=request,
            event="theft_complaint_escalated",
            details={"company_id": request.company_id, "due_on": request.due_on.isoformat()},
        )
        try:
            admin_link = reverse("admin:procedures_request_change", args=[request.pk])
        except NoReverseMatch:  # the admin's work queue is the procedures' mechanism's
            admin_link = ""
        # Staff are not members of the company: e-mail only, never the company's inbox.
        notify(
            company=request.company,
            event="theft_complaint_escalated",
            key=f"theft-complaint-late-{request.pk}",
            recipients=procedures_staff(),
            context={
                "procedure": request,
                "due_on": request.due_on,
                "line_numbers": list(request.lines.order_by("number").values_list("number", flat=True)),
                "admin_link": admin_link,
            },
            link=admin_link,
            channels=[Channel.EMAIL],
        )
    return True


def theft_complaints_follow_up(*, today: date | None = None) -> tuple[int, int]:
    """The daily follow-up of the complaints due: (reminders sent, requests escalated). Idempotent."""
    today = today or timezone.localdate()
    reminded = escalated = 0
    for request in theft_requests_awaiting_complaint().select_related("company", "submitted_by"):
        if theft_complaint_reminder_send(request=request, today=today):
            reminded += 1
        if theft_complaint_escalate(request=request, today=today):
            escalated += 1
    return reminded, escalated
