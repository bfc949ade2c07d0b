"""The invoice's files on the portal: PDF and electronic invoice downloads, copies asked for and downloaded.

Every view loads its invoice or copy through the tenancy scope before the
role is checked (selfcare.views.base.CompanyView): another company's id,
or a line user's, is a 404. Files stream from private storage with
`Cache-Control: private, no-store`: an invoice is nobody's shared cache entry.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing.documents import (
    invoice_copy_request,
    invoice_documents_block,
    invoice_file_name,
    invoice_pdf_document,
    invoice_xml_document,
)
from billing.fatturapa import FatturaPAError
from billing.models import Invoice, InvoiceDocument, InvoiceDocumentKind, InvoiceDocumentStatus
from selfcare import permissions
from selfcare.models import User
from selfcare.views.base import CompanyView

logger = logging.getLogger(__name__)


def document_response(document: InvoiceDocument, *, filename: str, content_type: str) -> FileResponse:
    """The stored file as a download, never cached by anyone but the browser's own session."""
    response = FileResponse(
        document.file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class InvoicePdfView(CompanyView):
    """The invoice's PDF, made on the first download."""

    capability = permissions.can_manage_billing
    tenant_model = Invoice

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        invoice: Invoice = self.object
        document = invoice_pdf_document(invoice=invoice, by=_user(request))
        return document_response(
            document, filename=invoice_file_name(invoice, extension="pdf"), content_type="application/pdf"
        )


class InvoiceXmlView(CompanyView):
    """The electronic invoice (FatturaPA XML), the same file the exchange receives."""

    capability = permissions.can_manage_billing
    tenant_model = Invoice

    def get(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        invoice: Invoice = self.object
        try:
            document = invoice_xml_document(invoice=invoice, by=_user(request))
        except FatturaPAError:
            # The invoice's lines do not add up: the customer is told, not served a wrong file, and staff see the log.
            logger.exception("electronic invoice of %s cannot be made", invoice.number)
            messages.error(
                request,
                _("The electronic invoice is not available yet: our staff have been told. Try again later."),
            )
            return redirect("billing:invoice-detail", pk=invoice.pk)
        return document_response(
            document, filename=invoice_file_name(invoice, extension="xml"), content_type="application/xml"
        )


class InvoiceCopiesView(CompanyView):
    """GET: the Documents block (htmx polls it while a copy is prepared). POST: ask for a copy."""

    capability = permissions.can_manage_billing
    tenant_model = Invoice

    def _block(self, request: HttpRequest, *, message: str = "") -> HttpResponse:
        invoice: Invoice = self.object
        return render(
            request,
            "billing/invoices/_documents.html",
            {
                "invoice": invoice,
                "documents": invoice_documents_block(invoice=invoice),
                "copy_message": message,
            },
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not getattr(request, "htmx", False):
            return redirect("billing:invoice-detail", pk=pk)
        return self._block(request)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice: Invoice = self.object
        _document, created = invoice_copy_request(invoice=invoice, by=_user(request))
        message = (
            _("We are preparing your copy. We will tell you in the portal and by e-mail when it is ready.")
            if created
            else _("A copy of this invoice is already being prepared: we will tell you when it is ready.")
        )
        if getattr(request, "htmx", False):
            return self._block(request, message=message)
        messages.success(request, message)
        return redirect("billing:invoice-detail", pk=invoice.pk)


class InvoiceCopyView(CompanyView):
    """A ready copy (duplicate PDF) of one of the company's invoices."""

    capability = permissions.can_manage_billing
    tenant_model = InvoiceDocument

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        document: InvoiceDocument = self.object
        if (
            document.kind != InvoiceDocumentKind.DUPLICATE
            or document.status != InvoiceDocumentStatus.READY
            or not document.file
        ):
            raise Http404
        invoice = document.invoice
        return document_response(
            document,
            filename=invoice_file_name(invoice, extension="pdf", duplicate=True),
            content_type="application/pdf",
        )
