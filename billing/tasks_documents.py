"""Background work on the invoices' files: copies, and sending electronic invoices to the SdI.

Imported by billing.tasks, so Celery's autodiscovery (which reads
`<app>.tasks`) registers these tasks too.
"""

from __future__ import annotations

from celery import shared_task

from billing import documents, sdi
from selfcare.celery import resumable_task


# The database gone for a moment: the copy is still pending, and making it again is safe.
@resumable_task()
def invoice_copy_make(document_id: int) -> None:
    """Make a requested copy and tell who asked; nothing to do if it is ready, failed or gone."""
    documents.invoice_copy_make(document_id=document_id)


@shared_task(ignore_result=True)
def invoice_copies_sweep() -> None:
    """Queue again the copies whose task was lost (scheduled by beat)."""
    documents.invoice_copies_sweep()


# The outbox folder (or a real channel) unreachable for a moment is retried too.
@resumable_task(retry_also=(OSError,))
def sdi_transmit_pending() -> None:
    """Send the electronic invoices still to send (scheduled by beat); what is sent is never sent again."""
    sdi.sdi_transmit_pending()
