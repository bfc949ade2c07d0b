"""Fixed-line activation orders: creating them, advancing their steps, "Keep me updated", compensation.

DOMAIN.md, "Activation tracking": an order moves through its steps
(received, documents checked, technical check, appointment, installed,
active, or failed). Staff advance them in the admin and the provisioning
system through the API, both through `activation_step_advance`, which
records each step once (ActivationStepEvent is unique per order and step)
and tells the customer who ticked "Keep me updated" once per step, however
often the same step is saved.

A late order accrues the compensation of AGCOM resolution 347/18/CONS
(docs/procedures.md, "Activation orders"): `activation_compensation` works
it out, `activation_compensation_credit` writes it once as a credit for the
billing run (billing.models.ExtraCharge).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.models import ExtraCharge, ExtraChargeKind
from billing.taxes import to_cents
from procedures.models import ActivationOrder, ActivationStep, ActivationStepEvent
from selfcare.models import Company, Line, LineKind, Membership, User
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify
from selfcare.validators import validate_e164_number

logger = logging.getLogger(__name__)

# The steps in the order they happen; `failed` may end any order that is not over yet.
STEP_SEQUENCE: tuple[ActivationStep, ...] = (
    ActivationStep.RECEIVED,
    ActivationStep.DOCUMENTS_CHECKED,
    ActivationStep.TECHNICAL_CHECK,
    ActivationStep.APPOINTMENT,
    ActivationStep.INSTALLED,
    ActivationStep.ACTIVE,
)
FINAL_STEPS = frozenset({ActivationStep.ACTIVE, ActivationStep.FAILED})

# AGCOM 347/18/CONS, annex A, art. 4 c. 1: €7.50 for each day of delay in the
# activation, for each service (not for accessory ones).
DAILY_COMPENSATION_PER_SERVICE = Decimal("7.50")
# Same annex, art. 13 c. 3: doubled for business customers, which every
# customer of this portal is (DOMAIN.md, "Who uses it").
BUSINESS_MULTIPLIER = 2

NOTIFICATION_EVENT = "activation_step"


class ActivationStepRefusedError(Exception):
    """The order cannot take this step now (backwards, skipping a step, or already over)."""


# ---------------------------------------------------------------------------
# Creating an order
# ---------------------------------------------------------------------------
def activation_order_create(
    *,
    company: Company,
    installation_address: str,
    promised_on: date,
    ordered_on: date | None = None,
    services: int = 1,
    line: Line | None = None,
    by: User | None = None,
    received_at: datetime | None = None,
) -> ActivationOrder:
    """A new order at its first step, "received", with its reference (`ATT-<year>-<id>`).

    `received_at`: when the order was received, now by default; an order
    entered after the fact (the demo's, a provisioning backlog) says when.
    """
    ordered_on = ordered_on or timezone.localdate()
    errors: dict[str, list[str]] = {}
    if services < 1:
        errors["services"] = [gettext("An order activates at least one service.")]
    if promised_on < ordered_on:
        errors["promised_on"] = [gettext("The promised date cannot come before the order.")]
    if line is not None and (line.company_id != company.pk or line.kind != LineKind.FIXED):
        errors["line"] = [gettext("The line must be a fixed line of the same company.")]
    if not installation_address.strip():
        errors["installation_address"] = [gettext("Give the installation address.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        order = ActivationOrder.objects.create(
            company=company,
            # A unique placeholder until the id is known: the reference is made of it.
            reference=uuid.uuid4().hex[:20],
            line=line,
            installation_address=installation_address.strip(),
            services=services,
            ordered_on=ordered_on,
            promised_on=promised_on,
            step=ActivationStep.RECEIVED,
        )
        order.reference = f"ATT-{ordered_on:%Y}-{order.pk:06d}"
        ActivationOrder.objects.filter(pk=order.pk).update(reference=order.reference)
        ActivationStepEvent.objects.create(
            order=order, step=ActivationStep.RECEIVED, reached_at=received_at or timezone.now(), by=by
        )
    return order


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------
def activation_next_steps(*, step: str) -> list[ActivationStep]:
    """The steps an order at `step` may take: the next in the sequence, or failed; none once it is over."""
    if step in FINAL_STEPS:
        return []
    position = STEP_SEQUENCE.index(ActivationStep(step))
    return [STEP_SEQUENCE[position + 1], ActivationStep.FAILED]


@dataclass(frozen=True)
class StepAdvance:
    """What an advance did: the step's event, and whether this call recorded it (False: already reached)."""

    order: ActivationOrder
    event: ActivationStepEvent
    recorded: bool


def activation_step_advance(
    *,
    order: ActivationOrder,
    step: str,
    by: User | None = None,
    at: datetime | None = None,
    note: str = "",
    appointment_at: datetime | None = None,
) -> StepAdvance:
    """Move the order to `step`, once.

    Steps go forward one at a time in STEP_SEQUENCE; `failed` ends any order
    not over yet. A step the order has already reached (the same step saved
    twice, a provisioning message or task retried, an earlier step sent late)
    changes nothing and notifies nobody: it returns the recorded event. The
    order's row is locked for the change, so two saves at once record one event.
    Raises ActivationStepRefusedError for a step backwards, a skipped step or an
    order already over.
    """
    try:
        wanted = ActivationStep(step)
    except ValueError as error:
        raise ActivationStepRefusedError(
            gettext("%(step)s is not a step of an order.") % {"step": step}
        ) from error
    reached_at = at or timezone.now()
    with transaction.atomic():
        locked = ActivationOrder.objects.select_for_update().select_related("company").get(pk=order.pk)
        existing = ActivationStepEvent.objects.filter(order=locked, step=wanted).first()
        if existing is not None:
            return StepAdvance(order=locked, event=existing, recorded=False)
        if wanted not in activation_next_steps(step=locked.step):
            raise ActivationStepRefusedError(
                gettext("The order %(reference)s is at “%(current)s”: it cannot go to “%(step)s”.")
                % {
                    "reference": locked.reference,
                    "current": ActivationStep(locked.step).label,
                    "step": wanted.label,
                }
            )
        event = ActivationStepEvent.objects.create(
            order=locked, step=wanted, reached_at=reached_at, by=by, note=note.strip()
        )
        locked.step = wanted
        changed = ["step", "updated_at"]
        if wanted in FINAL_STEPS:
            # Rome's calendar day: the delay is counted in days (ARCHITECTURE.md, "Time").
            locked.completed_on = timezone.localdate(reached_at)
            changed.append("completed_on")
        if wanted == ActivationStep.APPOINTMENT and appointment_at is not None:
            locked.appointment_at = appointment_at
            changed.append("appointment_at")
        locked.save(update_fields=changed)
        audit_record(
            actor=by,
            target=locked,
            event="activation_step",
            details={"step": str(wanted), "reference": locked.reference},
        )
        _step_notify(order=locked, event=event)
    return StepAdvance(order=locked, event=event, recorded=True)


def _updates_recipient(order: ActivationOrder) -> User | None:
    """Who asked to be kept updated, while they still may see the order (a line user whose line moved may not)."""
    if not order.keep_me_updated or order.updates_to_id is None:
        return None
    memberships = Membership.objects.filter(company_id=order.company_id, user_id=order.updates_to_id)
    for membership in memberships.select_related("user"):
        if ActivationOrder.objects.visible_to(membership).filter(pk=order.pk).exists():
            return membership.user
    return None


def _step_notify(*, order: ActivationOrder, event: ActivationStepEvent) -> None:
    """The "Keep me updated" message of a new step: e-mail and inbox, and SMS where a number was given.

    The key is the order and the step: notifying the same step again (a retried
    task, a second save) writes and sends nothing new (selfcare.services.notifications).
    """
    recipient = _updates_recipient(order)
    if recipient is None:
        return
    notify(
        company=order.company,
        event=NOTIFICATION_EVENT,
        key=f"order-{order.pk}-{event.step}",
        recipients=[recipient],
        context={
            "order": order,
            "step": event.step,
            "step_label": ActivationStep(event.step).label,
            "reached_at": event.reached_at,
            "failed": event.step == ActivationStep.FAILED,
            "active": event.step == ActivationStep.ACTIVE,
        },
        link=reverse("procedures:activation-detail", args=[order.pk]),
        sms_to=order.updates_sms_to or None,
        # The SMS in the language of the user who gave the number.
        language=recipient.language,
    )


# ---------------------------------------------------------------------------
# "Keep me updated"
# ---------------------------------------------------------------------------
def normalize_mobile_number(value: str) -> str:
    """A mobile number as typed ("333 123 4567", "+39 333…") in E.164, or a ValidationError.

    Italian numbers may be typed without +39. Only mobile numbers: an SMS to a
    fixed line goes nowhere.
    """
    candidate = value.strip()
    try:
        parsed = phonenumbers.parse(candidate, "IT")
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("%(value)s is not a phone number."), code="invalid_phone_number", params={"value": value}
        ) from error
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    validate_e164_number(number)
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(
            _("%(value)s is not a mobile number: SMS reach mobile numbers only."),
            code="not_a_mobile_number",
            params={"value": value},
        )
    return number


def activation_updates_set(
    *, order: ActivationOrder, membership: Membership, enabled: bool, sms_to: str = ""
) -> ActivationOrder:
    """Tick or untick "Keep me updated" on an order the membership sees.

    Ticked, the membership's user gets an e-mail (and an inbox message) at each
    new step, and an SMS at `sms_to` if given; the last member who ticks it is
    the one kept updated. Unticked, nobody is, and the number is forgotten.
    """
    number = ""
    if enabled and sms_to.strip():
        try:
            number = normalize_mobile_number(sms_to)
        except ValidationError as error:
            raise ValidationError({"sms_to": error.messages}) from error
    order.keep_me_updated = enabled
    order.updates_to = membership.user if enabled else None
    order.updates_sms_to = number
    order.save(update_fields=["keep_me_updated", "updates_to", "updates_sms_to", "updated_at"])
    return order


# ---------------------------------------------------------------------------
# Compensation (AGCOM 347/18/CONS)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Compensation:
    """The compensation of an order: days of delay, services, and the amount (VAT out of scope)."""

    days_late: int
    services: int
    daily_per_service: Decimal
    amount: Decimal
    # The order is over (active or failed): the amount no longer grows and can be credited.
    final: bool

    @property
    def late(self) -> bool:
        return self.days_late > 0


def activation_delay_days(*, order: ActivationOrder, today: date | None = None) -> int:
    """Days of delay: from the day after the promised date to the day the order ended, or today while open."""
    end = order.completed_on if order.step in FINAL_STEPS and order.completed_on else None
    end = end or today or timezone.localdate()
    return max(0, (end - order.promised_on).days)


def activation_compensation(*, order: ActivationOrder, today: date | None = None) -> Compensation:
    """The compensation accrued by `order` (so far, while it is open): docs/procedures.md, "Activation orders"."""
    days = activation_delay_days(order=order, today=today)
    daily = DAILY_COMPENSATION_PER_SERVICE * BUSINESS_MULTIPLIER
    return Compensation(
        days_late=days,
        services=order.services,
        daily_per_service=daily,
        amount=to_cents(daily * days * order.services),
        final=order.step in FINAL_STEPS,
    )


def activation_compensation_credit(*, order: ActivationOrder) -> ExtraCharge | None:
    """Write the compensation of an order that is over as a credit for the billing run, once.

    The credit goes on the next invoice: its month is that of the day the
    order ended, and the billing run takes unbilled rows of that month or
    earlier. The order's row is locked and its link to the credit checked, so
    a task run twice (or two at once) credits once. Returns the credit, or
    None when there is nothing (more) to credit.
    """
    with transaction.atomic():
        locked = ActivationOrder.objects.select_for_update().filter(pk=order.pk).first()
        if locked is None or locked.compensation_credit_id is not None:
            return None
        if locked.step not in FINAL_STEPS or locked.completed_on is None:
            return None
        compensation = activation_compensation(order=locked)
        if not compensation.late:
            return None
        # The invoice is in the operator's language, as the billing run writes it.
        with translation.override(settings.LANGUAGE_CODE):
            description = gettext(
                "Compensation for late activation, order %(reference)s: %(days)d days of delay, "
                "%(services)d services (AGCOM 347/18/CONS)"
            ) % {"reference": locked.reference, "days": compensation.days_late, "services": locked.services}
        charge = ExtraCharge.objects.create(
            company_id=locked.company_id,
            line_id=locked.line_id,
            period_start=locked.completed_on.replace(day=1),
            kind=ExtraChargeKind.CREDIT,
            description=description[:300],
            amount=-compensation.amount,
            # An indemnity, not the consideration of a supply: outside the VAT base
            # (DPR 633/1972 art. 15; billing.taxes.VatTreatment.OUT_OF_SCOPE).
            vat_applicable=False,
        )
        ActivationOrder.objects.filter(pk=locked.pk).update(compensation_credit=charge)
        order.compensation_credit = charge
    return charge


def activation_compensations_credit() -> int:
    """Credit every late order that is over and not credited yet (the daily task); how many were credited."""
    due = (
        ActivationOrder.objects.filter(
            step__in=FINAL_STEPS, compensation_credit__isnull=True, completed_on__gt=F("promised_on")
        )
        .order_by("pk")
        .only("pk")
    )
    credited = 0
    for order in due:
        if activation_compensation_credit(order=order) is not None:
            credited += 1
    if credited:
        logger.info("activation compensation: %d orders credited", credited)
    return credited
