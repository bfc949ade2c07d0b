"""The files of an invoice: its PDF and FatturaPA XML, made once on first need, and copies made in the background.

Every file goes to private storage (Django's default storage, which has no
URL); billing.views_documents and billing.api_documents stream them after
the tenancy and role checks.

- The PDF and the XML are made when first asked for (a download, or the
  SdI transmission for the XML), never by the billing run, and kept: an
  issued invoice never changes, so neither do they. Two first downloads at
  once both build the file, and the unique constraint
  `invoice_document_one_original_per_kind` keeps one row: the loser removes
  its file and returns the winner's.
- A copy ("duplicate") is a PENDING row written in the request's
  transaction: the row is the outbox of the work (ARCHITECTURE.md). Its
  commit enqueues `billing.tasks_documents.invoice_copy_make`; the periodic
  `invoice_copies_sweep` re-enqueues rows whose task was lost. A second
  request while one is pending joins it (`invoice_document_one_pending_duplicate`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import (
    Invoice,
    InvoiceDocument,
    InvoiceDocumentKind,
    InvoiceDocumentStatus,
    InvoiceKind,
)
from selfcare import permissions
from selfcare.celery import outbox_enqueue
from selfcare.models import Membership, Role, User
from selfcare.services.notifications import notify

logger = logging.getLogger(__name__)

# A pending copy older than this has lost its task (broker down, worker
# killed before acknowledging): the sweep sends it again.
COPY_SWEEP_AFTER = timedelta(minutes=5)
# How many copies the invoice page lists: the newest.
COPIES_SHOWN = 5


def invoice_file_name(invoice: Invoice, *, extension: str, duplicate: bool = False) -> str:
    """The name a download carries: Fattura_2026_000123.pdf, NotaCredito_2026_000004.xml, …_duplicato.pdf."""
    kind = "NotaCredito" if invoice.kind == InvoiceKind.CREDIT_NOTE else "Fattura"
    number = "".join(char if char.isalnum() else "_" for char in invoice.number).strip("_")
    suffix = "_duplicato" if duplicate else ""
    return f"{kind}_{number}{suffix}.{extension}"


# ---------------------------------------------------------------------------
# The originals: PDF and XML, once per invoice
# ---------------------------------------------------------------------------


def _original_get_or_make(
    *, invoice: Invoice, kind: InvoiceDocumentKind, build: Callable[[], bytes], by: User | None
) -> InvoiceDocument:
    existing = InvoiceDocument.objects.filter(invoice=invoice, kind=kind).first()
    if existing is not None and existing.status == InvoiceDocumentStatus.READY and existing.file:
        return existing
    content = build()
    extension = "xml" if kind == InvoiceDocumentKind.XML else "pdf"
    document = existing or InvoiceDocument(invoice=invoice, kind=kind, requested_by=by)
    document.file.save(invoice_file_name(invoice, extension=extension), ContentFile(content), save=False)
    document.status = InvoiceDocumentStatus.READY
    document.ready_at = timezone.now()
    try:
        with transaction.atomic():
            if existing is None:
                document.save()
            elif (
                InvoiceDocument.objects.filter(pk=existing.pk)
                .exclude(status=InvoiceDocumentStatus.READY)
                .update(file=document.file.name, status=document.status, ready_at=document.ready_at)
                != 1
            ):
                raise IntegrityError("made ready by another request")
    except IntegrityError:
        # Another first download wrote its row first: one file per invoice, theirs.
        document.file.delete(save=False)
        return InvoiceDocument.objects.get(invoice=invoice, kind=kind)
    return document


def invoice_pdf_document(*, invoice: Invoice, by: User | None = None) -> InvoiceDocument:
    """The invoice's PDF, made and stored on the first call."""
    from billing.pdf import invoice_pdf

    return _original_get_or_make(
        invoice=invoice,
        kind=InvoiceDocumentKind.PDF,
        build=lambda: invoice_pdf(invoice=invoice, duplicate=False),
        by=by,
    )


def invoice_xml_document(*, invoice: Invoice, by: User | None = None) -> InvoiceDocument:
    """The invoice's FatturaPA XML, made and stored on the first call: the file sent to the SdI and downloaded."""
    from billing.fatturapa import fatturapa_xml

    return _original_get_or_make(
        invoice=invoice,
        kind=InvoiceDocumentKind.XML,
        build=lambda: fatturapa_xml(invoice=invoice),
        by=by,
    )


# ---------------------------------------------------------------------------
# Copies
# ---------------------------------------------------------------------------


def invoice_copies(*, invoice: Invoice, limit: int = COPIES_SHOWN) -> list[InvoiceDocument]:
    """The invoice's newest copies (pending, ready or failed), newest first: one query.

    The invoice was loaded through the tenancy scope, so its copies are the caller's company's.
    """
    return list(
        InvoiceDocument.objects.filter(invoice=invoice, kind=InvoiceDocumentKind.DUPLICATE).order_by(
            "-requested_at", "-pk"
        )[:limit]
    )


def invoice_copy_request(*, invoice: Invoice, by: User | None) -> tuple[InvoiceDocument, bool]:
    """Ask for a copy of the invoice: (the copy, whether this call asked for it).

    While a copy is being prepared, asking again returns that one and makes
    none: the partial unique constraint decides between two requests at once.
    """
    pending = InvoiceDocument.objects.filter(
        invoice=invoice, kind=InvoiceDocumentKind.DUPLICATE, status=InvoiceDocumentStatus.PENDING
    ).first()
    if pending is not None:
        return pending, False
    try:
        with transaction.atomic():
            document = InvoiceDocument.objects.create(
                invoice=invoice,
                kind=InvoiceDocumentKind.DUPLICATE,
                status=InvoiceDocumentStatus.PENDING,
                requested_by=by,
            )
    except IntegrityError:
        return (
            InvoiceDocument.objects.get(
                invoice=invoice, kind=InvoiceDocumentKind.DUPLICATE, status=InvoiceDocumentStatus.PENDING
            ),
            False,
        )
    document_id = document.pk
    # After the commit: the worker must find the row; a rolled-back request makes nothing.
    transaction.on_commit(lambda: invoice_copies_enqueue(document_ids=[document_id]))
    return document, True


def invoice_copies_enqueue(*, document_ids: list[int]) -> int:
    """Queue the making of each copy; a broker that is down is left to the sweep. How many were queued."""
    from billing.tasks_documents import invoice_copy_make

    return outbox_enqueue(invoice_copy_make, document_ids, what="invoice copies")


def invoice_copies_sweep() -> int:
    """Queue again the copies pending for longer than a task takes; how many."""
    stale = list(
        InvoiceDocument.objects.filter(
            kind=InvoiceDocumentKind.DUPLICATE,
            status=InvoiceDocumentStatus.PENDING,
            requested_at__lt=timezone.now() - COPY_SWEEP_AFTER,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    return invoice_copies_enqueue(document_ids=stale) if stale else 0


def invoice_copy_make(*, document_id: int) -> bool:
    """Build a pending copy's PDF, mark it ready and tell who asked; whether this call did it.

    Idempotent: a copy already ready (or gone) is left alone, and of two
    workers building the same copy only the one whose claim succeeds keeps
    its file and notifies.
    """
    document = (
        InvoiceDocument.objects.filter(
            pk=document_id, kind=InvoiceDocumentKind.DUPLICATE, status=InvoiceDocumentStatus.PENDING
        )
        .select_related("invoice__company", "invoice__corrects", "requested_by")
        .first()
    )
    if document is None:
        return False
    from billing.pdf import invoice_pdf

    invoice = document.invoice
    try:
        content = invoice_pdf(invoice=invoice, duplicate=True)
    except Exception:
        # A document that cannot be made now will not be made by retrying:
        # failed, so that the customer can ask again once it is fixed.
        logger.exception("invoice copy %s could not be made", document_id)
        InvoiceDocument.objects.filter(pk=document_id, status=InvoiceDocumentStatus.PENDING).update(
            status=InvoiceDocumentStatus.FAILED
        )
        return False
    name = document.file.storage.save(
        document.file.field.generate_filename(
            document, invoice_file_name(invoice, extension="pdf", duplicate=True)
        ),
        ContentFile(content),
    )
    with transaction.atomic():
        claimed = InvoiceDocument.objects.filter(pk=document_id, status=InvoiceDocumentStatus.PENDING).update(
            status=InvoiceDocumentStatus.READY, file=name, ready_at=timezone.now()
        )
        if claimed != 1:
            transaction.on_commit(lambda: document.file.storage.delete(name))
            return False
        notify(
            company=invoice.company,
            event="invoice_copy_ready",
            key=f"invoice-copy-{document_id}",
            recipients=_copy_recipients(document),
            context={"invoice": invoice, "is_credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE},
            link=reverse("billing:invoice-copy", kwargs={"pk": document_id}),
        )
    return True


def _copy_recipients(document: InvoiceDocument) -> list[User]:
    """Who asked, if they handle the company's billing; else (staff, from the admin) its billing managers."""
    memberships = list(
        Membership.objects.filter(
            company_id=document.invoice.company_id, role__in=[Role.ADMIN, Role.LEGAL_REP]
        ).select_related("user")
    )
    managers = [m for m in memberships if permissions.can_manage_billing(m)]
    requester = document.requested_by_id
    if requester is not None and any(m.user_id == requester for m in managers):
        return [m.user for m in managers if m.user_id == requester]
    return [m.user for m in managers]


@dataclass(frozen=True)
class InvoiceDocumentsBlock:
    """What the invoice page's Documents block shows."""

    copies: list[InvoiceDocument]

    @property
    def copy_pending(self) -> bool:
        return any(copy.status == InvoiceDocumentStatus.PENDING for copy in self.copies)


def invoice_documents_block(*, invoice: Invoice) -> InvoiceDocumentsBlock:
    return InvoiceDocumentsBlock(copies=invoice_copies(invoice=invoice))
