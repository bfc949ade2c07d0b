"""The electronic invoice's state in the exchange (SdI): sent by the hourly task, receipts recorded, shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from billing.fatturapa import fatturapa_file_name, xml_amounts
from billing.models import Invoice, InvoiceDocument, InvoiceDocumentKind, SdiState
from billing.sdi import SandboxChannel, SdiTransitionError, sdi_state_record, sdi_transmit_pending
from billing.services import billing_run_month
from billing.tasks_documents import sdi_transmit_pending as sdi_transmit_pending_task
from tests.billing.test_billing_run import MONTH, YEAR, company_with_lines, the_invoice_of
from tests.cast import Cast
from tests.factories import UserFactory, give_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> Path:
    """The sandbox exchange's folder, and a private storage, of the test's own."""
    settings.SDI_OUTBOX = tmp_path / "sdi"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    return tmp_path / "sdi"


def sent_invoice() -> Invoice:
    company = company_with_lines(7)
    billing_run_month(year=YEAR, month=MONTH)
    invoice = the_invoice_of(company)
    sdi_state_record(invoice=invoice, state=SdiState.SENT, identifier="SDI-123")
    return invoice


class TestSending:
    def test_the_task_sends_every_invoice_to_send_once_with_its_xml(self, outbox: Path) -> None:
        companies = [company_with_lines(7), company_with_lines(2)]
        billing_run_month(year=YEAR, month=MONTH)
        invoices = [the_invoice_of(company) for company in companies]

        sdi_transmit_pending_task()

        for invoice in invoices:
            invoice.refresh_from_db()
            assert invoice.sdi_state == SdiState.SENT
            assert invoice.sdi_identifier
            assert invoice.sdi_updated_at is not None
            sent = (outbox / fatturapa_file_name(invoice)).read_bytes()
            assert xml_amounts(sent)["total"] == invoice.total
            # The file sent is the one stored, which the customer downloads.
            stored = InvoiceDocument.objects.get(invoice=invoice, kind=InvoiceDocumentKind.XML)
            with stored.file.open("rb") as file:
                assert file.read() == sent

    def test_running_it_again_sends_nothing_more(self, outbox: Path) -> None:
        company_with_lines(1)
        billing_run_month(year=YEAR, month=MONTH)

        assert sdi_transmit_pending() == 1
        assert sdi_transmit_pending() == 0
        assert len(list(outbox.iterdir())) == 1
        assert InvoiceDocument.objects.filter(kind=InvoiceDocumentKind.XML).count() == 1

    def test_only_invoices_to_send_are_sent(self, outbox: Path) -> None:
        invoice = sent_invoice()
        sdi_state_record(invoice=invoice, state=SdiState.DELIVERED)

        assert sdi_transmit_pending(channel=SandboxChannel(outbox)) == 0
        invoice.refresh_from_db()
        assert (invoice.sdi_state, invoice.sdi_identifier) == (SdiState.DELIVERED, "SDI-123")

    def test_an_invoice_that_does_not_add_up_stays_to_send_and_the_others_go(self, outbox: Path) -> None:
        wrong, right = company_with_lines(7), company_with_lines(1)
        billing_run_month(year=YEAR, month=MONTH)
        Invoice.objects.filter(company=wrong).update(concession_fee="1.00")

        assert sdi_transmit_pending() == 1
        assert the_invoice_of(wrong).sdi_state == SdiState.TO_SEND
        assert the_invoice_of(right).sdi_state == SdiState.SENT

    def test_beat_runs_it_every_hour(self) -> None:
        entry = django_settings.CELERY_BEAT_SCHEDULE["sdi-transmit-hourly"]

        assert entry["task"] == "billing.tasks_documents.sdi_transmit_pending"
        assert entry["schedule"].minute == {20}


class TestReceipts:
    @pytest.mark.parametrize("state", [SdiState.DELIVERED, SdiState.NOT_DELIVERED, SdiState.REJECTED])
    def test_a_sent_invoice_takes_the_exchanges_receipt(self, state: SdiState) -> None:
        invoice = sent_invoice()

        assert sdi_state_record(invoice=invoice, state=state, identifier="SDI-123") is True

        invoice.refresh_from_db()
        assert (invoice.sdi_state, invoice.sdi_identifier) == (state, "SDI-123")

    def test_the_same_receipt_twice_changes_nothing(self) -> None:
        invoice = sent_invoice()
        sdi_state_record(invoice=invoice, state=SdiState.DELIVERED, identifier="SDI-123")

        assert sdi_state_record(invoice=invoice, state=SdiState.DELIVERED, identifier="SDI-123") is False

    @pytest.mark.parametrize(
        ("first", "then"),
        [
            (None, SdiState.DELIVERED),  # never sent
            (SdiState.DELIVERED, SdiState.REJECTED),
            (SdiState.REJECTED, SdiState.DELIVERED),
            (SdiState.NOT_DELIVERED, SdiState.SENT),
        ],
    )
    def test_any_other_move_is_refused(self, first: SdiState | None, then: SdiState) -> None:
        if first is None:
            company = company_with_lines(1)
            billing_run_month(year=YEAR, month=MONTH)
            invoice = the_invoice_of(company)
        else:
            invoice = sent_invoice()
            sdi_state_record(invoice=invoice, state=first)

        with pytest.raises(SdiTransitionError):
            sdi_state_record(invoice=invoice, state=then)

    def test_a_receipt_about_another_file_is_refused(self) -> None:
        invoice = sent_invoice()

        with pytest.raises(SdiTransitionError, match=r"another|SDI-999"):
            sdi_state_record(invoice=invoice, state=SdiState.DELIVERED, identifier="SDI-999")
        invoice.refresh_from_db()
        assert invoice.sdi_state == SdiState.SENT


@pytest.fixture
def billing_staff(client: Client, staff_groups: None) -> Client:
    staff = UserFactory.create(email="sdi@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Billing"))
    client.force_login(staff)
    return client


def test_staff_record_receipts_from_the_admin_and_wrong_moves_are_refused(billing_staff: Client) -> None:
    sent = sent_invoice()
    company = company_with_lines(1)
    billing_run_month(year=YEAR, month=MONTH)
    not_sent = the_invoice_of(company)

    response = billing_staff.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "sdi_delivered", "_selected_action": [sent.pk, not_sent.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    sent.refresh_from_db()
    not_sent.refresh_from_db()
    assert (sent.sdi_state, not_sent.sdi_state) == (SdiState.DELIVERED, SdiState.TO_SEND)
    page = response.content.decode()
    assert "1 invoice is now: Delivered." in page
    assert not_sent.number in page


def test_the_customer_sees_the_state_in_words(cast: Cast, client_as: Any) -> None:
    billing_run_month(year=YEAR, month=MONTH)
    invoice = the_invoice_of(cast.rossi)
    sdi_state_record(invoice=invoice, state=SdiState.SENT, identifier="SDI-1")
    sdi_state_record(invoice=invoice, state=SdiState.NOT_DELIVERED)

    response = client_as(cast.rossi_admin).get(
        reverse("billing:invoice-detail", args=[invoice.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    page = response.content.decode()
    assert "Not delivered: available in the customer&#x27;s tax area" in page
    assert "Fatture e Corrispettivi" in page
