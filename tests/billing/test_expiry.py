"""The daily expiry of unpaid invoices: the Rome date, idempotence, credit notes, the managers told once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from billing.credit_notes import credit_note_issue
from billing.invoice_expiry import invoices_expire
from billing.models import Invoice, InvoiceStatus
from billing.tasks import expire_invoices
from selfcare.models import Notification
from tests.billing.invoices import make_invoice
from tests.cast import Cast

pytestmark = pytest.mark.django_db


def status_of(invoice: Invoice) -> str:
    invoice.refresh_from_db()
    return invoice.status


def test_the_task_is_scheduled_every_day() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["invoices-expire-daily"]

    assert entry["task"] == expire_invoices.name


@pytest.mark.parametrize(
    ("utc_now", "expired"),
    [
        # make_invoice's January invoice is due on 28 February 2025.
        (datetime(2025, 2, 28, 22, 59, tzinfo=UTC), False),  # 23:59 on the 28th in Rome
        (datetime(2025, 2, 28, 23, 1, tzinfo=UTC), True),  # 00:01 on 1 March in Rome, still the 28th in UTC
    ],
)
def test_an_invoice_expires_once_its_due_date_is_over_in_rome(
    cast: Cast, time_machine: Any, utc_now: datetime, expired: bool
) -> None:
    invoice = make_invoice(cast.rossi)
    assert invoice.due_on == date(2025, 2, 28)
    time_machine.move_to(utc_now, tick=False)

    expire_invoices()

    assert status_of(invoice) == (InvoiceStatus.EXPIRED if expired else InvoiceStatus.ISSUED)


def test_only_issued_invoices_past_their_due_date_expire(cast: Cast) -> None:
    due = make_invoice(cast.rossi, month=1)
    paid = make_invoice(cast.rossi, month=2, status=InvoiceStatus.PAID)
    due_today = make_invoice(cast.bianchi, month=6)  # due on 28 July 2025

    count = invoices_expire(today=date(2025, 7, 28))

    assert count == 1
    assert [status_of(due), status_of(paid), status_of(due_today)] == [
        InvoiceStatus.EXPIRED,
        InvoiceStatus.PAID,
        InvoiceStatus.ISSUED,
    ]


def test_running_it_twice_expires_and_tells_once(cast: Cast) -> None:
    invoice = make_invoice(cast.rossi)

    first = invoices_expire(today=date(2025, 3, 1))
    told = Notification.objects.filter(event="invoice_expired").count()
    second = invoices_expire(today=date(2025, 3, 2))

    assert (first, second) == (1, 0)
    assert status_of(invoice) == InvoiceStatus.EXPIRED
    assert Notification.objects.filter(event="invoice_expired").count() == told


def test_the_billing_managers_are_told_once_with_a_link_to_the_invoice(cast: Cast) -> None:
    invoice = make_invoice(cast.rossi)

    invoices_expire(today=date(2025, 3, 1))

    told = list(Notification.objects.filter(event="invoice_expired").select_related("user"))
    assert sorted((n.user.email, n.channel) for n in told if n.user) == [
        ("anna@rossi.example", "email"),
        ("anna@rossi.example", "inbox"),
        ("marco@rossi.example", "email"),
        ("marco@rossi.example", "inbox"),
    ]
    assert {n.link for n in told} == {reverse("billing:invoice-detail", args=[invoice.pk])}
    assert invoice.number in told[0].subject
    assert "177,77" in told[0].body  # the users' language is Italian
    assert all(n.company_id == cast.rossi.pk for n in told)


def test_credit_notes_never_expire(cast: Cast) -> None:
    invoice = make_invoice(
        cast.rossi, status=InvoiceStatus.PAID, lines=[(cast.rossi_assigned_line, "", "70.00")]
    )
    note = credit_note_issue(invoice=invoice, by=None, reason="Discount", amount=Decimal("10.00"))
    # Even one left "issued" with a due date long past.
    Invoice.objects.filter(pk=note.pk).update(status=InvoiceStatus.ISSUED, due_on=date(2020, 1, 1))

    assert invoices_expire(today=date(2030, 1, 1)) == 0
    assert status_of(note) == InvoiceStatus.ISSUED


def test_an_invoice_covered_by_a_full_credit_note_does_not_expire(cast: Cast) -> None:
    invoice = make_invoice(cast.rossi)
    credit_note_issue(invoice=invoice, by=None, reason="Billed by mistake")

    assert invoices_expire(today=date(2030, 1, 1)) == 0
    assert status_of(invoice) == InvoiceStatus.PAID


def test_the_notification_tells_what_is_left_after_a_partial_credit_note(cast: Cast) -> None:
    invoice = make_invoice(cast.rossi, lines=[(cast.rossi_assigned_line, "", "70.00")])
    credit_note_issue(invoice=invoice, by=None, reason="Discount", amount=Decimal("10.00"))

    invoices_expire(today=date(2030, 1, 1))

    body = Notification.objects.filter(event="invoice_expired", channel="email").first()
    assert body is not None
    assert "165,57" in body.body


def test_many_invoices_expire_in_chunks(cast: Cast) -> None:
    invoices = [make_invoice(cast.rossi, month=month) for month in range(1, 8)]

    count = invoices_expire(today=date(2030, 1, 1), chunk_size=3)

    assert count == 7
    assert {status_of(invoice) for invoice in invoices} == {InvoiceStatus.EXPIRED}
    assert Notification.objects.filter(event="invoice_expired", channel="inbox").count() == 14
