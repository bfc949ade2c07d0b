"""PDF documents of the billing app, made with WeasyPrint from a template: receipts, invoices and their copies."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.template.loader import render_to_string

from billing.models import Invoice, InvoiceKind, PaymentMethodKind


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The receipt's template holds everything it needs: nothing is fetched,
    # so a value in the document can never make the server request an address.
    raise ValueError(f"the receipt fetches nothing ({url})")


def receipt_pdf(*, request: HttpRequest, context: dict[str, Any]) -> bytes:
    """The receipt of a paid payment as a PDF."""
    from weasyprint import HTML  # imported when used: it loads Pango, slow to start

    html = render_to_string("billing/receipt_pdf.html", context, request=request)
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetching).write_pdf()
    return pdf


def _static_file(url: str) -> tuple[bytes, str]:
    """The content and type of a static file of the portal named by `url`; ValueError for anything else.

    An address is read as a path under STATIC_URL, whatever host it names,
    and found by the static files finders (or in STATIC_ROOT once
    collected): no request ever leaves the server, and no file outside the
    static folders can be named.
    """
    from django.conf import settings
    from django.contrib.staticfiles import finders

    path = urlsplit(url).path
    static_url = urlsplit(settings.STATIC_URL).path
    if not path.startswith(static_url) or ".." in path.split("/"):
        raise ValueError(f"an invoice fetches only the portal's static files ({url})")
    relative = path[len(static_url) :]
    found = finders.find(relative)
    candidate = Path(found) if isinstance(found, str) else Path(settings.STATIC_ROOT) / relative
    if not candidate.is_file():
        raise ValueError(f"no static file {relative}")
    return candidate.read_bytes(), mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"


def _static_files_fetcher() -> Any:
    """WeasyPrint's fetcher for invoices: the portal's own static files (the logo), nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]  # no type hints

    class StaticFilesOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            content, content_type = _static_file(url)
            return URLFetcherResponse(url, body=content, headers={"Content-Type": content_type})

    return StaticFilesOnly()


def invoice_pdf_html(*, invoice: Invoice, duplicate: bool) -> str:
    """The HTML the invoice's PDF is made from (in Italian: the document is Italian whatever the reader's language)."""
    from django.conf import settings
    from django.utils import translation

    from billing.selectors_invoices import invoice_layout

    seller = settings.INVOICE_SELLER
    context = {
        "invoice": invoice,
        "company": invoice.company,
        "seller": seller,
        "layout": invoice_layout(invoice=invoice),
        "duplicate": duplicate,
        "is_credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE,
        "bank_transfer": invoice.payment_method == PaymentMethodKind.BANK_TRANSFER,
        "notes": [line for line in invoice.exemption_notes.splitlines() if line.strip()],
    }
    with translation.override("it"):
        return render_to_string("billing/invoices/invoice_pdf.html", context)


def invoice_pdf(*, invoice: Invoice, duplicate: bool) -> bytes:
    """The invoice or credit note as a PDF; `duplicate` marks it as a copy ("DUPLICATO") on every page."""
    from django.conf import settings
    from weasyprint import HTML

    html = invoice_pdf_html(invoice=invoice, duplicate=duplicate)
    pdf: bytes = HTML(
        string=html, base_url=settings.SITE_URL, url_fetcher=_static_files_fetcher()
    ).write_pdf()
    return pdf
