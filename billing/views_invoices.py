"""The customer's invoices: the list with its filters, and one invoice with its lines per SIM and its taxes."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.documents import invoice_documents_block
from billing.forms_invoices import InvoiceFilterForm
from billing.models import Invoice
from billing.selectors_invoices import invoice_layout, invoice_years, invoices_filtered
from selfcare import permissions
from selfcare.views.base import CompanyView

INVOICES_PER_PAGE = 20


class InvoiceListView(CompanyView):
    """The company's invoices and credit notes, newest first; filters kept in the query string."""

    capability = permissions.can_manage_billing

    def get(self, request: HttpRequest) -> HttpResponse:
        form = InvoiceFilterForm(request.GET or None, years=invoice_years(membership=self.membership))
        filters = form.filters()
        invoices = invoices_filtered(membership=self.membership, filters=filters)
        page = Paginator(invoices, INVOICES_PER_PAGE).get_page(request.GET.get("page"))
        return render(
            request,
            "billing/invoices/list.html",
            {"form": form, "filters": filters, "page": page, "query": form.query()},
        )


class InvoiceDetailView(CompanyView):
    """One invoice. Another company's invoice is 404 (loaded before the capability is checked)."""

    capability = permissions.can_manage_billing
    tenant_model = Invoice

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice: Invoice = self.object
        return render(
            request,
            "billing/invoices/detail.html",
            {
                "invoice": invoice,
                "layout": invoice_layout(invoice=invoice),
                # The Documents block: the invoice's copies, one query.
                "documents": invoice_documents_block(invoice=invoice),
            },
        )
