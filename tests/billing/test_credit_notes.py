"""Credit notes: full and partial, their own gapless numbering, never more than what remains, the admin's form."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.credit_notes import credit_note_issue, invoice_outstanding
from billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    TaxExemption,
    TaxExemptionKind,
)
from selfcare.models import Notification
from tests.billing.invoices import make_invoice
from tests.cast import Cast, make_cast
from tests.factories import UserFactory, give_totp

pytestmark = pytest.mark.django_db

D = Decimal


def invoice_of(cast: Cast, **kwargs: Any) -> Invoice:
    """Rossi's invoice of 177.77: two fees (40 + 30 taxable), VAT 15.40, concession fee 90.37, stamp duty 2.00."""
    return make_invoice(
        cast.rossi,
        lines=[(cast.rossi_assigned_line, "Cantieri", "40.00"), (cast.rossi_other_line, "Ufficio", "30.00")],
        **kwargs,
    )


def test_a_full_credit_note_copies_every_line_and_tax_with_positive_amounts_and_its_own_number(
    cast: Cast,
) -> None:
    invoice = invoice_of(cast)

    note = credit_note_issue(invoice=invoice, by=None, reason="Offer billed by mistake")

    year = timezone.localdate().year
    assert note.kind == InvoiceKind.CREDIT_NOTE
    assert note.number == f"NC{year}/000001"
    assert (note.year, note.sequence_number) == (year, 1)
    assert note.corrects_id == invoice.pk
    assert note.reason == "Offer billed by mistake"
    assert (note.taxable, note.vat, note.concession_fee, note.stamp_duty, note.total) == (
        D("70.00"),
        D("15.40"),
        D("90.37"),
        D("2.00"),
        D("177.77"),
    )
    assert list(InvoiceLine.objects.filter(invoice=note).values_list("amount", "vat_applicable")) == [
        (D("40.00"), True),
        (D("30.00"), True),
    ]
    # Nothing is paid on a credit note, and the invoice it covers is settled.
    assert note.status == InvoiceStatus.PAID
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.total == D("177.77")  # an issued invoice never changes


def test_a_partial_credit_note_is_one_taxable_amount_with_its_vat_and_no_fee_or_stamp_duty(
    cast: Cast,
) -> None:
    invoice = invoice_of(cast)

    note = credit_note_issue(invoice=invoice, by=None, reason="Two days without service", amount=D("10.01"))

    # VAT 22% on 10.01 = 2.2022, rounded half-up once.
    assert (note.taxable, note.vat, note.untaxed, note.concession_fee, note.stamp_duty, note.total) == (
        D("10.01"),
        D("2.20"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
        D("12.21"),
    )
    [line] = InvoiceLine.objects.filter(invoice=note)
    assert (line.amount, line.vat_applicable) == (D("10.01"), True)
    assert invoice.number in line.description
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice_outstanding(invoice=invoice) == D("165.56")


def test_a_partial_credit_note_on_a_split_payment_invoice_keeps_split_payment(cast: Cast) -> None:
    invoice = invoice_of(cast)
    Invoice.objects.filter(pk=invoice.pk).update(split_payment=True)
    invoice.refresh_from_db()

    note = credit_note_issue(invoice=invoice, by=None, reason="Discount", amount=D("20.00"))

    assert note.split_payment is True
    assert (note.vat, note.total, note.amount_due) == (D("4.40"), D("24.40"), D("20.00"))
    # 177.77 - 15.40 VAT = 162.37 due; the note takes 20.00 of it.
    assert invoice_outstanding(invoice=invoice) == D("142.37")


def test_credit_notes_are_numbered_apart_from_invoices_without_gaps(cast: Cast) -> None:
    first, second = invoice_of(cast, month=1), invoice_of(cast, month=2)

    numbers = [
        credit_note_issue(invoice=first, by=None, reason="a", amount=D("1.00")).sequence_number,
        credit_note_issue(invoice=second, by=None, reason="b", amount=D("1.00")).sequence_number,
        credit_note_issue(invoice=first, by=None, reason="c", amount=D("1.00")).sequence_number,
    ]

    assert numbers == [1, 2, 3]
    year = timezone.localdate().year
    assert InvoiceSequence.objects.get(kind=InvoiceKind.CREDIT_NOTE, year=year).last_number == 3
    assert not InvoiceSequence.objects.filter(kind=InvoiceKind.INVOICE).exists()


@pytest.mark.parametrize(
    ("earlier", "amount", "message"),
    [
        ([], "70.01", "€ 70.00 of VAT-able amounts left"),
        (["50.00"], "20.01", "€ 20.00 of VAT-able amounts left"),
        (["50.00"], None, "already has a credit note"),
    ],
)
def test_a_credit_note_beyond_what_remains_is_refused_and_nothing_is_written(
    cast: Cast, earlier: list[str], amount: str | None, message: str
) -> None:
    invoice = invoice_of(cast)
    for earlier_amount in earlier:
        credit_note_issue(invoice=invoice, by=None, reason="earlier", amount=D(earlier_amount))
    documents = Invoice.objects.count()
    lines = InvoiceLine.objects.count()
    sequence = list(InvoiceSequence.objects.values_list("kind", "year", "last_number"))

    with pytest.raises(ValidationError) as refused:
        credit_note_issue(
            invoice=invoice, by=None, reason="too much", amount=None if amount is None else D(amount)
        )

    assert message in " ".join(refused.value.messages)
    assert Invoice.objects.count() == documents
    assert InvoiceLine.objects.count() == lines
    assert list(InvoiceSequence.objects.values_list("kind", "year", "last_number")) == sequence


def test_the_last_partial_note_gives_back_exactly_the_vat_left(cast: Cast) -> None:
    invoice = invoice_of(cast)

    notes = [
        credit_note_issue(invoice=invoice, by=None, reason="part", amount=D(amount))
        for amount in ("33.33", "33.33", "3.34")
    ]

    assert sum(note.taxable for note in notes) == D("70.00")
    assert sum(note.vat for note in notes) == D("15.40")


def test_a_credit_note_is_never_credited_and_needs_a_reason(cast: Cast) -> None:
    invoice = invoice_of(cast)
    note = credit_note_issue(invoice=invoice, by=None, reason="x", amount=D("5.00"))

    with pytest.raises(ValidationError, match="not another credit note"):
        credit_note_issue(invoice=note, by=None, reason="x", amount=D("1.00"))
    with pytest.raises(ValidationError, match="Say why"):
        credit_note_issue(invoice=invoice, by=None, reason="  ", amount=D("1.00"))


def test_a_credit_note_on_a_letter_of_intent_invoice_gives_the_ceiling_back(cast: Cast) -> None:
    letter = TaxExemption.objects.create(
        company=cast.rossi,
        kind=TaxExemptionKind.LETTER_OF_INTENT,
        legal_reference="Non imponibile art. 8 c. 1 lett. c DPR 633/1972",
        protocol_number="12345678-000001",
        ceiling=D("10000.00"),
        valid_from=date(2025, 1, 1),
        approved_at=timezone.now(),
    )
    invoice = invoice_of(cast)
    Invoice.objects.filter(pk=invoice.pk).update(
        letter_of_intent=letter,
        letter_of_intent_amount=D("70.00"),
        vat_rate=D("0"),
        vat=D("0"),
        taxable=D("0"),
        untaxed=D("70.00"),
        total=D("162.37"),
    )
    invoice.refresh_from_db()

    partial = credit_note_issue(invoice=invoice, by=None, reason="part", amount=D("20.00"))

    assert (partial.taxable, partial.vat, partial.untaxed, partial.total) == (
        D("0.00"),
        D("0.00"),
        D("20.00"),
        D("20.00"),
    )
    assert partial.letter_of_intent_id == letter.pk
    assert partial.letter_of_intent_amount == D("-20.00")
    assert "prot. n. 12345678-000001" in partial.exemption_notes
    used = sum(letter.invoices.values_list("letter_of_intent_amount", flat=True), D(0))
    assert used == D("50.00")


def test_issuing_a_credit_note_is_audited_and_tells_the_billing_managers(cast: Cast) -> None:
    invoice = invoice_of(cast)
    staff = UserFactory.create(email="fatture@operatore.example.it", is_staff=True)

    note = credit_note_issue(invoice=invoice, by=staff, reason="Wrong offer", amount=D("10.00"))

    entry = LogEntry.objects.get(additional_data__event="credit_note_issued")
    assert entry.actor_id == staff.pk
    assert entry.object_pk == str(note.pk)
    told = set(Notification.objects.filter(event="credit_note_issued").values_list("user__email", flat=True))
    assert told == {"anna@rossi.example", "marco@rossi.example"}


def test_two_credit_notes_issued_at_once_on_one_invoice_get_consecutive_numbers_and_never_exceed_it(
    transactional_db: None,
) -> None:
    cast = make_cast()
    invoice = invoice_of(cast)
    other = invoice_of(cast, month=2)
    start = threading.Barrier(3)
    outcomes: list[str] = []

    def issue(target: Invoice, amount: str) -> None:
        try:
            start.wait()
            outcomes.append(
                credit_note_issue(invoice=target, by=None, reason="race", amount=D(amount)).number
            )
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    # 40 + 40 > 70 on the same invoice: one of the two is refused; the other invoice's note goes through.
    threads = [
        threading.Thread(target=issue, args=(invoice, "40.00")),
        threading.Thread(target=issue, args=(invoice, "40.00")),
        threading.Thread(target=issue, args=(other, "5.00")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes).count("refused") == 1
    notes = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).order_by("sequence_number")
    assert [note.sequence_number for note in notes] == [1, 2]
    assert sum(note.taxable for note in notes.filter(corrects=invoice)) == D("40.00")


# ---------------------------------------------------------------------------
# The admin
# ---------------------------------------------------------------------------
@pytest.fixture
def billing_staff(client: Client, staff_groups: None) -> Client:
    staff = UserFactory.create(email="billing@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Billing"))
    client.force_login(staff)
    return client


def test_billing_staff_issue_a_partial_credit_note_from_the_invoice_page(
    cast: Cast, billing_staff: Client
) -> None:
    invoice = invoice_of(cast)
    change = billing_staff.get(
        reverse("admin:billing_invoice_change", args=[invoice.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    form_url = reverse("admin:billing_invoice_credit_note", args=[invoice.pk])
    assert form_url in change.content.decode()

    response = billing_staff.post(
        form_url, {"scope": "partial", "amount": "10.00", "reason": "Goodwill"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_invoice_change", args=[note.pk])
    assert (note.total, note.reason) == (D("12.20"), "Goodwill")


def test_the_admin_form_shows_the_refusal_and_writes_nothing(cast: Cast, billing_staff: Client) -> None:
    invoice = invoice_of(cast)

    response = billing_staff.post(
        reverse("admin:billing_invoice_credit_note", args=[invoice.pk]),
        {"scope": "partial", "amount": "999.00", "reason": "Too much"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "cannot exceed what remains" in response.content.decode()
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_the_list_action_leads_to_the_credit_note_form(cast: Cast, billing_staff: Client) -> None:
    invoice = invoice_of(cast)

    response = billing_staff.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "issue_credit_note", "_selected_action": [invoice.pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_invoice_credit_note", args=[invoice.pk])


def test_staff_without_the_permission_cannot_issue_a_credit_note(
    cast: Cast, client: Client, staff_groups: None
) -> None:
    staff = UserFactory.create(email="care@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Customer care"))
    client.force_login(staff)
    invoice = invoice_of(cast)

    response = client.post(
        reverse("admin:billing_invoice_credit_note", args=[invoice.pk]),
        {"scope": "full", "reason": "Nope"},
    )

    assert response.status_code == 403
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_staff_record_a_bank_transfer_received_and_it_is_audited(cast: Cast, billing_staff: Client) -> None:
    expired = invoice_of(cast, status=InvoiceStatus.EXPIRED)
    paid = invoice_of(cast, month=2, status=InvoiceStatus.PAID)

    billing_staff.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "mark_paid_by_bank_transfer", "_selected_action": [expired.pk, paid.pk]},
    )

    expired.refresh_from_db()
    assert expired.status == InvoiceStatus.PAID
    assert (
        LogEntry.objects.filter(
            additional_data__event="invoice_paid_by_bank_transfer", object_pk=str(expired.pk)
        ).count()
        == 1
    )
    assert not LogEntry.objects.filter(
        additional_data__event="invoice_paid_by_bank_transfer", object_pk=str(paid.pk)
    ).exists()
