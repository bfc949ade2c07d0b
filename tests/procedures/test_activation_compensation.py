"""Compensation of late activation orders (AGCOM 347/18/CONS): the arithmetic, and its credit, once."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from billing.models import ExtraCharge, ExtraChargeKind, InvoiceLine, InvoiceLineKind
from billing.services import billing_run_month
from procedures.activation import (
    activation_compensation,
    activation_compensation_credit,
    activation_compensations_credit,
    activation_step_advance,
)
from procedures.models import ActivationOrder, ActivationStep
from procedures.tasks_activation import credit_activation_compensation
from tests.cast import Cast
from tests.procedures.activation_helpers import advance_to, make_order

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)
PROMISED = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def today(time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)


def active_on(cast: Cast, day: date, *, services: int = 1, promised_on: date = PROMISED) -> ActivationOrder:
    order = make_order(cast.rossi, promised_on=promised_on, services=services)
    return advance_to(
        order, ActivationStep.ACTIVE, at=datetime(day.year, day.month, day.day, 18, 0, tzinfo=ROME)
    )


# ---------------------------------------------------------------------------
# The arithmetic
# ---------------------------------------------------------------------------
def test_an_order_active_on_its_promised_date_is_on_time(cast: Cast) -> None:
    compensation = activation_compensation(order=active_on(cast, PROMISED))

    assert (compensation.late, compensation.days_late, compensation.amount) == (False, 0, Decimal("0.00"))


def test_an_order_active_the_day_after_is_one_day_late_at_the_business_rate(cast: Cast) -> None:
    compensation = activation_compensation(order=active_on(cast, date(2026, 12, 1)))

    # €7.50 a day per service, doubled for a business customer.
    assert (compensation.days_late, compensation.daily_per_service, compensation.amount) == (
        1,
        Decimal("15.00"),
        Decimal("15.00"),
    )
    assert compensation.final is True


def test_the_compensation_is_per_service_and_per_day(cast: Cast) -> None:
    order = active_on(cast, date(2026, 12, 2), services=3, promised_on=date(2026, 11, 20))

    compensation = activation_compensation(order=order)

    assert compensation.days_late == 12
    assert compensation.amount == Decimal("540.00")  # 12 days x 3 services x €15.00


def test_a_pending_order_accrues_until_today_and_not_before_the_promised_date_is_past(cast: Cast) -> None:
    late = make_order(cast.rossi, promised_on=date(2026, 11, 29), services=2)
    due_today = make_order(cast.rossi, promised_on=date(2026, 12, 2))

    assert activation_compensation(order=late).days_late == 3
    assert activation_compensation(order=late).amount == Decimal("90.00")
    assert activation_compensation(order=late).final is False
    assert activation_compensation(order=due_today).late is False
    assert activation_compensation(order=late, today=date(2026, 12, 10)).days_late == 11


def test_a_failed_order_accrues_up_to_the_day_it_failed(cast: Cast) -> None:
    order = make_order(cast.rossi, promised_on=date(2026, 11, 25))
    activation_step_advance(
        order=order, step=ActivationStep.FAILED, at=datetime(2026, 11, 28, 9, 0, tzinfo=ROME)
    )
    order.refresh_from_db()

    compensation = activation_compensation(order=order, today=date(2026, 12, 20))

    assert (compensation.days_late, compensation.amount, compensation.final) == (3, Decimal("45.00"), True)


def test_the_day_counts_in_rome(cast: Cast) -> None:
    # 23:30 UTC on 30 November is already 1 December in Rome: one day late.
    order = make_order(cast.rossi, promised_on=PROMISED)
    order = advance_to(
        order, ActivationStep.ACTIVE, at=datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC"))
    )

    assert order.completed_on == date(2026, 12, 1)
    assert activation_compensation(order=order).days_late == 1


# ---------------------------------------------------------------------------
# The credit
# ---------------------------------------------------------------------------
def test_a_late_order_that_is_over_is_credited_out_of_vat_scope_for_the_next_invoice(cast: Cast) -> None:
    order = active_on(cast, date(2026, 12, 2), services=2)

    charge = activation_compensation_credit(order=order)

    assert charge is not None
    charge.refresh_from_db()
    assert (charge.company, charge.kind, charge.amount, charge.vat_applicable, charge.period_start) == (
        cast.rossi,
        ExtraChargeKind.CREDIT,
        Decimal("-60.00"),
        False,
        date(2026, 12, 1),
    )
    assert order.reference in charge.description
    order.refresh_from_db()
    assert order.compensation_credit == charge


def test_the_credit_is_written_once_however_often_the_task_runs(cast: Cast) -> None:
    late = active_on(cast, date(2026, 12, 1))
    active_on(cast, PROMISED)  # on time: nothing to credit
    pending = make_order(
        cast.rossi, ordered_on=date(2026, 10, 1), promised_on=date(2026, 11, 1)
    )  # late, open: not yet

    credit_activation_compensation.apply()
    credit_activation_compensation.apply()
    assert activation_compensations_credit() == 0

    charges = ExtraCharge.objects.all()
    assert [(c.amount, c.kind) for c in charges] == [(Decimal("-15.00"), ExtraChargeKind.CREDIT)]
    late.refresh_from_db()
    pending.refresh_from_db()
    assert late.compensation_credit == charges[0]
    assert pending.compensation_credit is None


def test_a_failed_late_order_is_credited_what_it_had_accrued(cast: Cast) -> None:
    order = make_order(cast.rossi, promised_on=date(2026, 11, 25))
    activation_step_advance(
        order=order, step=ActivationStep.FAILED, at=datetime(2026, 11, 27, 9, 0, tzinfo=ROME)
    )

    assert activation_compensations_credit() == 1

    assert ExtraCharge.objects.get().amount == Decimal("-30.00")


def test_the_billing_run_puts_the_credit_on_the_next_invoice(cast: Cast) -> None:
    order = make_order(cast.rossi, promised_on=date(2026, 11, 20))
    advance_to(order, ActivationStep.ACTIVE, at=datetime(2026, 11, 23, 9, 0, tzinfo=ROME))
    activation_compensations_credit()

    billing_run_month(year=2026, month=11, issued_on=date(2026, 12, 2))

    credit = InvoiceLine.objects.get(kind=InvoiceLineKind.CREDIT)
    assert credit.amount == Decimal("-45.00")
    assert credit.vat_applicable is False
    assert credit.invoice.company == cast.rossi
    assert ExtraCharge.objects.get().billed_on_invoice == credit.invoice
