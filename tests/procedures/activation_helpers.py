"""Helpers of the activation orders' tests: a fixed line of Rossi assigned to its line user, orders, staff."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import Group

from procedures.activation import activation_order_create, activation_step_advance
from procedures.models import ActivationOrder, ActivationStep
from selfcare.models import Company, Line, LineKind, User
from selfcare.staff import staff_groups_sync
from tests.cast import Cast
from tests.factories import LineFactory, UserFactory, give_totp

STEPS_TO_INSTALLED = (
    ActivationStep.DOCUMENTS_CHECKED,
    ActivationStep.TECHNICAL_CHECK,
    ActivationStep.APPOINTMENT,
    ActivationStep.INSTALLED,
)


def fixed_line(company: Company, **values: Any) -> Line:
    return LineFactory.create(company=company, kind=LineKind.FIXED, sim="", iccid="", **values)


def make_order(
    company: Company,
    *,
    ordered_on: date = date(2026, 11, 2),
    promised_on: date = date(2026, 11, 30),
    services: int = 1,
    line: Line | None = None,
    address: str = "Via Roma 1, 00100 Roma RM",
) -> ActivationOrder:
    return activation_order_create(
        company=company,
        installation_address=address,
        ordered_on=ordered_on,
        promised_on=promised_on,
        services=services,
        line=line,
    )


def advance_to(order: ActivationOrder, last: ActivationStep, **kwargs: Any) -> ActivationOrder:
    """Take the order through the sequence up to `last` (ACTIVE after INSTALLED), one step at a time."""
    for step in (*STEPS_TO_INSTALLED, ActivationStep.ACTIVE):
        activation_step_advance(order=order, step=step, **(kwargs if step == last else {}))
        if step == last:
            break
    order.refresh_from_db()
    return order


def rossi_order_of_line_user(cast: Cast, **kwargs: Any) -> ActivationOrder:
    """An order of a fixed line of Rossi assigned to Rossi's line user."""
    return make_order(cast.rossi, line=fixed_line(cast.rossi, assigned_to=cast.rossi_line_user), **kwargs)


def procedures_staff(*, email: str = "procedure@operatore.example.it", group: str = "Procedures") -> User:
    # The group's activation permissions exist once procedures' models do: synced again here.
    staff_groups_sync()
    staff = UserFactory.create(email=email, is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=staff.pk)  # a fresh instance: no permission cache from before the group
