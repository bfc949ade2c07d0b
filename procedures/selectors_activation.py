"""Reads of activation orders: the member's list with its filter, and an order's timeline.

Orders are scoped by ActivationOrder.visible_to: the company's for those who
see every line, a line user's those of the lines assigned to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from procedures.activation import FINAL_STEPS, STEP_SEQUENCE, Compensation, activation_compensation
from procedures.models import ActivationOrder, ActivationStep, ActivationStepEvent
from selfcare.models import Membership

# The list's filter (?status=…), as the page and the API name it.
STATUS_FILTERS: dict[str, object] = {
    "open": _("In progress"),
    "active": _("Active"),
    "failed": _("Failed"),
    "late": _("Late"),
}


def activation_orders(
    *, membership: Membership, status: str = "", today: date | None = None
) -> QuerySet[ActivationOrder]:
    """The orders the membership sees, newest first, narrowed by `status` (one of STATUS_FILTERS, or all)."""
    orders = ActivationOrder.objects.visible_to(membership).select_related("line", "compensation_credit")
    return activation_orders_filter(orders=orders, status=status, today=today).order_by("-ordered_on", "-id")


def activation_orders_filter(
    *, orders: QuerySet[ActivationOrder], status: str, today: date | None = None
) -> QuerySet[ActivationOrder]:
    today = today or timezone.localdate()
    if status == "open":
        return orders.exclude(step__in=FINAL_STEPS)
    if status == "active":
        return orders.filter(step=ActivationStep.ACTIVE)
    if status == "failed":
        return orders.filter(step=ActivationStep.FAILED)
    if status == "late":
        # Late: still open past the promised date, or ended after it (procedures.activation.activation_delay_days).
        return orders.filter(
            Q(~Q(step__in=FINAL_STEPS), promised_on__lt=today)
            | Q(step__in=FINAL_STEPS, completed_on__gt=F("promised_on"))
        )
    return orders


@dataclass(frozen=True)
class TimelineEntry:
    """One step on an order's timeline: reached (with when), the current one, to come, or not reached (failed order)."""

    step: ActivationStep
    state: str  # "done", "current", "upcoming" or "not_reached"
    reached_at: datetime | None
    note: str

    @property
    def label(self) -> str:
        return str(self.step.label)


def activation_timeline(*, order: ActivationOrder, events: list[ActivationStepEvent]) -> list[TimelineEntry]:
    """Every step of the sequence in order, and `failed` where the order failed; `events` are the order's."""
    reached = {event.step: event for event in events}
    failed = order.step == ActivationStep.FAILED
    entries: list[TimelineEntry] = []
    for step in STEP_SEQUENCE:
        event = reached.get(step)
        if event is not None:
            state = "current" if step == order.step else "done"
        else:
            state = "not_reached" if failed else "upcoming"
        entries.append(
            TimelineEntry(
                step=step,
                state=state,
                reached_at=event.reached_at if event else None,
                note=event.note if event else "",
            )
        )
    if failed:
        event = reached.get(ActivationStep.FAILED)
        # Where it failed: after the last step it reached.
        position = max((i for i, e in enumerate(entries) if e.reached_at is not None), default=-1) + 1
        entries.insert(
            position,
            TimelineEntry(
                step=ActivationStep.FAILED,
                state="current",
                reached_at=event.reached_at if event else None,
                note=event.note if event else "",
            ),
        )
    return entries


@dataclass(frozen=True)
class OrderRow:
    """An order as the pages and the API show it, with its compensation worked out once."""

    order: ActivationOrder
    compensation: Compensation


def activation_rows(orders: list[ActivationOrder], *, today: date | None = None) -> list[OrderRow]:
    today = today or timezone.localdate()
    return [
        OrderRow(order=order, compensation=activation_compensation(order=order, today=today))
        for order in orders
    ]
