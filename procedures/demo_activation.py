"""Demo activation orders for `seed_demo`: one on time, one late, one failed, one active.

Made through the same services as real orders (procedures.activation), with
dates relative to the day of the first run, so that the late one is late:
- Ferretti: a new office line on time (at the technical check), and a site
  office two services late, at the appointment, whose administrator asked
  to be kept updated (compensation accrued so far);
- Conti & Marino: an order that failed after its promised date (compensation
  credited for the next invoice);
- Lombardi: a warehouse line active two days late (compensation credited),
  on one of its fixed lines.

Idempotent: an order is recognised by its company and installation address,
and left alone once there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from procedures.activation import (
    activation_compensation_credit,
    activation_order_create,
    activation_step_advance,
    activation_updates_set,
)
from procedures.models import ActivationOrder, ActivationStep
from selfcare.demo import Writer, demo_document
from selfcare.models import Company, Line, LineKind, Membership, Role


@dataclass(frozen=True)
class _DemoOrder:
    company: int  # index in the demo document's companies
    address: str
    services: int
    ordered_days_ago: int
    promised_in_days: int  # negative: in the past
    # Steps after "received", each with how many days after the order it was reached.
    steps: tuple[tuple[ActivationStep, int], ...]
    note: str = ""
    with_line: bool = False
    kept_updated: bool = False


ORDERS = (
    _DemoOrder(
        company=0,
        address="Via Melchiorre Gioia 74, 20125 Milano MI",
        services=1,
        ordered_days_ago=6,
        promised_in_days=24,
        steps=((ActivationStep.DOCUMENTS_CHECKED, 1), (ActivationStep.TECHNICAL_CHECK, 4)),
    ),
    _DemoOrder(
        company=0,
        address="Cantiere Bovisa, Via Cosenz 54, 20158 Milano MI",
        services=2,
        ordered_days_ago=40,
        promised_in_days=-6,
        steps=(
            (ActivationStep.DOCUMENTS_CHECKED, 2),
            (ActivationStep.TECHNICAL_CHECK, 9),
            (ActivationStep.APPOINTMENT, 30),
        ),
        note="Sopralluogo rinviato: manca il permesso di accesso al cantiere.",
        kept_updated=True,
    ),
    _DemoOrder(
        company=1,
        address="Via Cola di Rienzo 214, 00192 Roma RM",
        services=1,
        ordered_days_ago=60,
        promised_in_days=-30,
        steps=(
            (ActivationStep.DOCUMENTS_CHECKED, 3),
            (ActivationStep.TECHNICAL_CHECK, 10),
            (ActivationStep.FAILED, 35),
        ),
        note="Edificio non raggiunto dalla fibra: ordine annullato senza costi.",
    ),
    _DemoOrder(
        company=2,
        address="Magazzino, Via dell'Industria 20, 37135 Verona VR",
        services=1,
        ordered_days_ago=50,
        promised_in_days=-20,
        steps=(
            (ActivationStep.DOCUMENTS_CHECKED, 2),
            (ActivationStep.TECHNICAL_CHECK, 6),
            (ActivationStep.APPOINTMENT, 20),
            (ActivationStep.INSTALLED, 31),
            (ActivationStep.ACTIVE, 32),
        ),
        with_line=True,
    ),
)


def seed_demo_activation(*, stdout: Writer | None = None, today: date | None = None) -> int:
    """Make the demo orders that are not there yet; how many were made."""
    today = today or timezone.localdate()
    vat_numbers = [company["vat_number"] for company in demo_document()["companies"]]
    by_vat = {company.vat_number: company for company in Company.objects.filter(vat_number__in=vat_numbers)}
    made = 0
    for demo in ORDERS:
        company = by_vat.get(vat_numbers[demo.company])
        if company is None:
            continue
        if ActivationOrder.objects.filter(company=company, installation_address=demo.address).exists():
            continue
        ordered_on = today - timedelta(days=demo.ordered_days_ago)
        line = (
            Line.objects.filter(company=company, kind=LineKind.FIXED).order_by("number").first()
            if demo.with_line
            else None
        )
        order = activation_order_create(
            company=company,
            installation_address=demo.address,
            services=demo.services,
            ordered_on=ordered_on,
            promised_on=today + timedelta(days=demo.promised_in_days),
            line=line,
            received_at=timezone.make_aware(datetime.combine(ordered_on, time(9, 0))),
        )
        for position, (step, days_after) in enumerate(demo.steps, start=1):
            reached_at = timezone.make_aware(
                datetime.combine(ordered_on + timedelta(days=days_after), time(9 + position, 30))
            )
            last = position == len(demo.steps)
            activation_step_advance(
                order=order,
                step=step,
                at=reached_at,
                note=demo.note if last else "",
                appointment_at=reached_at + timedelta(days=10)
                if step == ActivationStep.APPOINTMENT
                else None,
            )
        if demo.kept_updated:
            admin = (
                Membership.objects.filter(company=company, role=Role.ADMIN)
                .select_related("user")
                .order_by("pk")
                .first()
            )
            if admin is not None:
                activation_updates_set(order=order, membership=admin, enabled=True)
        activation_compensation_credit(order=order)
        made += 1
    if stdout is not None:
        stdout.write(f"Demo activation orders: {made} made.\n")
    return made
