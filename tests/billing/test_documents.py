"""The invoice's files: the PDF and the XML made once on first download, copies made in the background.

Files go to a private storage folder of the test's own (`private_storage`);
the Celery test runs a real worker pointed at the same folder.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree

import billing.tasks_documents
from billing import documents
from billing.documents import (
    invoice_copies_sweep,
    invoice_copy_make,
    invoice_copy_request,
    invoice_pdf_document,
)
from billing.fatturapa import xml_amounts
from billing.models import (
    Invoice,
    InvoiceDocument,
    InvoiceDocumentKind,
    InvoiceDocumentStatus,
    InvoiceKind,
)
from billing.pdf import invoice_pdf_html
from billing.services import billing_run_month
from selfcare.models import Notification
from tests.billing.test_billing_run import MONTH, YEAR, the_invoice_of
from tests.billing.test_fatturapa import credit_note_of
from tests.cast import Cast, make_cast
from tests.conftest import log_in
from tests.factories import UserFactory, give_totp
from tests.worker import WorkerProcess, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_storage(settings: Any, tmp_path: Path) -> Path:
    """Django's default storage in a folder of the test's own."""
    folder = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    return folder


@pytest.fixture
def invoice(cast: Cast, private_storage: Path) -> Invoice:
    """Rossi's invoice for October 2026, made by the billing run over the cast's lines."""
    billing_run_month(year=YEAR, month=MONTH)
    return Invoice.objects.select_related("company").get(pk=the_invoice_of(cast.rossi).pk)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The copies whose task was sent to the broker (not sent: the test runs them itself)."""
    sent: list[int] = []
    monkeypatch.setattr(
        billing.tasks_documents.invoice_copy_make, "apply_async", lambda args, **options: sent.append(args[0])
    )
    return sent


@pytest.fixture
def billing_staff(client: Client, staff_groups: None) -> Client:
    staff = UserFactory.create(email="fatturazione@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Billing"))
    client.force_login(staff)
    return client


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def pdf_url(invoice: Invoice) -> str:
    return reverse("billing:invoice-pdf", args=[invoice.pk])


def xml_url(invoice: Invoice) -> str:
    return reverse("billing:invoice-xml", args=[invoice.pk])


def copies_url(invoice: Invoice) -> str:
    return reverse("billing:invoice-copies", args=[invoice.pk])


class TestThePdf:
    def test_admins_and_legal_reps_download_it_as_a_private_attachment(
        self, cast: Cast, client_as: Any, invoice: Invoice
    ) -> None:
        for membership in (cast.rossi_admin, cast.rossi_legal_rep):
            response = client_as(membership).get(pdf_url(invoice))

            assert response.status_code == 200
            assert body_of(response).startswith(b"%PDF")
            assert response["Content-Type"] == "application/pdf"
            number = invoice.number.replace("/", "_")
            assert response["Content-Disposition"] == f'attachment; filename="Fattura_{number}.pdf"'
            assert response["Cache-Control"] == "private, no-store"

    def test_is_made_on_the_first_download_only(self, cast: Cast, client_as: Any, invoice: Invoice) -> None:
        assert not InvoiceDocument.objects.filter(invoice=invoice).exists()  # not by the billing run
        client = client_as(cast.rossi_admin)

        first = body_of(client.get(pdf_url(invoice)))
        second = body_of(client.get(pdf_url(invoice)))

        document = InvoiceDocument.objects.get(invoice=invoice)
        assert (document.kind, document.status, document.requested_by) == (
            InvoiceDocumentKind.PDF,
            InvoiceDocumentStatus.READY,
            cast.rossi_admin.user,
        )
        assert first == second

    def test_two_first_downloads_at_once_keep_one_file(
        self, invoice: Invoice, private_storage: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The other download commits its row while this one is building the PDF.
        from billing import pdf

        real = pdf.invoice_pdf

        def slow_pdf(**kwargs: Any) -> bytes:
            content = real(**kwargs)
            monkeypatch.setattr(pdf, "invoice_pdf", real)
            invoice_pdf_document(invoice=invoice)
            return content

        monkeypatch.setattr(pdf, "invoice_pdf", slow_pdf)

        document = invoice_pdf_document(invoice=invoice)

        only = InvoiceDocument.objects.get(invoice=invoice, kind=InvoiceDocumentKind.PDF)
        assert document.pk == only.pk
        # The loser removed its file: one file in storage, the winner's.
        assert [path.name for path in private_storage.rglob("*.pdf")] == [Path(only.file.name or "").name]

    def test_reads_as_an_italian_invoice(self, cast: Cast, invoice: Invoice) -> None:
        html = invoice_pdf_html(invoice=invoice, duplicate=False)

        for shown in (
            f"Fattura n. {invoice.number} del {invoice.issued_on:%d/%m/%Y}",
            "Rete Business S.p.A.",
            "Partita IVA IT04567890126",
            "REA RM-1234567",
            cast.rossi.name,
            cast.rossi.vat_number,
            "Periodo",
            f"{invoice.period_start:%d/%m/%Y} - {invoice.period_end:%d/%m/%Y}",
            f"Scadenza {invoice.due_on:%d/%m/%Y}",
            f"Linea {cast.rossi_assigned_line.number}",
            "Cantieri",
            "Tassa di concessione governativa",
            f"€ {invoice.taxable:.2f}".replace(".", ","),
            f"€ {invoice.vat:.2f}".replace(".", ","),
            f"€ {invoice.total:.2f}".replace(".", ","),
            "Importo da pagare",
            "IBAN IT76W0306909606100000123456",
            "Copia di cortesia",
        ):
            assert shown in html, shown
        assert "DUPLICATO" not in html

    def test_the_stamp_duty_is_said_to_be_paid_virtually(self, invoice: Invoice) -> None:
        Invoice.objects.filter(pk=invoice.pk).update(stamp_duty="2.00")
        invoice.refresh_from_db()

        assert "Imposta di bollo assolta in modo virtuale" in invoice_pdf_html(
            invoice=invoice, duplicate=False
        )

    def test_a_credit_note_says_so_and_which_invoice_it_corrects(self, invoice: Invoice) -> None:
        note = credit_note_of(invoice)

        html = invoice_pdf_html(invoice=note, duplicate=False)

        assert f"Nota di credito n. {note.number}" in html
        assert f"A storno della fattura n. {invoice.number} del {invoice.issued_on:%d/%m/%Y}" in html
        assert "Canoni addebitati per errore" in html
        assert "Importo da pagare" not in html

    def test_a_copy_is_marked_duplicate_with_the_same_content(self, invoice: Invoice) -> None:
        original = invoice_pdf_html(invoice=invoice, duplicate=False)
        copy = invoice_pdf_html(invoice=invoice, duplicate=True)

        assert "DUPLICATO" in copy
        assert f"€ {invoice.total:.2f}".replace(".", ",") in copy
        assert copy.count("<tr>") == original.count("<tr>")


class TestTheXml:
    def test_downloads_the_fatturapa_whose_amounts_are_the_invoices(
        self, cast: Cast, client_as: Any, invoice: Invoice
    ) -> None:
        response = client_as(cast.rossi_legal_rep).get(xml_url(invoice))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/xml"
        assert response["Cache-Control"] == "private, no-store"
        assert response["Content-Disposition"].endswith('.xml"')
        xml = body_of(response)
        amounts = xml_amounts(xml)
        assert (amounts["taxable"], amounts["vat"], amounts["total"]) == (
            invoice.taxable,
            invoice.vat,
            invoice.total,
        )
        assert etree.fromstring(xml).findtext(".//Numero") == invoice.number
        assert InvoiceDocument.objects.filter(invoice=invoice, kind=InvoiceDocumentKind.XML).count() == 1


class TestWhoMayDownload:
    def test_a_line_user_gets_no_file(self, cast: Cast, client_as: Any, invoice: Invoice) -> None:
        client = client_as(cast.rossi_line_user)

        for url in (pdf_url(invoice), xml_url(invoice), copies_url(invoice)):
            assert client.get(url).status_code == 404
        assert client.post(copies_url(invoice)).status_code == 404

    def test_another_companys_invoice_and_copy_are_not_found(
        self, cast: Cast, client_as: Any, invoice: Invoice
    ) -> None:
        foreign = the_invoice_of(cast.bianchi)
        copy, _ = invoice_copy_request(invoice=foreign, by=None)
        InvoiceDocument.objects.filter(pk=copy.pk).update(status="ready", file="invoices/x.pdf")

        for membership in cast.memberships_of_rossi().values():
            client = client_as(membership)
            for url in (pdf_url(foreign), xml_url(foreign), reverse("billing:invoice-copy", args=[copy.pk])):
                assert client.get(url).status_code == 404, url
            assert client.post(copies_url(foreign)).status_code == 404
        assert not InvoiceDocument.objects.filter(invoice=foreign, kind__in=["pdf", "xml"]).exists()


class TestCopies:
    def test_asking_twice_while_one_is_prepared_makes_one(
        self,
        cast: Cast,
        client_as: Any,
        invoice: Invoice,
        enqueued: list[int],
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        client = client_as(cast.rossi_admin)

        with django_capture_on_commit_callbacks(execute=True):
            first = client.post(copies_url(invoice), HTTP_ACCEPT_LANGUAGE="en", follow=True)
            second = client.post(copies_url(invoice), HTTP_ACCEPT_LANGUAGE="en", follow=True)

        copy = InvoiceDocument.objects.get(invoice=invoice, kind=InvoiceDocumentKind.DUPLICATE)
        assert (copy.status, copy.requested_by) == (InvoiceDocumentStatus.PENDING, cast.rossi_admin.user)
        assert enqueued == [copy.pk]
        assert "We are preparing your copy" in first.content.decode()
        assert "already being prepared" in second.content.decode()
        assert 'id="copy-pending"' in second.content.decode()

    def test_the_service_returns_the_pending_copy_to_a_second_request(
        self, cast: Cast, invoice: Invoice, enqueued: list[int]
    ) -> None:
        one, created = invoice_copy_request(invoice=invoice, by=cast.rossi_admin.user)
        other, created_again = invoice_copy_request(invoice=invoice, by=cast.rossi_legal_rep.user)

        assert (one.pk, created, created_again) == (other.pk, True, False)

    def test_the_constraint_refuses_a_second_pending_copy(self, invoice: Invoice) -> None:
        InvoiceDocument.objects.create(invoice=invoice, kind="duplicate", status="pending")

        with pytest.raises(IntegrityError):
            InvoiceDocument.objects.create(invoice=invoice, kind="duplicate", status="pending")

    def test_through_htmx_the_block_answers_with_the_progress_hint(
        self, cast: Cast, client_as: Any, invoice: Invoice, enqueued: list[int]
    ) -> None:
        response = client_as(cast.rossi_admin).post(
            copies_url(invoice), HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
        )

        page = response.content.decode()
        assert response.status_code == 200
        assert 'id="invoice-documents"' in page
        assert "being prepared" in page
        assert 'hx-trigger="every 3s"' in page

    def test_a_ready_copy_is_a_duplicate_pdf_and_its_requester_is_told_with_a_link(
        self, cast: Cast, client_as: Any, invoice: Invoice, enqueued: list[int]
    ) -> None:
        copy, _ = invoice_copy_request(invoice=invoice, by=cast.rossi_legal_rep.user)

        assert invoice_copy_make(document_id=copy.pk) is True
        assert invoice_copy_make(document_id=copy.pk) is False  # a second run does nothing

        copy.refresh_from_db()
        assert copy.status == InvoiceDocumentStatus.READY
        link = reverse("billing:invoice-copy", args=[copy.pk])
        told = Notification.objects.filter(event="invoice_copy_ready")
        assert {(n.user, n.link) for n in told} == {(cast.rossi_legal_rep.user, link)}
        assert invoice.number in told.first().subject  # type: ignore[union-attr]
        response = client_as(cast.rossi_legal_rep).get(link)
        assert response.status_code == 200
        assert body_of(response).startswith(b"%PDF")
        assert response["Content-Disposition"].endswith('_duplicato.pdf"')
        assert response["Cache-Control"] == "private, no-store"
        page = client_as(cast.rossi_admin).get(reverse("billing:invoice-detail", args=[invoice.pk]))
        assert link in page.content.decode()

    def test_a_copy_that_cannot_be_made_fails_and_can_be_asked_for_again(
        self, cast: Cast, invoice: Invoice, enqueued: list[int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from billing import pdf

        def broken(**kwargs: Any) -> bytes:
            raise RuntimeError("no fonts")

        monkeypatch.setattr(pdf, "invoice_pdf", broken)
        copy, _ = invoice_copy_request(invoice=invoice, by=cast.rossi_admin.user)

        invoice_copy_make(document_id=copy.pk)

        copy.refresh_from_db()
        assert copy.status == InvoiceDocumentStatus.FAILED
        assert invoice_copy_request(invoice=invoice, by=cast.rossi_admin.user)[1] is True

    def test_a_copy_not_ready_is_not_downloadable(
        self, cast: Cast, client_as: Any, invoice: Invoice, enqueued: list[int]
    ) -> None:
        copy, _ = invoice_copy_request(invoice=invoice, by=cast.rossi_admin.user)

        response = client_as(cast.rossi_admin).get(reverse("billing:invoice-copy", args=[copy.pk]))

        assert response.status_code == 404

    def test_the_sweep_queues_again_only_copies_whose_task_was_lost(
        self, cast: Cast, invoice: Invoice, enqueued: list[int]
    ) -> None:
        stale, _ = invoice_copy_request(invoice=invoice, by=None)
        InvoiceDocument.objects.filter(pk=stale.pk).update(
            requested_at=timezone.now() - timedelta(minutes=10)
        )
        note = credit_note_of(invoice)
        fresh, _ = invoice_copy_request(invoice=note, by=None)
        enqueued.clear()

        assert invoice_copies_sweep() == 1
        assert enqueued == [stale.pk]
        assert fresh.pk not in enqueued

    def test_the_page_lists_copies_and_the_sdi_state_in_words(
        self, cast: Cast, client_as: Any, invoice: Invoice
    ) -> None:
        response = client_as(cast.rossi_admin).get(
            reverse("billing:invoice-detail", args=[invoice.pk]), HTTP_ACCEPT_LANGUAGE="en"
        )

        page = response.content.decode()
        assert response.context["documents"].copies == []
        assert pdf_url(invoice) in page
        assert xml_url(invoice) in page
        assert "To be sent" in page
        assert "We will send it to the national exchange (SdI) shortly" in page
        assert 'id="copy-request"' in page


class TestCopiesFromTheAdmin:
    def test_staff_issue_a_copy_and_the_companys_billing_managers_are_told(
        self, cast: Cast, billing_staff: Client, invoice: Invoice, enqueued: list[int]
    ) -> None:
        response = billing_staff.post(
            reverse("admin:billing_invoice_changelist"),
            {"action": "issue_copy", "_selected_action": [invoice.pk]},
            follow=True,
        )

        assert response.status_code == 200
        copy = InvoiceDocument.objects.get(invoice=invoice, kind=InvoiceDocumentKind.DUPLICATE)
        assert copy.requested_by is not None
        assert copy.requested_by.is_staff
        invoice_copy_make(document_id=copy.pk)
        told = {n.user for n in Notification.objects.filter(event="invoice_copy_ready")}
        assert told == {cast.rossi_admin.user, cast.rossi_legal_rep.user}

    def test_staff_see_the_documents_read_only(
        self, cast: Cast, billing_staff: Client, invoice: Invoice, enqueued: list[int]
    ) -> None:
        copy, _ = invoice_copy_request(invoice=invoice, by=None)

        listing = billing_staff.get(
            reverse("admin:billing_invoicedocument_changelist") + f"?kind__exact=duplicate&q={invoice.number}"
        )
        change = billing_staff.get(reverse("admin:billing_invoicedocument_change", args=[copy.pk]))

        assert listing.status_code == 200
        assert cast.rossi.name in listing.content.decode()
        assert change.status_code == 200
        assert b'name="_save"' not in change.content


class TestTheApi:
    def test_pdf_and_xml_of_the_companys_invoice(
        self, cast: Cast, api_client_for: Any, invoice: Invoice
    ) -> None:
        api = api_client_for(cast.rossi_legal_rep)

        pdf = api.get(f"/api/v1/invoices/{invoice.pk}/pdf/")
        xml = api.get(f"/api/v1/invoices/{invoice.pk}/xml/", HTTP_ACCEPT="application/xml")

        assert pdf.status_code == 200
        assert body_of(pdf).startswith(b"%PDF")
        assert xml.status_code == 200
        assert xml_amounts(body_of(xml))["total"] == invoice.total

    def test_copies_asked_for_listed_and_downloaded(
        self, cast: Cast, api_client_for: Any, invoice: Invoice, enqueued: list[int]
    ) -> None:
        api = api_client_for(cast.rossi_admin)
        url = f"/api/v1/invoices/{invoice.pk}/copies/"

        asked = api.post(url)
        again = api.post(url)

        assert (asked.status_code, again.status_code) == (202, 200)
        assert asked.json()["id"] == again.json()["id"]
        assert asked.json()["status"] == "pending"
        assert asked.json()["download"] is None
        invoice_copy_make(document_id=asked.json()["id"])
        listed = api.get(url).json()["results"]
        assert [row["status"] for row in listed] == ["ready"]
        download = api.get(listed[0]["download"])
        assert download.status_code == 200
        assert body_of(download).startswith(b"%PDF")

    def test_another_companys_invoice_and_copy_are_not_found(
        self, cast: Cast, api_client_for: Any, invoice: Invoice, enqueued: list[int]
    ) -> None:
        foreign = the_invoice_of(cast.bianchi)
        copy, _ = invoice_copy_request(invoice=foreign, by=None)
        invoice_copy_make(document_id=copy.pk)

        for membership in cast.memberships_of_rossi().values():
            api = api_client_for(membership)
            for path in ("pdf/", "xml/", "copies/"):
                assert api.get(f"/api/v1/invoices/{foreign.pk}/{path}").status_code == 404, path
            assert api.post(f"/api/v1/invoices/{foreign.pk}/copies/").status_code == 404
            assert api.get(f"/api/v1/invoices/copies/{copy.pk}/pdf/").status_code == 404


# ---------------------------------------------------------------------------
# With a real Celery worker
# ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_copy_and_tells_who_asked(
    transactional_db: None, settings: Any, tmp_path: Path, staff_groups: None
) -> None:
    folder = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    cast = make_cast()
    billing_run_month(year=YEAR, month=MONTH)
    invoice = the_invoice_of(cast.rossi)
    client = log_in(Client(), cast.rossi_admin)

    with WorkerProcess(extra_env={"PRIVATE_STORAGE_ROOT": str(folder)}) as worker:
        client.post(copies_url(invoice))
        copy = InvoiceDocument.objects.get(invoice=invoice, kind=InvoiceDocumentKind.DUPLICATE)
        wait_until(
            lambda: InvoiceDocument.objects.filter(pk=copy.pk, status=InvoiceDocumentStatus.READY).exists(),
            timeout=60,
        )
        assert "invoice_copy_make" in worker.log

    copy.refresh_from_db()
    assert (folder / (copy.file.name or "")).read_bytes().startswith(b"%PDF")
    assert Notification.objects.filter(
        event="invoice_copy_ready",
        user=cast.rossi_admin.user,
        link=reverse("billing:invoice-copy", args=[copy.pk]),
    ).exists()
    response = client.get(reverse("billing:invoice-copy", args=[copy.pk]))
    assert body_of(response).startswith(b"%PDF")


def test_credit_note_files_are_named_as_credit_notes(invoice: Invoice) -> None:
    note = credit_note_of(invoice)

    assert note.kind == InvoiceKind.CREDIT_NOTE
    assert documents.invoice_file_name(note, extension="pdf").startswith("NotaCredito_")
