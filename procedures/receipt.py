"""The receipt of a request: a PDF of what was submitted, made at submission and kept as a generated document.

WeasyPrint from a template, as billing.pdf does: the template holds
everything it needs and nothing is fetched. It is written in the
submitter's language, and says when the operator received the request,
which is the date that counts (a withdrawal takes effect 30 days after it).
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from procedures.models import Request


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # Nothing the customer typed can make the server request an address.
    raise ValueError(f"the receipt fetches nothing ({url})")


def request_receipt_html(*, request: Request) -> str:
    from procedures.selectors import request_page

    page = request_page(request=request)
    with translation.override(request.submitted_by.language or "it"):
        return render_to_string(
            "procedures/requests/receipt_pdf.html",
            {
                "request": page.request,
                "page": page,
                "request_data_items": page.data_items,
                "company": page.request.company,
                "LANGUAGE_CODE": translation.get_language(),
            },
        )


def request_receipt_pdf(*, request: Request) -> bytes:
    from weasyprint import HTML  # imported when used: it loads Pango, slow to start

    pdf: bytes = HTML(string=request_receipt_html(request=request), url_fetcher=_no_fetching).write_pdf()
    return pdf
