"""The withdrawal letter for PEC or registered post (DOMAIN.md, "Forms and procedures"), as a PDF.

Submitting the withdrawal in the portal is a valid notice already (DL 7/2007,
art. 1(3), as amended by Law 124/2017); the operator's FAQ still speaks of
PEC or registered letter, so the portal also prepares that letter, filled in
and ready to sign, and keeps it with the request as a generated document
(role "letter"). Like the invoice, it is an Italian document, in Italian
whatever the reader's language. WeasyPrint fetches nothing: the template
holds all it needs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from procedures.documents import CheckedFile, document_store
from procedures.models import Request, RequestDocument
from selfcare.models import Line, LineStatus

LETTER_ROLE = "letter"


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # Nothing in the letter is fetched: a value typed by the customer can never
    # make the server request an address.
    raise ValueError(f"the withdrawal letter fetches nothing ({url})")


def _day(value: object) -> date | None:
    """A day kept in Request.data as an ISO string, or None."""
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def withdrawal_letter_html(*, request: Request) -> str:
    """The HTML of the letter, in Italian."""
    from procedures.kinds.withdrawal import Scope, measure_kind_label

    data = request.data
    whole_contract = data.get("scope") == Scope.CONTRACT
    lines = list(request.lines.order_by("number", "pk"))
    if whole_contract and not lines:
        lines = list(
            Line.objects.filter(company_id=request.company_id)
            .exclude(status=LineStatus.CEASED)
            .order_by("number")
        )
    with translation.override("it"):
        context = {
            "procedure": request,
            "company": request.company,
            "signer": request.submitted_by,
            "seller": settings.INVOICE_SELLER,
            "operator_pec": settings.OPERATOR_PEC,
            "whole_contract": whole_contract,
            "lines": lines,
            "received_on": _day(data.get("received_on")),
            "effective_on": request.due_on or _day(data.get("effective_on")),
            "penalty_free": bool(data.get("penalty_free")),
            "measure_kind": measure_kind_label(str(data.get("measure_kind") or "")),
            "measure_line": data.get("measure_line"),
            "measure_on": _day(data.get("measure_on")),
            "reason": data.get("reason") or "",
        }
        return render_to_string("procedures/kinds/withdrawal_letter_pdf.html", context)


def withdrawal_letter_pdf(*, request: Request) -> bytes:
    """The letter as a PDF."""
    from weasyprint import HTML  # imported when used: it loads Pango, slow to start

    pdf: bytes = HTML(string=withdrawal_letter_html(request=request), url_fetcher=_no_fetching).write_pdf()
    return pdf


def withdrawal_letter_attach(*, request: Request) -> RequestDocument:
    """Make the letter and keep it with the request, once (a second call returns the first letter)."""
    existing = request.documents.filter(role=LETTER_ROLE, generated=True).first()
    if existing is not None:
        return existing
    checked = CheckedFile(
        content=withdrawal_letter_pdf(request=request),
        content_type="application/pdf",
        original_name=f"recesso-{request.reference}.pdf",
    )
    return document_store(request=request, role=LETTER_ROLE, checked=checked, by=None, generated=True)
