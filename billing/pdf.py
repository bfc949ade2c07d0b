"""PDF documents of the billing app, made with WeasyPrint from a template."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string


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
