"""The demo activation orders: one on time, one late, one failed, one active; a second run adds nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import ExtraCharge
from procedures.activation import activation_compensation
from procedures.demo_activation import seed_demo_activation
from procedures.models import ActivationOrder, ActivationStep, ActivationStepEvent
from selfcare.demo import demo_document
from selfcare.services.provisioning import customers_import

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 2)


def test_the_demo_orders_cover_every_case_and_a_second_run_adds_nothing() -> None:
    customers_import(document=demo_document())

    made = seed_demo_activation(today=TODAY)
    again = seed_demo_activation(today=TODAY)

    assert (made, again) == (4, 0)
    orders = list(ActivationOrder.objects.order_by("pk"))
    compensations = [activation_compensation(order=order, today=TODAY) for order in orders]
    assert [order.step for order in orders] == [
        ActivationStep.TECHNICAL_CHECK,
        ActivationStep.APPOINTMENT,
        ActivationStep.FAILED,
        ActivationStep.ACTIVE,
    ]
    assert [c.amount for c in compensations] == [
        Decimal("0.00"),
        Decimal("180.00"),  # 6 days so far, 2 services
        Decimal("75.00"),  # failed 5 days after the promised date
        Decimal("30.00"),  # active 2 days late
    ]
    assert orders[1].keep_me_updated is True
    assert orders[3].line is not None
    assert sorted(ExtraCharge.objects.values_list("amount", flat=True)) == [
        Decimal("-75.00"),
        Decimal("-30.00"),
    ]
    assert ActivationStepEvent.objects.count() == 3 + 4 + 4 + 6


def test_each_demo_timeline_starts_on_its_order_day_and_goes_forward() -> None:
    customers_import(document=demo_document())
    seed_demo_activation(today=TODAY)

    for order in ActivationOrder.objects.all():
        reached = list(order.steps.order_by("reached_at", "pk").values_list("step", "reached_at"))
        assert reached[0][0] == ActivationStep.RECEIVED
        assert timezone.localdate(reached[0][1]) == order.ordered_on
        # In time order, the steps are the timeline's own order (a failure only last).
        steps = [step for step, _at in reached]
        forward = [step for step in steps if step != ActivationStep.FAILED]
        assert forward == list(ActivationStep)[: len(forward)]
        assert ActivationStep.FAILED not in steps[:-1]
